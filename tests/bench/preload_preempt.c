/* Preemption latency, for scripts/bench-preload (run natively and under libgreenrun.so; never
 * linked to greenrun):
 *   preload_preempt timer|ready [trials] [slice_ms]
 * Each trial starts two threads: A notes when it began (t0) and spins on a flag in memory
 * until B sets it; B notes when it ran and sets the flag.
 *   timer  B sleeps 200 us first (it is asleep before A begins): under greenrun its wake-up
 *          comes from the hub's timers, so it can run only after A is preempted and the hub
 *          has looked at its timers.
 *   ready  B is created after A and is ready to run from the start (its first instruction is
 *          the note): the preemption alone.
 * On one OS thread B cannot run before A is preempted, which greenrun does once A has run a
 * whole slice: the earliest B can run is t0 + slice (or B's wake-up time, if later), and B's
 * lateness is how long after that it ran. Natively (slice 0) B runs on another CPU and is late
 * only by the sleep's overshoot (timer) or the thread's start (ready: from its creation).
 *   blocked  A does not spin: it blocks in a read of a pipe made with the syscall instruction
 *          (a system call greenrun cannot see, as the Go runtime's), and B, ready from the
 *          start, writes the byte: under greenrun B runs only once the loop has been handed to
 *          another OS thread (GREENRUN_HANDOFF_MS), whose latency this is; slice_ms is then the
 *          hand-off threshold (default GREENRUN_HANDOFF_MS, 2 when unset).
 * slice_ms defaults to GREENRUN_TIMESLICE (10 when unset) when libgreenrun is in LD_PRELOAD,
 * else 0. Before each trial main sleeps a pseudo-random 0 .. 1 slice (0 .. 1 ms natively), so
 * that trials do not start in step with greenrun's monitor, which looks every half slice: one
 * that began right after a look would be preempted half a slice later than one that began
 * right before it. A spins for at most 2 s or 20 slices: a trial that reaches that was not
 * preempted (counted as missed, left out of the figures). Prints, like bench.h:
 *   RESULT preempt.<mode>.<median|p90|p99|max|min>_us <B's lateness> us
 *   RESULT preempt.<mode>.missed <trials A spun out> trials
 *   INFO preempt.<mode> <trials, slice, lateness as a multiple of the slice> */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLEEP_US 200

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int timer_mode, blocked_mode;
static int pipe_fds[2];
static double cap_us;  /* A's longest spin */

/* One trial's notes: written by A, B and main, read by main after joining both. */
static atomic_int woke;
static double t0, b_earliest, b_ran;
static int spun_out;

static void* waker(void* arg) {
  (void)arg;
  if (timer_mode) {
    struct timespec ts = {0, SLEEP_US * 1000};
    b_earliest = now_us() + SLEEP_US;
    nanosleep(&ts, NULL);
  }
  b_ran = now_us();
  atomic_store_explicit(&woke, 1, memory_order_release);
  if (blocked_mode && write(pipe_fds[1], "b", 1) != 1) exit(1);
  return NULL;
}

/* A read made with the syscall instruction itself: no libc, no shim. */
static long raw_read(int fd, void* buf, long n) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(n)
                   : "rcx", "r11", "memory");
  return ret;
}

static void* blocker(void* arg) {
  (void)arg;
  char c;
  t0 = now_us();
  if (raw_read(pipe_fds[0], &c, 1) != 1) exit(1);
  return NULL;
}

/* The spin is the program's own code and touches only memory, as a spin-wait on an atomic
 * does; the clock (a libc call, where preemption must not stop) is read once per 2^20 looks. */
static void* spinner(void* arg) {
  (void)arg;
  t0 = now_us();
  for (unsigned long i = 1; !atomic_load_explicit(&woke, memory_order_acquire); ++i) {
    if ((i & 0xfffff) == 0 && now_us() - t0 > cap_us) {
      spun_out = 1;
      break;
    }
  }
  return NULL;
}

static void start(pthread_t* t, void* (*body)(void*)) {
  if (pthread_create(t, NULL, body, NULL) != 0) {
    fprintf(stderr, "preload_preempt: pthread_create failed\n");
    exit(1);
  }
}

/* B's lateness in one trial, us (meaningless when spun_out is set). Under greenrun new
 * threads run in creation order once main parks in the join. */
