/* The stack dump (SIGQUIT) while a thread spins without ever parking: the spinner is preempted,
 * the loop runs and prints every thread, the spinner shown where it was interrupted. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "progs.h"

static atomic_int flag;

static void* quit_then_release(void* arg) {
  usleep(30000);
  kill(getpid(), SIGQUIT);  /* dumps, as the default action of greenrun's dump signal */
  usleep(100000);
  atomic_store(&flag, 1);
  return arg;
}

__attribute__((noinline)) static void spin_in_named_function(void) {
  while (!atomic_load(&flag)) {
  }
}

int main(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, quit_then_release, NULL), 0);
  spin_in_named_function();
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("released\n");
  return 0;
}
