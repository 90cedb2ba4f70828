/* Waits greenrun cannot make cooperative hold the loop's OS thread until the loop is handed to
 * another OS thread (GREENRUN_HANDOFF_MS); run with preemption off, so that nothing else could
 * let the others run. Modes:
 *   raw_read   a read made with the syscall instruction on a pipe that a green thread fills
 *              100 ms later (the program's own system call, as Go's runtime makes them)
 *   libc_syscall  the same read through libc's syscall() (a call greenrun sees but cannot make
 *              cooperative: it only marks it)
 *   file_lock  flock on a file a child process holds locked for 300 ms (a shim's blocking call)
 *   fsync      fsync of a file while another thread ticks (completes; order as natively)
 *   reuse      60 raw-futex handshakes: as many hand-offs, a few carrier threads reused
 *   overflow   a thread overflows its 256 KiB stack while the main thread is away in a raw
 *              read: the loop runs on an OS thread greenrun started, whose alternate signal
 *              stack must report the overflow as on the first one (greenrun only; natively
 *              the process dies of SIGSEGV)
 *   malloc     two threads alternate raw reads (hand-offs) with bursts of malloc and free in
 *              their own code, while two others allocate between sleeps: the thread left
 *              behind and the loop's new OS thread allocate at the same time, each in its own
 *              malloc state (a shared tcache would corrupt the heap)
 * Each prints what natively happens; PROPERTY lines give the ticks a ticker thread made while
 * the wait lasted and the carrier threads greenrun started. */
#include <fcntl.h>
#include <dirent.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static atomic_int waiting;  /* the wait under test is in progress */
static atomic_int finished;
static atomic_int ticks_meanwhile;

static void* ticker(void* arg) {
  (void)arg;
  while (!atomic_load(&finished)) {
    usleep(5000);
    if (atomic_load(&waiting)) atomic_fetch_add(&ticks_meanwhile, 1);
  }
  return NULL;
}

static long raw_syscall3(long number, long a, long b, long c) {
  long ret;
  register long r10 __asm__("r10") = 0;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"(number), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return ret;
}

static int pipe_fds[2];
static void* fill_later(void* arg) {
  usleep(100000);
  CHECK_EQ(write(pipe_fds[1], "x", 1), 1);
  return arg;
}

static void raw_read(int through_libc) {
  CHECK_RC(pipe(pipe_fds), 0);
  pthread_t filler;
  CHECK_RC(pthread_create(&filler, NULL, fill_later, NULL), 0);
  char c = 0;
  atomic_store(&waiting, 1);
  long n = through_libc ? syscall(SYS_read, pipe_fds[0], &c, 1)
                        : raw_syscall3(SYS_read, pipe_fds[0], (long)&c, 1);
  atomic_store(&waiting, 0);
  CHECK_RC(pthread_join(filler, NULL), 0);
  printf("raw read returned %ld byte '%c' once the other thread wrote it\n", n, c);
}

static void file_lock(void) {
  char path[] = "/tmp/greenrun-handoff-lock-XXXXXX";
  int fd = mkstemp(path);
  CHECK_EQ(fd >= 0, 1);
  int ready[2];
  CHECK_RC(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    int own = open(path, O_RDWR);
    flock(own, LOCK_EX);
    (void)!write(ready[1], "r", 1);
    usleep(300000);
    _exit(0);  /* the lock goes with the process */
  }
  char r;
  CHECK_EQ(read(ready[0], &r, 1), 1);
  atomic_store(&waiting, 1);
  int rc = flock(fd, LOCK_EX);
  atomic_store(&waiting, 0);
  int status;
  CHECK_EQ(waitpid(child, &status, 0), child);
  unlink(path);
  printf("flock returned %d once the child let go\n", rc);
}

static void fsync_file(void) {
  char path[] = "/tmp/greenrun-handoff-fsync-XXXXXX";
  int fd = mkstemp(path);
  CHECK_EQ(fd >= 0, 1);
  static char block[1 << 20];
  memset(block, 'g', sizeof block);
  atomic_store(&waiting, 1);
  for (int i = 0; i < 8; ++i) {
    CHECK_EQ(pwrite(fd, block, sizeof block, (off_t)i * (off_t)sizeof block), (long)sizeof block);
    CHECK_RC(fsync(fd), 0);
  }
  atomic_store(&waiting, 0);
  char back[4];
  CHECK_EQ(pread(fd, back, sizeof back, 7 << 20), 4);
  unlink(path);
  printf("8 MiB written, fsynced and read back: %.4s\n", back);
}

static atomic_int word;
static void* partner(void* arg) {
  for (int i = 0; i < 60; ++i) {
    usleep(3000);
    atomic_store(&word, 2 * i + 1);
    raw_syscall3(SYS_futex, (long)&word, FUTEX_WAKE_PRIVATE, 1);
    int seen;
    while ((seen = atomic_load(&word)) != 2 * i + 2)
      raw_syscall3(SYS_futex, (long)&word, FUTEX_WAIT_PRIVATE, seen);
  }
  return arg;
}

