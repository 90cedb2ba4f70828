/* glibc's __libc_single_threaded is 1 until the first pthread_create and 0 from then on.
 * Libraries read it to skip synchronisation: libstdc++'s std::stop_token, for one, skips the
 * wake-up a std::jthread's stop callback owes its waiter when it reads 1, and the waiter
 * then waits forever. So a green pthread_create must clear it too. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <sys/single_threaded.h>

static void* nothing(void* arg) {
  note_os_threads();
  return arg;
}

int main(void) {
  printf("before pthread_create: __libc_single_threaded = %d\n", __libc_single_threaded);
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, nothing, NULL), 0);
  printf("after pthread_create:  __libc_single_threaded = %d\n", __libc_single_threaded);
  CHECK_RC(pthread_join(t, NULL), 0);
  /* glibc never sets it back, even once the other thread is gone. */
  printf("after pthread_join:    __libc_single_threaded = %d\n", __libc_single_threaded);
  report_os_threads();
  return 0;
}
