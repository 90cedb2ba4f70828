/* "time parked" of GREENRUN_STATS counts time actually parked: one thread waits on a condition
 * variable with a 600 s deadline while main sleeps 1 s and returns. About 2 s were parked (1 s
 * each); the deadline, which never came, must not count. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void* waiter(void* arg) {
  struct timespec deadline = deadline_in(CLOCK_REALTIME, 600 * 1000);
  pthread_mutex_lock(&lock);
  CHECK_RC(pthread_cond_timedwait(&never, &lock, &deadline), 0); /* never returns */
  pthread_mutex_unlock(&lock);
  return arg;
}

int main(void) {
  pthread_t thread;
  CHECK_RC(pthread_create(&thread, NULL, waiter, NULL), 0);
  sleep(1);
  printf("returning with the waiter still parked\n");
  return 0;
}
