// flockfile held across a blocking call: another thread's flockfile and ftrylockfile on the same
// FILE wait (or fail) until funlockfile, and nothing hangs.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int holder_done;

static void* holder(void* arg) {
  (void)arg;
  flockfile(stdout);
  flockfile(stdout);  // recursive, as glibc's
  printf("holder: first line\n");
  usleep(100 * 1000);  // parks while holding the lock
  printf("holder: second line\n");
  funlockfile(stdout);
  holder_done = 1;
  funlockfile(stdout);
  return NULL;
}

static void* contender(void* arg) {
  (void)arg;
  usleep(20 * 1000);
  int busy = ftrylockfile(stdout) != 0;
  flockfile(stdout);
  printf("contender: trylock while held: %s\n", busy ? "busy" : "got it");
  printf("contender: got the lock after the holder finished: %s\n", holder_done ? "yes" : "no");
  funlockfile(stdout);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, holder, NULL);
  pthread_create(&b, NULL, contender, NULL);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("trylock when free: %s\n", ftrylockfile(stdout) == 0 ? "got it" : "busy");
  funlockfile(stdout);
  return 0;
}
