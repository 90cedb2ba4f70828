/* A program that takes greenrun's preemption signal (SIGURG) for itself: mode "handler" installs
 * its own handler for it (and must get its signals), mode "blocked" blocks it in every thread.
 * Either way it runs as it would without preemption, and greenrun says once, on stderr, that no
 * thread is preempted (for "blocked", once preemptions fall due: the workers compute). */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "progs.h"

static volatile sig_atomic_t urgent;

static void on_urgent(int sig) {
  (void)sig;
  urgent = 1;
}

/* Sleeps, then computes for 400 ms without parking: preemptions fall due, which the handler or
 * the mask keeps from happening (greenrun says so once they have been held back for 1 s). */
static void* worker(void* arg) {
  usleep(20000);
  int64_t end = mono_ns() + 400 * 1000000LL;
  while (mono_ns() < end) {
  }
  return arg;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "handler";
  if (strcmp(mode, "handler") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_urgent;
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGURG, &sa, NULL), 0);
  } else {
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    CHECK_RC(pthread_sigmask(SIG_BLOCK, &urg, NULL), 0);  /* threads inherit it */
  }
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) CHECK_RC(pthread_create(&t[i], NULL, worker, NULL), 0);
  for (int i = 0; i < 4; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  if (strcmp(mode, "handler") == 0) {
    raise(SIGURG);
    printf("handler: own SIGURG handler ran: %s\n", urgent ? "yes" : "no");
  } else {
    printf("blocked: 4 threads joined with SIGURG blocked\n");
  }
  return 0;
}