static double trial(double slice_us) {
  static unsigned long seed = 12345;
  seed = seed * 6364136223846793005ul + 1442695040888963407ul;
  double spread = slice_us > 0 ? slice_us : 1000;
  long pause_ns = (long)((double)(seed >> 33) / (double)(1ul << 31) * spread * 1000);
  struct timespec pause = {pause_ns / 1000000000, pause_ns % 1000000000};
  nanosleep(&pause, NULL);
  pthread_t a, b;
  atomic_store(&woke, 0);
  spun_out = 0;
  if (timer_mode) {  /* B first, so that it is asleep before A begins to spin */
    start(&b, waker);
    start(&a, spinner);
  } else {  /* A first; B is ready, waiting for its first turn */
    start(&a, blocked_mode ? blocker : spinner);
    b_earliest = now_us();
    start(&b, waker);
  }
  pthread_join(b, NULL);
  pthread_join(a, NULL);
  double earliest = b_earliest;
  if (slice_us > 0 && t0 + slice_us > earliest) earliest = t0 + slice_us;
  return b_ran - earliest;
}

static int by_value(const void* x, const void* y) {
  double a = *(const double*)x, b = *(const double*)y;
  return (a > b) - (a < b);
}

/* The nearest-rank percentile of sorted v[0..n). */
static double percentile(const double* v, int n, double p) {
  int rank = (int)(p / 100.0 * n + 0.999999);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return v[rank - 1];
}

static double default_slice_ms(void) {
  const char* preload = getenv("LD_PRELOAD");
  if (!preload || !strstr(preload, "libgreenrun")) return 0;
  const char* v = getenv(blocked_mode ? "GREENRUN_HANDOFF_MS" : "GREENRUN_TIMESLICE");
  return v && *v ? atof(v) : blocked_mode ? 2 : 10;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  int trials = argc > 2 ? atoi(argv[2]) : 100;
  timer_mode = strcmp(mode, "timer") == 0;
  blocked_mode = strcmp(mode, "blocked") == 0;
  double slice_ms = argc > 3 ? atof(argv[3]) : default_slice_ms();
  if ((!timer_mode && !blocked_mode && strcmp(mode, "ready") != 0) || trials < 1 ||
      slice_ms < 0) {
    fprintf(stderr, "usage: preload_preempt timer|ready|blocked [trials] [slice_ms]\n");
    return 2;
  }
  if (blocked_mode && pipe(pipe_fds) != 0) return 1;
  double slice_us = slice_ms * 1000;
  cap_us = 20 * slice_us > 2e6 ? 20 * slice_us : 2e6;
  double* late = malloc(sizeof(double) * (size_t)trials);
  int n = 0, missed = 0;
  trial(slice_us);  /* warm-up: first stacks, first timers */
  for (int i = 0; i < trials; ++i) {
    double l = trial(slice_us);
    if (spun_out) ++missed;
    else late[n++] = l;
  }
  printf("RESULT preempt.%s.missed %d trials\n", mode, missed);
  if (n == 0) {
    printf("INFO preempt.%s %d trials, slice %g ms: A was never preempted\n", mode, trials,
           slice_ms);
    return 0;
  }
  qsort(late, (size_t)n, sizeof(double), by_value);
  double median = percentile(late, n, 50), max = late[n - 1];
  printf("RESULT preempt.%s.median_us %.1f us\n", mode, median);
  printf("RESULT preempt.%s.p90_us %.1f us\n", mode, percentile(late, n, 90));
  printf("RESULT preempt.%s.p99_us %.1f us\n", mode, percentile(late, n, 99));
  printf("RESULT preempt.%s.max_us %.1f us\n", mode, max);
  printf("RESULT preempt.%s.min_us %.1f us\n", mode, late[0]);
  if (slice_us > 0) {
    int over_half = 0;  /* later than the half slice the monitor's period accounts for */
    for (int i = 0; i < n; ++i) over_half += late[i] > slice_us / 2;
    printf("INFO preempt.%s %d trials (%d measured), slice %g ms; B ran at t0 + slice x %.2f "
           "(median) .. %.2f (max); %d more than half a slice after expiry\n", mode, trials, n,
           slice_ms, 1 + median / slice_us, 1 + max / slice_us, over_half);
  } else {
    printf("INFO preempt.%s %d trials (%d measured), no slice: lateness is B's %s\n", mode,
           trials, n, timer_mode ? "wake-up after its 200 us sleep" : "start after its creation");
  }
  free(late);
  return 0;
}
