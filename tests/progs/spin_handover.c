/* Two threads that hand a token to each other 300 times by spinning on shared memory, never
 * waiting in a call greenrun sees (as redis's main and I/O threads do). Each hand-over needs the
 * spinner to be preempted so that the other thread runs: with whole 10 ms slices that is 3 s;
 * a thread seen spinning gets a short slice, so it takes a small fraction of that
 * (PROPERTY wall_ms, checked under the preload). */
#include <pthread.h>
#include <stdatomic.h>

#include "progs.h"

enum { kHandovers = 300 };
static atomic_int turn;  /* whose turn: 0 or 1 */

static void* player(void* arg) {
  const int me = (int)(long)arg;
  for (int i = 0; i < kHandovers / 2; ++i) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != me) {
    }
    atomic_store_explicit(&turn, 1 - me, memory_order_release);
  }
  return NULL;
}

int main(void) {
  const int64_t t0 = mono_ns();
  pthread_t t[2];
  for (long i = 0; i < 2; ++i) CHECK_RC(pthread_create(&t[i], NULL, player, (void*)i), 0);
  for (int i = 0; i < 2; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  printf("%d hand-overs, token back with player %d\n", kHandovers, atomic_load(&turn));
  property("wall_ms", (mono_ns() - t0) / 1000000);
  return 0;
}
