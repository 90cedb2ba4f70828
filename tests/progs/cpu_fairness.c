/* Two threads that only compute, for 2 s together: each must get a fair share of the CPU, as on
 * one native CPU (taskset -c 0), because greenrun preempts whichever has run a whole slice. The
 * shares are reported as properties (percent of the work both did). */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "progs.h"

static atomic_int stop;
static atomic_long work[2];

static void* compute(void* arg) {
  long id = (long)arg;
  while (!atomic_load_explicit(&stop, memory_order_relaxed))
    atomic_fetch_add_explicit(&work[id], 1, memory_order_relaxed);
  return NULL;
}

int main(void) {
  pthread_t t[2];
  for (long i = 0; i < 2; ++i) CHECK_RC(pthread_create(&t[i], NULL, compute, (void*)i), 0);
  struct timespec two = {2, 0};
  nanosleep(&two, NULL);  /* main parks; the computing threads share what is left */
  atomic_store(&stop, 1);
  for (int i = 0; i < 2; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  long a = atomic_load(&work[0]), b = atomic_load(&work[1]);
  printf("both threads computed and stopped\n");
  property("share_a_pct", a + b ? (int)(100 * a / (a + b)) : 0);
  property("share_b_pct", a + b ? (int)(100 * b / (a + b)) : 0);
  return 0;
}
