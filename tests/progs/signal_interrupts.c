/* Handlers interrupt blocking calls as natively: SIGALRM (setitimer) interrupts a read on a pipe
 * with EINTR without SA_RESTART and lets it complete with SA_RESTART; pause() returns -1 EINTR
 * after kill(getpid()); pthread_kill of a sleeping thread runs the handler on that thread and
 * its nanosleep returns -1 EINTR with time left; alarm() interrupts sleep(). */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "progs.h"

static volatile sig_atomic_t handled;
static volatile pthread_t handled_on;
static void on_signal(int sig) {
  (void)sig;
  handled++;
  handled_on = pthread_self();
}

static void set_handler(int sig, int flags) {
  struct sigaction a;
  memset(&a, 0, sizeof a);
  a.sa_handler = on_signal;
  a.sa_flags = flags;
  sigemptyset(&a.sa_mask);
  sigaction(sig, &a, NULL);
}

static void arm_ms(int ms) {
  struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static int pipefd[2];
static void* nap(void* arg) { usleep((useconds_t)(intptr_t)arg * 1000); return NULL; }
static void* late_writer(void* arg) {
  (void)arg;
  usleep(400000);
  if (write(pipefd[1], "x", 1) != 1) perror("write");
  return NULL;
}
static void* late_kill(void* arg) {
  (void)arg;
  usleep(100000);
  kill(getpid(), SIGUSR1);
  return NULL;
}
static void* sleeper(void* arg) {
  (void)arg;
  struct timespec req = {2, 0}, rem = {0, 0};
  int rc = nanosleep(&req, &rem);
  int e = errno;
  printf("sleeper: nanosleep %d %s, time left %s, handler ran here %s\n", rc, errno_name(rc ? e : 0),
         rem.tv_sec > 0 || rem.tv_nsec > 0 ? "yes" : "no",
         pthread_equal(handled_on, pthread_self()) ? "yes" : "no");
  return NULL;
}

int main(void) {
  pthread_t t;
  char c;
  if (pipe(pipefd) != 0) return 1;

  /* 1. No SA_RESTART: the read fails with EINTR (a napping thread keeps another thread alive). */
  set_handler(SIGALRM, 0);
  pthread_create(&t, NULL, nap, (void*)(intptr_t)600);
  handled = 0;
  arm_ms(200);
  ssize_t r = read(pipefd[0], &c, 1);
  printf("read without SA_RESTART: %zd %s, handlers %d\n", r, errno_name(r < 0 ? errno : 0), (int)handled);
  pthread_join(t, NULL);

  /* 2. SA_RESTART: the read goes on and gets the byte written after the alarm. */
  set_handler(SIGALRM, SA_RESTART);
  pthread_create(&t, NULL, late_writer, NULL);
  handled = 0;
  arm_ms(200);
  r = read(pipefd[0], &c, 1);
  printf("read with SA_RESTART: %zd %s, handlers %d\n", r, errno_name(r < 0 ? errno : 0), (int)handled);
  pthread_join(t, NULL);

  /* 3. pause() returns -1 EINTR once a handler has run. */
  set_handler(SIGUSR1, 0);
  pthread_create(&t, NULL, late_kill, NULL);
  handled = 0;
  int p = pause();
  printf("pause: %d %s, handlers %d\n", p, errno_name(p < 0 ? errno : 0), (int)handled);
  pthread_join(t, NULL);

  /* 4. pthread_kill of a sleeping thread: its handler runs there, its sleep ends early. */
  set_handler(SIGUSR2, 0);
  handled = 0;
  pthread_create(&t, NULL, sleeper, NULL);
  usleep(100000);
  pthread_kill(t, SIGUSR2);
  pthread_join(t, NULL);
  printf("after pthread_kill: handlers %d\n", (int)handled);

  /* 5. alarm() interrupts sleep(), which returns the seconds left. */
  set_handler(SIGALRM, 0);
  pthread_create(&t, NULL, nap, (void*)(intptr_t)100);
  handled = 0;
  alarm(1);
  unsigned left = sleep(5);
  printf("sleep interrupted by alarm: left %s, handlers %d\n", left >= 3 && left <= 4 ? "3-4 s" : "wrong",
         (int)handled);
  pthread_join(t, NULL);
  return 0;
}
