/* A thread named "spinner" computes for 300 ms without parking once. With
 * GREENRUN_BLOCKING_MS=100 the preload's monitor must name it (and, built with -rdynamic, the
 * function it spins in) on stderr; the program's own output is the same as natively. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>

static volatile unsigned long long sink;

__attribute__((noinline)) void spin_in_named_function(int64_t ms) {
  int64_t end = mono_ns() + ms * 1000000;
  while (mono_ns() < end) sink++;
}

static void* spinner(void* arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "spinner");
  spin_in_named_function(300);
  return NULL;
}

int main(void) {
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, spinner, NULL), 0);
  CHECK_EQ(pthread_join(t, NULL), 0);
  printf("spun\n");
  return 0;
}
