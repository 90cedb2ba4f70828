/* Per-thread signal masks: a process-directed signal goes to the one thread that does not block
 * it (its sleep ends with EINTR, the others sleep on), and sigsuspend unblocks a signal just for
 * its wait and returns -1 EINTR after the handler, with the old mask back. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "progs.h"

static volatile sig_atomic_t handled;
static void on_signal(int sig) { (void)sig; handled++; }

static void set_handler(int sig) {
  struct sigaction a;
  memset(&a, 0, sizeof a);
  a.sa_handler = on_signal;
  sigemptyset(&a.sa_mask);
  sigaction(sig, &a, NULL);
}

static sigset_t only(int sig) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig);
  return s;
}

static void* accepting(void* arg) {
  (void)arg;
  sigset_t s = only(SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  struct timespec req = {1, 0}, rem;
  int rc = nanosleep(&req, &rem);
  printf("accepting thread: nanosleep %d %s\n", rc, errno_name(rc ? errno : 0));
  return NULL;
}

static void* blocking(void* arg) {
  (void)arg;
  struct timespec req = {0, 600000000}, rem;
  int rc = nanosleep(&req, &rem);
  printf("blocking thread: nanosleep %d %s\n", rc, errno_name(rc ? errno : 0));
  return NULL;
}

static void* late_kill(void* arg) {
  usleep(100000);
  kill(getpid(), (int)(intptr_t)arg);
  return NULL;
}

int main(void) {
  set_handler(SIGUSR1);
  set_handler(SIGUSR2);
  sigset_t s = only(SIGUSR1);
  sigaddset(&s, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s, NULL);

  pthread_t a, b;
  pthread_create(&a, NULL, accepting, NULL);
  pthread_create(&b, NULL, blocking, NULL);
  usleep(200000);
  kill(getpid(), SIGUSR1);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("handlers after SIGUSR1: %d\n", (int)handled);

  pthread_t k;
  pthread_create(&k, NULL, late_kill, (void*)(intptr_t)SIGUSR2);
  sigset_t none;
  sigemptyset(&none);
  int rc = sigsuspend(&none);
  printf("sigsuspend: %d %s, handlers %d\n", rc, errno_name(rc ? errno : 0), (int)handled);
  pthread_join(k, NULL);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  printf("SIGUSR2 blocked again: %s\n", sigismember(&now, SIGUSR2) ? "yes" : "no");
  return 0;
}
