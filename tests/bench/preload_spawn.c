/* pthread_create + pthread_join of an empty thread with default attributes, for
 * scripts/bench-preload (run natively and under libgreenrun.so; never linked to greenrun):
 *   preload_spawn [spawns] [runs]
 * Under greenrun every such thread is a green thread with its own TLS block and glibc's 8 MiB
 * default stack (from the pool after the first). Prints, like tests/bench/bench.h:
 *   RESULT spawn.join_us <us per create+join, best of runs> us
 *   INFO spawn <spawns, runs, each run's us> */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static __thread int touched;  /* each thread writes its own TLS, as real ones do */

static void* empty(void* arg) {
  touched = 1;
  return arg;
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char** argv) {
  long spawns = argc > 1 ? atol(argv[1]) : 100000;
  int runs = argc > 2 ? atoi(argv[2]) : 3;
  double best = 0;
  char each[256] = "";
  int used = 0;
  for (int r = 0; r < runs; ++r) {
    double start = now_us();
    for (long i = 0; i < spawns; ++i) {
      pthread_t t;
      if (pthread_create(&t, NULL, empty, NULL) != 0 || pthread_join(t, NULL) != 0) {
        fprintf(stderr, "preload_spawn: pthread_create/join failed\n");
        return 1;
      }
    }
    double per = (now_us() - start) / (double)spawns;
    if (r == 0 || per < best) best = per;
    if (used < (int)sizeof each - 16) used += snprintf(each + used, sizeof each - used, " %.3f", per);
  }
  printf("RESULT spawn.join_us %.4f us\n", best);
  printf("INFO spawn %ld spawns x %d runs, us each:%s\n", spawns, runs, each);
  return 0;
}
