/* Handlers changed by one thread while another receives signals: a changer thread loops
 * sigaction(SIGUSR1) over two handlers (one with SA_RESTART) and SIG_IGN, a killer thread loops
 * pthread_kill(target, SIGUSR1), and the target spends the time in blocking reads of a pipe a
 * feeder writes slowly and in sleeps, retrying after EINTR. Nothing may abort or fail; every
 * handler must run on the target; the target must read every byte in order and finish every
 * sleep. The counts of each outcome vary from run to run, so they go to PROPERTY lines. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "progs.h"

enum { kRounds = 300 };

static pthread_t target_thread;
static int fds[2];
static volatile int stressing = 1;
static long runs_a, runs_b, runs_elsewhere;
static long interrupted_reads, interrupted_sleeps;

static void count(long* counter) {
  __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
  if (!pthread_equal(pthread_self(), target_thread))
    __atomic_add_fetch(&runs_elsewhere, 1, __ATOMIC_RELAXED);
}

static void handler_a(int sig) { (void)sig; count(&runs_a); }
static void handler_b(int sig) { (void)sig; count(&runs_b); }

static void install(void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
}

/* Each round: one byte through a blocking read (the feeder writes every 2 ms), then 1 ms of
 * sleep, each retried across EINTR. Returns the number of bytes out of order (0 expected). */
static void* target(void* arg) {
  (void)arg;
  long wrong = 0;
  for (int round = 0; round < kRounds; ++round) {
    unsigned char c;
    ssize_t n;
    while ((n = read(fds[0], &c, 1)) < 0 && errno == EINTR)
      __atomic_add_fetch(&interrupted_reads, 1, __ATOMIC_RELAXED);
    CHECK_EQ(n, 1);
    wrong += c != (unsigned char)round;
    struct timespec left = {0, 1000000};
    while (nanosleep(&left, &left) != 0) {
      CHECK_EQ(errno, EINTR);
      __atomic_add_fetch(&interrupted_sleeps, 1, __ATOMIC_RELAXED);
    }
  }
  return (void*)wrong;
}

static void* feeder(void* arg) {
  (void)arg;
  for (int round = 0; round < kRounds; ++round) {
    usleep(2000);
    unsigned char c = (unsigned char)round;
    CHECK_EQ(write(fds[1], &c, 1), 1);
  }
  return NULL;
}

static void* changer(void* arg) {
  long* changes = arg;
  while (stressing) {
    switch ((*changes)++ % 3) {
      case 0: install(handler_a, 0); break;
      case 1: install(handler_b, SA_RESTART); break;
      default: install(SIG_IGN, 0); break;
    }
    if (*changes % 16 == 0) usleep(50);
  }
  return NULL;
}

static void* killer(void* arg) {
  long* kills = arg;
  while (stressing) {
    CHECK_RC(pthread_kill(target_thread, SIGUSR1), 0);
    ++*kills;
    usleep(100);
  }
  return NULL;
}

int main(void) {
  CHECK_EQ(pipe(fds), 0);
  install(handler_a, 0);
  long changes = 0, kills = 0;
  CHECK_RC(pthread_create(&target_thread, NULL, target, NULL), 0);
  pthread_t feed, change, kill_loop;
  CHECK_RC(pthread_create(&feed, NULL, feeder, NULL), 0);
  CHECK_RC(pthread_create(&change, NULL, changer, &changes), 0);
  CHECK_RC(pthread_create(&kill_loop, NULL, killer, &kills), 0);
  void* wrong;
  CHECK_RC(pthread_join(target_thread, &wrong), 0);
  stressing = 0;
  CHECK_RC(pthread_join(feed, NULL), 0);
  CHECK_RC(pthread_join(change, NULL), 0);
  CHECK_RC(pthread_join(kill_loop, NULL), 0);
  printf("target: %d bytes read through EINTR retries, %ld out of order; %d sleeps finished\n",
         kRounds, (long)wrong, kRounds);
  printf("every sigaction and pthread_kill returned 0; the killer sent signals: %s\n",
         kills > 0 ? "yes" : "no");
  printf("handlers that ran on a thread other than the target: %ld\n", runs_elsewhere);
  printf("a handler ran at least once: %s\n", runs_a + runs_b > 0 ? "yes" : "no");

  /* Quiet again: one signal, one handler run, on a live thread. */
  install(handler_b, 0);
  long before = runs_b;
  target_thread = pthread_self();
  CHECK_RC(pthread_kill(target_thread, SIGUSR1), 0);
  printf("after the stress: one pthread_kill ran handler B %ld time(s)\n", runs_b - before);

  property("sigaction_changes", changes);
  property("kills", kills);
  property("handler_runs", runs_a + runs_b);
  property("interrupted_reads", interrupted_reads);
  property("interrupted_sleeps", interrupted_sleeps);
  return wrong != NULL || runs_elsewhere != 0;
}
