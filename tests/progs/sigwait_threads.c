/* sigwait in one thread while another keeps working: SIGUSR1 is blocked in every thread (main
 * blocks it before creating them), sent once with pthread_kill to the waiter and once with
 * kill(getpid()); sigtimedwait with nothing pending times out with EAGAIN. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "progs.h"

static volatile int ticks;
static volatile int stop;
static sigset_t usr1;

static void* worker(void* arg) {
  (void)arg;
  while (!stop) {
    usleep(20000);
    ticks++;
  }
  return NULL;
}

static void* waiter(void* arg) {
  int sig = 0;
  int rc = sigwait(&usr1, &sig);
  printf("waiter %s: sigwait %s, signal %s\n", (const char*)arg, errno_name(rc), sig == SIGUSR1 ? "SIGUSR1" : "other");
  return NULL;
}

int main(void) {
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  pthread_t w, k;
  pthread_create(&k, NULL, worker, NULL);

  pthread_create(&w, NULL, waiter, "one");
  usleep(150000);
  int before = ticks;
  printf("worker ticked while the waiter waited: %s\n", before >= 3 ? "yes" : "no");
  pthread_kill(w, SIGUSR1);
  pthread_join(w, NULL);

  pthread_create(&w, NULL, waiter, "two");
  usleep(100000);
  kill(getpid(), SIGUSR1);
  pthread_join(w, NULL);

  struct timespec timeout = {0, 50000000};
  siginfo_t info;
  int rc = sigtimedwait(&usr1, &info, &timeout);
  printf("sigtimedwait with nothing pending: %d %s\n", rc, errno_name(rc < 0 ? errno : 0));

  stop = 1;
  pthread_join(k, NULL);
  printf("worker kept going: %s\n", ticks > before ? "yes" : "no");
  return 0;
}
