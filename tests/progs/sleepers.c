/* 10,000 threads each sleep(1): every one finishes, and the sleeps overlap. Under the preload
 * they are green threads on the one OS thread (PROPERTY os_threads), and the whole run takes
 * little more than one second (PROPERTY wall_ms; the runner checks it under the preload only). */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static long* results;
static long count;

static void* sleeper(void* arg) {
  long i = (long)arg;
  /* The middle thread looks while half the others sleep and half are being created. */
  if (i == count / 2) note_os_threads();
  CHECK_EQ(sleep(1), 0);
  results[i] = i * 2 + 1;
  return (void*)(i + 1);
}

int main(int argc, char** argv) {
  count = argc > 1 ? atol(argv[1]) : 10000;
  results = calloc((size_t)count, sizeof *results);
  pthread_t* threads = calloc((size_t)count, sizeof *threads);
  int64_t t0 = mono_ns();
  for (long i = 0; i < count; ++i) CHECK_RC(pthread_create(&threads[i], NULL, sleeper, (void*)i), 0);
  note_os_threads();
  long joined = 0, sum = 0;
  for (long i = 0; i < count; ++i) {
    void* r;
    CHECK_RC(pthread_join(threads[i], &r), 0);
    CHECK_EQ((long)r, i + 1);
    ++joined;
    sum += results[i];
  }
  int64_t wall_ms = (mono_ns() - t0) / 1000000;
  printf("threads %ld joined %ld\n", count, joined);
  printf("sum %ld (expected %ld)\n", sum, count * count);
  property("wall_ms", wall_ms);
  report_os_threads();
  return 0;
}
