/* system() from 50 threads at once: each waits for its own shell, so the sleeps overlap (on one
 * OS thread under the preload). Also system's return values: NULL, exit codes, a signal, a
 * command the shell cannot find. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "progs.h"

enum { kThreads = 50 };

static int statuses[kThreads];

static void* run(void* arg) {
  int i = (int)(intptr_t)arg;
  statuses[i] = system("sleep 0.5");
  return NULL;
}

static void* long_shell(void* arg) {
  (void)arg;
  system("exec sleep 5");  /* exec: the kill reaches sleep itself, which holds our stdout */
  return NULL;
}

/* system is a cancellation point: the shell is killed, and SIGINT/SIGQUIT are restored. */
static void cancel_system(void) {
  pthread_t t;
  void* result = NULL;
  int64_t start = mono_ns();
  CHECK_RC(pthread_create(&t, NULL, long_shell, NULL), 0);
  usleep(100000);
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &result), 0);
  struct sigaction sa;
  sigaction(SIGINT, NULL, &sa);
  printf("system cancelled: %d, quickly: %d, SIGINT default again: %d\n",
         result == PTHREAD_CANCELED, mono_ns() - start < 2000000000LL, sa.sa_handler == SIG_DFL);
}

int main(void) {
  printf("system(NULL) nonzero: %d\n", system(NULL) != 0);
  int s = system("exit 3");
  printf("exit 3: exited=%d status=%d\n", WIFEXITED(s), WEXITSTATUS(s));
  s = system("kill -TERM $$");
  printf("kill -TERM: signaled=%d sig=%d\n", WIFSIGNALED(s), WTERMSIG(s));
  s = system("no_such_command_greenrun 2>/dev/null");
  printf("not found: exited=%d status=%d\n", WIFEXITED(s), WEXITSTATUS(s));

  int64_t start = mono_ns();
  pthread_t t[kThreads];
  for (int i = 0; i < kThreads; ++i)
    CHECK_RC(pthread_create(&t[i], NULL, run, (void*)(intptr_t)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  property("wall_ms", (mono_ns() - start) / 1000000);
  int ok = 0;
  for (int i = 0; i < kThreads; ++i) ok += statuses[i] == 0;
  printf("%d of %d sleeps returned 0\n", ok, kThreads);
  cancel_system();
  return 0;
}
