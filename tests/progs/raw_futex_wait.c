/* Futex waits made with the syscall instruction itself, as libgomp and the Go runtime make them:
 * greenrun never sees them, so the wait holds the only OS thread. The waker must still run (the
 * waiting thread is preempted when the kernel restarts its wait) and every handshake complete,
 * in both directions, with and without a timeout. x86-64 only (the instruction is inline). */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

enum { kHandshakes = 10 };
static atomic_int word;

static long raw_futex(atomic_int* addr, int op, int val, const struct timespec* timeout) {
  register long r10 __asm__("r10") = (long)timeout;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"((long)SYS_futex), "D"(addr), "S"((long)op), "d"((long)val), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}

/* Waits until the word is `want`, in raw futex waits (some with a 1 s timeout). */
static void wait_for(int want, int timed) {
  struct timespec second = {1, 0};
  int seen;
  while ((seen = atomic_load(&word)) != want)
    raw_futex(&word, FUTEX_WAIT_PRIVATE, seen, timed ? &second : NULL);
}

static void set_and_wake(int value) {
  atomic_store(&word, value);
  raw_futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

static void* partner(void* arg) {
  for (int i = 0; i < kHandshakes; ++i) {
    usleep(2000);
    set_and_wake(2 * i + 1);  /* main's turn */
    wait_for(2 * i + 2, i % 2);
  }
  return arg;
}

int main(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, partner, NULL), 0);
  for (int i = 0; i < kHandshakes; ++i) {
    wait_for(2 * i + 1, i % 2 == 0);
    set_and_wake(2 * i + 2);
  }
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("%d raw futex handshakes each way, word %d\n", kHandshakes, atomic_load(&word));
  return 0;
}
