/* A thread made by clone() alone, as a runtime without libc makes one (its own stack, the
 * creator's thread-local storage, no pthread_create): it names itself, computes, and sleeps
 * with system calls of its own for about 300 ms beside a pthread, then ends. The output is the
 * same natively and under greenrun, which names that thread once on stderr. The threads glibc
 * starts are there too and must never be named: a pthread made by a native thread (glibc's
 * timer thread runs the notification, which calls pthread_create), glibc's timer helper (made
 * by glibc's own pthread_create), and, where allowed, io_uring's SQPOLL kernel thread. */
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

/* System calls without libc: the raw thread shares its creator's TLS, so it must not enter
 * libc (glibc's own code would then act for the creator, and so would greenrun's). */
static long raw_syscall3(long number, long a, long b, long c) {
#if defined(__x86_64__)
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return result;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = number;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
#else
#error "raw_syscall3 is written for x86-64 and AArch64"
#endif
}

static char raw_stack[64 * 1024] __attribute__((aligned(16)));
static pid_t raw_tid;  /* set by CLONE_PARENT_SETTID, cleared by the kernel when it has gone */
static atomic_int raw_stop;
static atomic_int raw_naps;
static unsigned long long raw_sum;

static int raw_body(void* arg) {
  (void)arg;
  raw_syscall3(SYS_prctl, PR_SET_NAME, (long)"raw-clone", 0);
  unsigned long long sum = 0;
  for (unsigned long i = 1; i <= 100000; ++i) sum += i;
  raw_sum = sum;
  const struct timespec nap = {0, 10 * 1000 * 1000};
  while (!atomic_load(&raw_stop)) {
    raw_syscall3(SYS_nanosleep, (long)&nap, 0, 0);
    atomic_fetch_add(&raw_naps, 1);
  }
  return 0; /* glibc's clone ends the thread with the exit system call */
}

static atomic_int worker_ticks;

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < 30; ++i) {
    usleep(10 * 1000);
    atomic_fetch_add(&worker_ticks, 1);
  }
  return NULL;
}

/* A pthread a native thread creates: glibc's timer thread runs the notification. */
static atomic_int native_done;

static void* native_child(void* arg) {
  (void)arg;
  usleep(300 * 1000);
  atomic_store(&native_done, 1);
  return NULL;
}

static void on_timer(union sigval value) {
  (void)value;
  pthread_t t;
  CHECK_EQ(pthread_create(&t, NULL, native_child, NULL), 0);
  pthread_detach(t);
}

int main(void) {
  pthread_t w;
  CHECK_EQ(pthread_create(&w, NULL, worker, NULL), 0);

  struct sigevent event = {0};
  event.sigev_notify = SIGEV_THREAD;
  event.sigev_notify_function = on_timer;
  timer_t timer;
  CHECK_EQ(timer_create(CLOCK_MONOTONIC, &event, &timer), 0);
  struct itimerspec once = {{0, 0}, {0, 1000 * 1000}};
  CHECK_EQ(timer_settime(timer, 0, &once, NULL), 0);

  struct io_uring_params params = {0};
  params.flags = IORING_SETUP_SQPOLL;
  params.sq_thread_idle = 1000;
  const int ring = (int)syscall(SYS_io_uring_setup, 4, &params); /* -1 where not allowed */

  const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                    CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
  CHECK_EQ(clone(raw_body, raw_stack + sizeof raw_stack, flags, NULL, &raw_tid, NULL, &raw_tid) > 0,
           1);
  usleep(300 * 1000);
  atomic_store(&raw_stop, 1);
  while (__atomic_load_n(&raw_tid, __ATOMIC_ACQUIRE) != 0) usleep(1000);

  while (!atomic_load(&native_done)) usleep(1000);
  CHECK_EQ(pthread_join(w, NULL), 0);
  if (ring >= 0) close(ring);
  timer_delete(timer);

  printf("raw thread: sum %llu, slept: %s\n", raw_sum, atomic_load(&raw_naps) > 0 ? "yes" : "no");
  printf("pthread made by a native thread: ran\n");
  printf("worker: %d ticks\n", atomic_load(&worker_ticks));
  return 0;
}
