/* Two threads lock two mutexes in opposite orders, with a sleep in between: a deadlock. The
 * program hangs natively; under the preload the hang is reported on stderr ("greenrun:
 * deadlock", then a line per thread naming what it waits on). The runner kills it either way. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;

static void* forwards(void* arg) {
  (void)arg;
  pthread_mutex_lock(&first);
  usleep(100000);
  pthread_mutex_lock(&second);
  printf("not reached: forwards got both\n");
  return NULL;
}

static void* backwards(void* arg) {
  (void)arg;
  pthread_mutex_lock(&second);
  usleep(100000);
  pthread_mutex_lock(&first);
  printf("not reached: backwards got both\n");
  return NULL;
}

int main(void) {
  pthread_t a, b;
  CHECK_RC(pthread_create(&a, NULL, forwards, NULL), 0);
  CHECK_RC(pthread_create(&b, NULL, backwards, NULL), 0);
  pthread_setname_np(a, "forwards");
  pthread_setname_np(b, "backwards");
  printf("started\n");
  fflush(stdout);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("not reached: joined both\n");
  return 0;
}
