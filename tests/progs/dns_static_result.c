/* gethostbyname returns one process-wide buffer, so two threads that call it at once race:
 * natively this program is wrong (hence --preload-only). Under the preload a green thread that
 * reads its result before it next parks must find its own: 16 threads look up 16 different
 * numeric names at once and check the name they get back. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <netdb.h>
#include <pthread.h>

enum { kThreads = 16, kRounds = 20 };

static pthread_barrier_t start;
static int mismatches;

static void* resolver(void* arg) {
  long i = (long)arg;
  char name[32];
  snprintf(name, sizeof name, "10.0.%ld.1", i);
  pthread_barrier_wait(&start);
  for (int round = 0; round < kRounds; ++round) {
    struct hostent* h = gethostbyname(name);
    if (!h || strcmp(h->h_name, name) != 0) {
      fprintf(stderr, "thread %ld asked for %s, got %s\n", i, name, h ? h->h_name : "NULL");
      __atomic_add_fetch(&mismatches, 1, __ATOMIC_RELAXED);
    }
  }
  return NULL;
}

int main(void) {
  pthread_t threads[kThreads];
  CHECK_RC(pthread_barrier_init(&start, NULL, kThreads), 0);
  for (long i = 0; i < kThreads; ++i)
    CHECK_RC(pthread_create(&threads[i], NULL, resolver, (void*)i), 0);
  for (long i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(threads[i], NULL), 0);
  printf("%d threads x %d lookups, %d got another thread's result\n", kThreads, kRounds,
         mismatches);
  return mismatches ? 1 : 0;
}