static void reuse(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, partner, NULL), 0);
  atomic_store(&waiting, 1);
  for (int i = 0; i < 60; ++i) {
    int seen;
    while ((seen = atomic_load(&word)) != 2 * i + 1)
      raw_syscall3(SYS_futex, (long)&word, FUTEX_WAIT_PRIVATE, seen);
    atomic_store(&word, 2 * i + 2);
    raw_syscall3(SYS_futex, (long)&word, FUTEX_WAKE_PRIVATE, 1);
  }
  atomic_store(&waiting, 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("60 raw futex handshakes each way\n");
}

/* A deterministic burst of allocations: returns a checksum of what was written. */
static unsigned long churn(unsigned seed, int rounds) {
  void* held[64] = {0};
  unsigned long sum = 0;
  for (int i = 0; i < rounds; ++i) {
    seed = seed * 1103515245u + 12345u;
    int slot = (int)(seed >> 16) % 64;
    free(held[slot]);
    size_t size = 16 + (seed >> 8) % 2000;
    unsigned char* p = malloc(size);
    memset(p, (int)(seed & 0xff), size);
    sum += p[size - 1] + size;
    held[slot] = p;
  }
  for (int i = 0; i < 64; ++i) free(held[i]);
  return sum;
}

struct blocker_arg {
  int fds[2];
  unsigned seed;
  unsigned long sum;
};

static void* blocker(void* arg) {
  struct blocker_arg* b = arg;
  for (int i = 0; i < 20; ++i) {
    char c;
    if (raw_syscall3(SYS_read, b->fds[0], (long)&c, 1) != 1) abort();
    b->sum += churn(b->seed + (unsigned)i, 20000);  /* no intercepted call: still away */
  }
  return NULL;
}

static void* feeder(void* arg) {
  struct blocker_arg* b = arg;
  for (int i = 0; i < 20; ++i) {
    usleep(4000);
    b->sum += churn(b->seed + 1000u + (unsigned)i, 5000);
    CHECK_EQ(write(b->fds[1], "f", 1), 1);
  }
  return NULL;
}

static void malloc_while_away(void) {
  struct blocker_arg blockers[2] = {{.seed = 1}, {.seed = 2}};
  struct blocker_arg feeders[2];
  pthread_t threads[4];
  for (int i = 0; i < 2; ++i) {
    CHECK_RC(pipe(blockers[i].fds), 0);
    feeders[i] = (struct blocker_arg){.fds = {blockers[i].fds[0], blockers[i].fds[1]},
                                      .seed = 10u + (unsigned)i};
    CHECK_RC(pthread_create(&threads[i], NULL, blocker, &blockers[i]), 0);
    CHECK_RC(pthread_create(&threads[2 + i], NULL, feeder, &feeders[i]), 0);
  }
  atomic_store(&waiting, 1);
  for (int i = 0; i < 4; ++i) CHECK_RC(pthread_join(threads[i], NULL), 0);
  atomic_store(&waiting, 0);
  printf("allocation checksums %lu %lu %lu %lu\n", blockers[0].sum, blockers[1].sum,
         feeders[0].sum, feeders[1].sum);
}

static int deep(int n) {
  volatile char frame[1024];
  frame[0] = (char)n;
  return n < (1 << 30) ? deep(n + 1) + frame[0] : 0;  /* the stack ends long before */
}

static void* overflow_later(void* arg) {
  (void)arg;
  usleep(20000);  /* the main thread is away by now */
  return (void*)(long)deep(0);
}

static void overflow(void) {
  CHECK_RC(pipe(pipe_fds), 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  CHECK_RC(pthread_create(&t, &attr, overflow_later, NULL), 0);
  char c;
  raw_syscall3(SYS_read, pipe_fds[0], (long)&c, 1);  /* never written: the overflow ends it */
}

/* Threads named greenrun-loop: the OS threads greenrun started to run the loop. */
static int carriers(void) {
  DIR* tasks = opendir("/proc/self/task");
  int n = 0;
  struct dirent* e;
  while ((e = readdir(tasks))) {
    if (e->d_name[0] == '.') continue;
    char path[300], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE* f = fopen(path, "r");
    if (f && fgets(comm, sizeof comm, f) && strncmp(comm, "greenrun-loop\n", 14) == 0) ++n;
    if (f) fclose(f);
  }
  closedir(tasks);
  return n;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
  if (strcmp(mode, "raw_read") == 0) raw_read(0);
  else if (strcmp(mode, "libc_syscall") == 0) raw_read(1);
  else if (strcmp(mode, "file_lock") == 0) file_lock();
  else if (strcmp(mode, "fsync") == 0) fsync_file();
  else if (strcmp(mode, "reuse") == 0) reuse();
  else if (strcmp(mode, "malloc") == 0) malloc_while_away();
  else if (strcmp(mode, "overflow") == 0) overflow();
  else {
    fprintf(stderr, "usage: %s raw_read|libc_syscall|file_lock|fsync|reuse|malloc|overflow\n", argv[0]);
    return 2;
  }
  atomic_store(&finished, 1);
  CHECK_RC(pthread_join(t, NULL), 0);
  fprintf(stderr, "PROPERTY ticks_meanwhile %d\n", atomic_load(&ticks_meanwhile));
  fprintf(stderr, "PROPERTY carriers %d\n", carriers());
  return 0;
}
