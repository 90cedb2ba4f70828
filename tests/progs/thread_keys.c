/* Thread-specific data: every thread sees only its own value, destructors run at thread exit
 * for non-NULL values only (also after pthread_exit), a destructor that sets a new value is
 * called again, and pthread_key_delete stops destructors from running. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

enum { kThreads = 10 };

static pthread_key_t counted, plain, again, deleted;
static int counted_runs, again_runs, deleted_runs;

static void count_destructor(void* value) {
  __atomic_fetch_add(&counted_runs, 1, __ATOMIC_RELAXED);
  free(value);
}
static void again_destructor(void* value) {
  int n = __atomic_add_fetch(&again_runs, 1, __ATOMIC_RELAXED);
  /* Sets a value again twice: glibc calls the destructor again for it (up to
   * PTHREAD_DESTRUCTOR_ITERATIONS rounds). */
  if (n < 3) pthread_setspecific(again, (char*)value + 1);
}
static void deleted_destructor(void* value) {
  (void)value;
  __atomic_fetch_add(&deleted_runs, 1, __ATOMIC_RELAXED);
}

static int wrong;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void* worker(void* arg) {
  long i = (long)arg;
  if (i == 0) note_os_threads();
  if (pthread_getspecific(counted) != NULL) __atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
  long* mine = malloc(sizeof *mine);
  *mine = i;
  /* Even-numbered threads leave `counted` NULL at exit: no destructor for them. */
  CHECK_RC(pthread_setspecific(counted, mine), 0);
  CHECK_RC(pthread_setspecific(plain, (void*)(i + 100)), 0);
  usleep(10000);  /* everyone else sets theirs meanwhile */
  long* back = pthread_getspecific(counted);
  if (back != mine || *back != i) __atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
  if (pthread_getspecific(plain) != (void*)(i + 100)) __atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
  if (i % 2 == 0) {
    free(mine);
    pthread_setspecific(counted, NULL);
  }
  if (i == 3) pthread_exit(NULL);  /* destructors run after pthread_exit too */
  return NULL;
}

static void* sets_again(void* arg) {
  (void)arg;
  pthread_setspecific(again, (void*)0x1000);
  return NULL;
}

static void* sets_deleted(void* arg) {
  (void)arg;
  pthread_setspecific(deleted, (void*)1);
  pthread_mutex_lock(&gate);  /* main deletes the key while we wait here */
  pthread_mutex_unlock(&gate);
  return NULL;
}

int main(void) {
  CHECK_RC(pthread_key_create(&counted, count_destructor), 0);
  CHECK_RC(pthread_key_create(&plain, NULL), 0);
  CHECK_RC(pthread_key_create(&again, again_destructor), 0);
  CHECK_RC(pthread_key_create(&deleted, deleted_destructor), 0);

  /* Main's own value is separate from every thread's. */
  CHECK_RC(pthread_setspecific(plain, (void*)7), 0);
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; ++i) CHECK_RC(pthread_create(&t[i], NULL, worker, (void*)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  printf("values seen by the wrong thread: %d\n", wrong);
  printf("main's value kept: %s\n", pthread_getspecific(plain) == (void*)7 ? "yes" : "no");
  printf("destructor runs (5 threads left a value): %d\n", counted_runs);

  CHECK_RC(pthread_create(&t[0], NULL, sets_again, NULL), 0);
  CHECK_RC(pthread_join(t[0], NULL), 0);
  printf("destructor that sets the value again: %d runs\n", again_runs);

  pthread_mutex_lock(&gate);
  CHECK_RC(pthread_create(&t[0], NULL, sets_deleted, NULL), 0);
  usleep(20000);
  printf("key_delete: %s\n", errno_name(pthread_key_delete(deleted)));
  pthread_mutex_unlock(&gate);
  CHECK_RC(pthread_join(t[0], NULL), 0);
  printf("destructor runs after key_delete: %d\n", deleted_runs);

  /* A re-created key starts out NULL in every thread. */
  pthread_key_t fresh;
  CHECK_RC(pthread_key_create(&fresh, NULL), 0);
  printf("new key reads NULL in main: %s\n", pthread_getspecific(fresh) == NULL ? "yes" : "no");
  printf("deleted key's number reused: %s\n", fresh == deleted ? "yes" : "no");

  report_os_threads();
  return 0;
}
