/* An ordinary pthread program, with nothing greenrun-specific in it: it fetches N URLs,
 * http://localhost:PORT/item/K for K = 0..N-1, one thread per URL, each doing what a textbook
 * client does: getaddrinfo, socket, a blocking connect, send an HTTP/1.0 GET, recv until the
 * server closes, then check the reply. Then it reports how long that took, how many OS threads
 * the process had at its peak (sampled from /proc/self/status while the fetches run), its
 * peak RSS, and how many fetches came back right. demos/fetch-many runs it natively and under
 * greenrun against demos/slow_server.
 *
 * usage: fetch_many -p PORT [-n N]   (N defaults to 100) */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How one fetch ended: `step` is NULL when the right reply came back, else the call that
 * failed, with its errno (or getaddrinfo's code, or 0 for a wrong reply). */
struct outcome {
  const char* step;
  int error;
};

static const char* port;
static struct outcome* outcomes;
static atomic_int finished;

static void fail(struct outcome* out, const char* step, int error) {
  out->step = step;
  out->error = error;
}

static bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* Connects to the first address of localhost:PORT that accepts; -1 with out filled if none. */
static int connect_to_localhost(struct outcome* out) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo* addresses;
  int rc = getaddrinfo("localhost", port, &hints, &addresses);
  if (rc != 0) {
    fail(out, "getaddrinfo", rc);
    return -1;
  }
  int fd = -1;
  for (struct addrinfo* a = addresses; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) {
      fail(out, "socket", errno);
    } else if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      fail(out, "connect", errno);  /* e.g. ::1 when the server listens on 127.0.0.1 only */
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(addresses);
  return fd;
}

static void* fetch(void* arg) {
  int k = (int)(intptr_t)arg;
  struct outcome* out = &outcomes[k];
  int fd = connect_to_localhost(out);
  if (fd >= 0) {
    char request[128], reply[512];
    int n = snprintf(request, sizeof request, "GET /item/%d HTTP/1.0\r\nHost: localhost:%s\r\n\r\n",
                     k, port);
    size_t have = 0;
    ssize_t r = 0;
    if (!send_all(fd, request, (size_t)n)) {
      fail(out, "send", errno);
    } else {
      /* HTTP/1.0: the reply ends when the server closes the connection. */
      while (have < sizeof reply - 1 &&
             ((r = recv(fd, reply + have, sizeof reply - 1 - have, 0)) > 0 || (r < 0 && errno == EINTR)))
        if (r > 0) have += (size_t)r;
      reply[have] = '\0';
      char expected[32];
      snprintf(expected, sizeof expected, "\r\n\r\nitem %d\n", k);
      const char* body = strstr(reply, "\r\n\r\n");
      if (r < 0) fail(out, "recv", errno);
      else if (strncmp(reply, "HTTP/1.0 200 ", 13) != 0 || !body || strcmp(body, expected) != 0)
        fail(out, "reply check", 0);
      else out->step = NULL;
    }
    close(fd);
  }
  atomic_fetch_add(&finished, 1);
  return NULL;
}

/* A number from /proc/self/status, e.g. "Threads" (the kernel's count of the process's OS
 * threads: cheap, unlike listing /proc/self/task with 10,000 entries) or "VmHWM" (peak RSS, in
 * KiB, of this program alone: getrusage's ru_maxrss also counts the process image before
 * execve, e.g. a Python parent's 14 MiB when started from one); -1 if absent. */
static long status_field(const char* name) {
  FILE* f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long value = -1;
  size_t n = strlen(name);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, name, n) == 0 && line[n] == ':') {
      value = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return value;
}

/* Prints how many OS threads are left, grouped by name (/proc/self/task/TID/comm). */
static void print_threads_by_name(void) {
  enum { kNames = 16 };
  char names[kNames][16];
  int counts[kNames], distinct = 0;
  DIR* d = opendir("/proc/self/task");
  if (!d) return;
  for (struct dirent* e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char path[300], name[16] = "?";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE* f = fopen(path, "r");
    if (f) {
      if (fgets(name, sizeof name, f)) name[strcspn(name, "\n")] = '\0';
      fclose(f);
    }
    int i = 0;
    while (i < distinct && strcmp(names[i], name) != 0) ++i;
    if (i == distinct) {
      if (distinct == kNames) continue;
      snprintf(names[distinct], sizeof names[0], "%s", name);
      counts[distinct++] = 0;
    }
    ++counts[i];
  }
  closedir(d);
  printf("OS threads at the end, by name:");
  for (int i = 0; i < distinct; ++i) printf("%s %d %s", i ? "," : "", counts[i], names[i]);
  printf("\n");
}

/* One line per kind of failure: "connect: Connection refused: 12 fetches". */
static void print_failures(int started) {
  for (int i = 0; i < started; ++i) {
    struct outcome* o = &outcomes[i];
    if (!o->step) continue;
    bool seen = false;
    for (int j = 0; j < i && !seen; ++j)
      seen = outcomes[j].step == o->step && outcomes[j].error == o->error;
    if (seen) continue;
    int count = 0;
    for (int j = i; j < started; ++j) count += outcomes[j].step == o->step && outcomes[j].error == o->error;
    const char* why = strcmp(o->step, "getaddrinfo") == 0 ? gai_strerror(o->error)
                      : o->error ? strerror(o->error) : "not the expected reply";
    printf("failed: %s: %s: %d fetch%s\n", o->step, why, count, count == 1 ? "" : "es");
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s -p PORT [-n N]\n", argv0);
  exit(2);
}

int main(int argc, char** argv) {
  long total = 100;
  for (int c; (c = getopt(argc, argv, "p:n:h")) != -1;) {
    char* end = (char*)"";
    switch (c) {
      case 'p': port = optarg; break;
      case 'n': total = strtol(optarg, &end, 10); break;
      default: usage(argv[0]);
    }
    if (*end != '\0') usage(argv[0]);
  }
  if (!port || optind != argc || total <= 0 || total > 1000000) usage(argv[0]);
  /* One socket per fetch: allow as many descriptors as the hard limit does. */
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  outcomes = calloc((size_t)total, sizeof *outcomes);
  pthread_t* threads = calloc((size_t)total, sizeof *threads);
  if (!outcomes || !threads) { perror("calloc"); return 1; }

  double start = now();
  int started = 0;
  long peak_threads = 0;
  for (; started < total; ++started) {
    int rc = pthread_create(&threads[started], NULL, fetch, (void*)(intptr_t)started);
    if (rc != 0) {
      printf("pthread_create failed at %d: %s\n", started, strerror(rc));
      break;
    }
    /* Threads that started first may be done before the last is created: sample as we go. */
    if (started % 64 == 0) {
      long n = status_field("Threads");
      if (n > peak_threads) peak_threads = n;
    }
  }
  for (;;) {
    long n = status_field("Threads");
    if (n > peak_threads) peak_threads = n;
    if (atomic_load(&finished) == started) break;
    nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
  }
  for (int i = 0; i < started; ++i) pthread_join(threads[i], NULL);
  double elapsed = now() - start;

  int ok = 0;
  for (int i = 0; i < started; ++i) ok += outcomes[i].step == NULL;
  print_failures(started);
  printf("fetched %d/%ld OK in %.3f s wall; peak %ld OS threads; peak RSS %.1f MiB\n", ok, total,
         elapsed, peak_threads, status_field("VmHWM") / 1024.0);
  print_threads_by_name();
  return ok == total ? 0 : 1;
}
