/* What the test programs share: errno names, clocks, checks that print both values, and the
 * "PROPERTY key value" lines (on stderr) that run_differential.py reads. Plain C, usable from
 * C++; it knows nothing of greenrun, so every program stays an ordinary pthread program.
 * Stdout carries only output that must be identical natively and under the preload. */
#ifndef GREENRUN_TESTS_PROGS_H
#define GREENRUN_TESTS_PROGS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Line-buffered stdout, so a run the runner has to kill still shows how far it got. */
__attribute__((constructor)) static void progs_line_buffered_stdout(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
}

/* "EBUSY", "ETIMEDOUT", ... and "0" for success. */
static inline const char* errno_name(int e) {
  static char unknown[32];
  if (e == 0) return "0";
  const char* name = strerrorname_np(e);
  if (name) return name;
  snprintf(unknown, sizeof unknown, "errno %d", e);
  return unknown;
}

static inline int64_t clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

/* An absolute time `ms` milliseconds from now on `clock`. */
static inline struct timespec deadline_in(clockid_t clock, long ms) {
  int64_t t = clock_ns(clock) + (int64_t)ms * 1000000;
  struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
  return ts;
}

static inline int64_t timespec_ns(const struct timespec* ts) {
  return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Stops the program with a line naming the check, both values and the current errno. */
static inline void progs_fail(const char* file, int line, const char* what, long long got,
                              long long want) {
  int e = errno;
  fprintf(stderr, "%s:%d: check failed: %s: got %lld, want %lld (errno %s)\n", file, line, what,
          got, want, errno_name(e));
  fflush(stdout);
  fflush(stderr);
  exit(99);
}

/* CHECK_EQ(a, b): both integral; on mismatch prints both and exits 99. */
#define CHECK_EQ(got, want)                                                      \
  do {                                                                           \
    long long got_ = (long long)(got), want_ = (long long)(want);                \
    if (got_ != want_) progs_fail(__FILE__, __LINE__, #got " == " #want, got_, want_); \
  } while (0)

/* CHECK_RC(call, ERR): a pthread-style call returning an error number; prints both names. */
#define CHECK_RC(call, want)                                                                 \
  do {                                                                                       \
    int rc_ = (call);                                                                        \
    if (rc_ != (want)) {                                                                     \
      fprintf(stderr, "%s:%d: %s: got %s, want %s\n", __FILE__, __LINE__, #call,             \
              errno_name(rc_), errno_name(want));                                            \
      fflush(stdout);                                                                        \
      exit(99);                                                                              \
    }                                                                                        \
  } while (0)

/* Whether task `tid` is one of greenrun's own service threads (the preemption monitor, the
 * lookup pool, the blocking watchdog: named "greenrun-..."), which run none of the program's
 * code. Natively there are none. */
static inline int progs_is_runtime_thread(const char* tid) {
  char path[300], name[32] = "";
  snprintf(path, sizeof path, "/proc/self/task/%s/comm", tid);
  FILE* f = fopen(path, "r");
  if (!f) return 0;
  if (!fgets(name, sizeof name, f)) name[0] = '\0';
  fclose(f);
  return strncmp(name, "greenrun-", 9) == 0;
}

/* OS threads whose name (comm) starts with `prefix`, e.g. greenrun's lookup pool. */
static inline int named_thread_count(const char* prefix) {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[300], name[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE* f = fopen(path, "r");
    if (f && fgets(name, sizeof name, f) && strncmp(name, prefix, strlen(prefix)) == 0) ++n;
    if (f) fclose(f);
  }
  closedir(d);
  return n;
}

/* OS threads running this program's code right now (entries of /proc/self/task, less
 * greenrun's own service threads). */
static inline int os_thread_count(void) {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && !progs_is_runtime_thread(e->d_name)) ++n;
  closedir(d);
  return n;
}

/* The most OS threads seen by any call of note_os_threads(); reported by report_os_threads(). */
static int progs_max_os_threads;

static inline void note_os_threads(void) {
  int n = os_thread_count();
  int seen = __atomic_load_n(&progs_max_os_threads, __ATOMIC_RELAXED);
  while (n > seen &&
         !__atomic_compare_exchange_n(&progs_max_os_threads, &seen, n, 0, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED)) {
  }
}

/* A fact about this run that differs natively and under the preload (so it stays off stdout);
 * the runner checks it, e.g. os_threads must be 1 under the preload. */
static inline void property(const char* key, long long value) {
  fprintf(stderr, "PROPERTY %s %lld\n", key, value);
  fflush(stderr);
}

static inline void report_os_threads(void) {
  note_os_threads();
  property("os_threads", __atomic_load_n(&progs_max_os_threads, __ATOMIC_RELAXED));
}

/* Waits up to 2 s for fork child `pid`, printing "child: exit N", or kills it and prints that
 * it was still blocked in pthread_mutex_lock. Returns 1 when it had to be killed. */
static inline int reap_child_or_kill(pid_t pid) {
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 200 && done == 0; ++i) {
    done = waitpid(pid, &status, WNOHANG);
    if (done == 0) usleep(10000);
  }
  if (done == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    puts("child: still blocked in pthread_mutex_lock after 2 s (killed)");
    return 1;
  }
  printf("child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 0;
}

/* A TCP listener on 127.0.0.1 at a port the kernel picks (`type_flags` as for socket(), e.g.
 * SOCK_NONBLOCK); *address receives the address to connect to. */
static inline int loopback_listener(int type_flags, int backlog, struct sockaddr_in* address) {
  int l = socket(AF_INET, SOCK_STREAM | type_flags, 0);
  CHECK_EQ(l >= 0, 1);
  memset(address, 0, sizeof *address);
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(l, (struct sockaddr*)address, sizeof *address), 0);
  CHECK_EQ(listen(l, backlog), 0);
  socklen_t length = sizeof *address;
  CHECK_EQ(getsockname(l, (struct sockaddr*)address, &length), 0);
  return l;
}

#endif
