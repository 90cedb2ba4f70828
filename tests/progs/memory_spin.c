/* Threads that wait for each other by spinning on memory, with no call greenrun could see: a
 * flag (redis's I/O threads), a counter handed back and forth (a lock-free ping-pong), and a
 * single-producer queue drained by a busy consumer. Natively the threads run on other CPUs;
 * under greenrun the spinner is preempted after its time slice, so each finishes with the same
 * output, also in a process that is not dumpable. */
#include <pthread.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <unistd.h>

#include "progs.h"

static atomic_int flag;
static atomic_long turn;
enum { kRounds = 20, kItems = 1000 };
static atomic_int queue[kItems];
static atomic_int produced;

static void* set_flag_later(void* arg) {
  usleep(50000);
  atomic_store(&flag, 1);
  return arg;
}

/* Odd turns are this thread's: it spins until the turn is odd, then makes it even. */
static void* ping(void* arg) {
  for (int i = 0; i < kRounds; ++i) {
    while (atomic_load(&turn) % 2 == 0) {
    }
    atomic_fetch_add(&turn, 1);
  }
  return arg;
}

static void* produce(void* arg) {
  for (int i = 0; i < kItems; ++i) {
    atomic_store(&queue[i], i + 1);
    atomic_store(&produced, i + 1);
    if (i % 100 == 99) usleep(1000);  /* bursts, with pauses the consumer spins through */
  }
  return arg;
}

int main(int argc, char** argv) {
  /* "undumpable": as a daemon that drops dumpability, which hides /proc/self/task/N/syscall. */
  if (argc > 1 && strcmp(argv[1], "undumpable") == 0) prctl(PR_SET_DUMPABLE, 0);
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, set_flag_later, NULL), 0);
  long spins = 0;
  while (!atomic_load(&flag)) ++spins;
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("flag: seen set after spinning\n");

  CHECK_RC(pthread_create(&t, NULL, ping, NULL), 0);
  for (int i = 0; i < kRounds; ++i) {
    while (atomic_load(&turn) % 2 == 1) {
    }
    atomic_fetch_add(&turn, 1);
  }
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("ping-pong: %ld turns\n", (long)atomic_load(&turn));

  CHECK_RC(pthread_create(&t, NULL, produce, NULL), 0);
  long sum = 0;
  for (int i = 0; i < kItems; ++i) {
    while (atomic_load(&produced) <= i) {
    }
    sum += atomic_load(&queue[i]);
  }
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("queue: %d items, sum %ld\n", kItems, sum);
  property("flag_spins_nonzero", spins > 0);
  return 0;
}
