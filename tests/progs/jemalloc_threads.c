// A program linked with jemalloc whose first allocation happens on a new thread: jemalloc's boot
// creates pthread keys from inside that malloc, and the key shims must not be holding anything
// then. Then 50 threads allocate and free across sleeps (each with its own jemalloc thread
// cache, set up through pthread_setspecific and torn down by its key destructor).
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void* first(void* arg) {
  (void)arg;
  return malloc(16);  // jemalloc's first call in this process
}

static void* churn(void* arg) {
  long me = (long)arg;
  char* blocks[64];
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 64; ++i) {
      blocks[i] = malloc(16 + (size_t)i * 40);
      memset(blocks[i], (int)me, 16);
    }
    usleep(1000);
    for (int i = 0; i < 64; ++i) {
      if (blocks[i][0] != (char)me) return (void*)1;
      free(blocks[i]);
    }
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  void* r;
  pthread_create(&t, NULL, first, NULL);
  pthread_join(t, &r);
  printf("first allocation on a new thread: %s\n", r ? "ok" : "failed");
  free(r);
  pthread_t ts[50];
  for (long i = 0; i < 50; ++i) pthread_create(&ts[i], NULL, churn, (void*)(i + 1));
  int bad = 0;
  for (int i = 0; i < 50; ++i) {
    pthread_join(ts[i], &r);
    bad += r != NULL;
  }
  printf("threads that found another's bytes in their blocks: %d\n", bad);
  return bad != 0;
}
