/* A single-threaded program that moves bytes over a TCP loopback connection with blocking
 * read() and write(): the "program that never creates a thread" of scripts/bench-io, run as
 * the client natively and under greenrun against a peer that always runs natively.
 *
 * usage: loopback_transfer serve [PORT]
 *          accepts one connection at a time forever; prints "listening on PORT". The client's
 *          first 9 bytes are 'd' or 'u' and a byte count (8 bytes, little-endian): 'd' makes the
 *          peer write that many bytes and close; 'u' makes it read until EOF and answer with the
 *          count it received (8 bytes).
 *        loopback_transfer download|upload PORT BYTES [CHUNK]
 *          the client: moves BYTES in read()/write() calls of CHUNK bytes (default 16384) and
 *          prints "RESULT seconds S", "RESULT cpu_seconds S" (its own user+system time),
 *          "RESULT mib_per_s X" and "RESULT calls N" (its read() and write() calls). Exits 1
 *          if a byte went missing.
 *        loopback_transfer download|upload PORT BYTES CHUNK idle-thread
 *          the same with one more thread, blocked reading an empty pipe throughout: under
 *          greenrun the client's calls then take the cooperative path (MSG_DONTWAIT per call,
 *          parking on EAGAIN) instead of the plain call a program alone on the hub gets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

/* read() and write() calls made so far (the client reports them). */
static uint64_t calls;

static void die(const char* what) {
  perror(what);
  exit(1);
}

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ++calls;
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die("write");
    p += w;
    n -= (size_t)w;
  }
}

/* Reads exactly n bytes; false at an early EOF. */
static int read_exactly(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read");
    if (r == 0) return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

/* Reads until EOF in calls of `chunk` bytes; returns the byte count. */
static uint64_t drain(int fd, char* buf, size_t chunk) {
  uint64_t total = 0;
  for (;;) {
    ++calls;
    ssize_t r = read(fd, buf, chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("read");
    if (r == 0) return total;
    total += (uint64_t)r;
  }
}

/* Writes `bytes` in calls of `chunk` bytes. */
static void fill(int fd, const char* buf, size_t chunk, uint64_t bytes) {
  while (bytes > 0) {
    size_t n = bytes < chunk ? (size_t)bytes : chunk;
    write_all(fd, buf, n);
    bytes -= n;
  }
}

static double now_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static _Noreturn void serve(int port) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) die("socket");
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(l, (struct sockaddr*)&sa, sizeof sa) < 0) die("bind");
  if (listen(l, 16) < 0) die("listen");
  socklen_t len = sizeof sa;
  getsockname(l, (struct sockaddr*)&sa, &len);
  printf("listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  enum { kChunk = 65536 };
  char* buf = malloc(kChunk);
  memset(buf, 'g', kChunk);
  for (;;) {
    int fd = accept(l, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      die("accept");
    }
    char head[9];
    if (read_exactly(fd, head, sizeof head)) {
      uint64_t bytes;
      memcpy(&bytes, head + 1, 8);
      if (head[0] == 'd') {
        fill(fd, buf, kChunk, bytes);
      } else if (head[0] == 'u') {
        uint64_t got = drain(fd, buf, kChunk);
        write_all(fd, (const char*)&got, 8);
      }
    }
    close(fd);
  }
}

static int client(const char* mode, int port, uint64_t bytes, size_t chunk) {
  /* Page-aligned, so that the kernel copies into the same alignment natively and preloaded
   * (malloc hands out different addresses once the preload's libraries have allocated). */
  char* buf = aligned_alloc(4096, (chunk + 4095) / 4096 * 4096);
  memset(buf, 'c', chunk);
  double t0 = now_s(CLOCK_MONOTONIC);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (connect(fd, (struct sockaddr*)&sa, sizeof sa) < 0) die("connect");
  char head[9];
  head[0] = mode[0];
  memcpy(head + 1, &bytes, 8);
  write_all(fd, head, sizeof head);
  uint64_t moved;
  if (mode[0] == 'd') {
    moved = drain(fd, buf, chunk);
  } else {
    fill(fd, buf, chunk, bytes);
    if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
    if (!read_exactly(fd, (char*)&moved, 8)) moved = 0;
  }
  close(fd);
  double seconds = now_s(CLOCK_MONOTONIC) - t0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
  if (moved != bytes) {
    fprintf(stderr, "loopback_transfer: %s moved %llu bytes of %llu\n", mode,
            (unsigned long long)moved, (unsigned long long)bytes);
    return 1;
  }
  printf("RESULT seconds %.6f\nRESULT cpu_seconds %.6f\nRESULT mib_per_s %.1f\n"
         "RESULT calls %llu\n", seconds, cpu, bytes / 1048576.0 / seconds,
         (unsigned long long)calls);
  return 0;
}

static void* idle(void* arg) {
  char c;
  ssize_t n = read(*(int*)arg, &c, 1);  /* returns only at exit: nobody writes */
  return (void*)n;
}

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  static int idle_pipe[2];
  if (argc > 5 && strcmp(argv[5], "idle-thread") == 0) {
    pthread_t t;
    if (pipe(idle_pipe) != 0 || pthread_create(&t, NULL, idle, &idle_pipe[0]) != 0) die("idle thread");
  }
  if (argc >= 2 && strcmp(argv[1], "serve") == 0)
    serve(argc > 2 ? atoi(argv[2]) : 0);
  if (argc >= 4 && (strcmp(argv[1], "download") == 0 || strcmp(argv[1], "upload") == 0))
    return client(argv[1], atoi(argv[2]), strtoull(argv[3], NULL, 10),
                  argc > 4 ? strtoul(argv[4], NULL, 10) : 16384);
  fprintf(stderr, "usage: loopback_transfer serve [PORT] | download|upload PORT BYTES [CHUNK]\n");
  return 2;
}
