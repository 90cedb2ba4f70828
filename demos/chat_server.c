/* A line-based chat server written the plain blocking way: main() accepts, and each client
 * gets its own detached pthread that reads lines and writes each one to every other client.
 * It knows nothing of greenrun; under it, every client costs a green thread, not an OS thread.
 * demos/chat.sh shows both.
 *
 * usage: chat_server [-p PORT]   (default 0: a free port). Prints "listening on PORT", and
 * nothing else.
 *
 * Protocol: a client's first line is its name. Then each line it sends reaches every other
 * named client as "NAME: LINE"; joining and leaving are announced as "* NAME joined" and
 * "* NAME left". A client that never names itself (an idle one) only listens. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { kMaxLine = 512, kMaxName = 32 };

/* The clients that have named themselves, as a list of descriptors. Writers hold `members`
 * for the whole broadcast, so that no descriptor in it is closed (and its number reused)
 * halfway through; a client leaves the list under the same lock before it closes. */
static pthread_mutex_t members = PTHREAD_MUTEX_INITIALIZER;
static int* member_fds;
static size_t member_count, member_capacity;

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  /* that client is going away; its own thread will notice */
    p += w;
    n -= (size_t)w;
  }
}

/* Writes `text` to every member but `from`. */
static void broadcast(int from, const char* text) {
  pthread_mutex_lock(&members);
  for (size_t i = 0; i < member_count; ++i)
    if (member_fds[i] != from) write_all(member_fds[i], text, strlen(text));
  pthread_mutex_unlock(&members);
}

static bool join(int fd) {
  pthread_mutex_lock(&members);
  bool ok = true;
  if (member_count == member_capacity) {
    size_t capacity = member_capacity ? 2 * member_capacity : 64;
    int* grown = realloc(member_fds, capacity * sizeof *grown);
    if (grown) member_fds = grown, member_capacity = capacity;
    else ok = false;
  }
  if (ok) member_fds[member_count++] = fd;
  pthread_mutex_unlock(&members);
  return ok;
}

static void leave(int fd) {
  pthread_mutex_lock(&members);
  for (size_t i = 0; i < member_count; ++i)
    if (member_fds[i] == fd) {
      member_fds[i] = member_fds[--member_count];
      break;
    }
  pthread_mutex_unlock(&members);
}

/* A connection's input: what has been read but not yet taken as lines. */
struct reader {
  int fd;
  char buf[kMaxLine];
  size_t have;
};

/* Takes one line (without its newline) into `line`, reading more as needed; false at the end
 * of the connection. A line longer than kMaxLine is cut into pieces. */
static bool read_line(struct reader* r, char* line) {
  for (;;) {
    char* newline = memchr(r->buf, '\n', r->have);
    if (newline || r->have == sizeof r->buf) {
      size_t n = newline ? (size_t)(newline - r->buf) : r->have;
      memcpy(line, r->buf, n);
      line[n] = '\0';
      if (n > 0 && line[n - 1] == '\r') line[n - 1] = '\0';
      size_t used = newline ? n + 1 : n;
      memmove(r->buf, r->buf + used, r->have - used);
      r->have -= used;
      return true;
    }
    ssize_t got = read(r->fd, r->buf + r->have, sizeof r->buf - r->have);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    r->have += (size_t)got;
  }
}

static void* serve_client(void* arg) {
  struct reader r = {.fd = (int)(intptr_t)arg};
  char name[kMaxName + 1], line[kMaxLine + 1], text[kMaxName + kMaxLine + 16];
  if (read_line(&r, line) && line[0] && join(r.fd)) {
    snprintf(name, sizeof name, "%.*s", (int)kMaxName, line);
    snprintf(text, sizeof text, "* %s joined\n", name);
    broadcast(r.fd, text);
    while (read_line(&r, line)) {
      snprintf(text, sizeof text, "%s: %s\n", name, line);
      broadcast(r.fd, text);
    }
    leave(r.fd);
    snprintf(text, sizeof text, "* %s left\n", name);
    broadcast(r.fd, text);
  }
  close(r.fd);
  return NULL;
}

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s [-p PORT]\n", argv0);
  exit(2);
}

int main(int argc, char** argv) {
  long port = 0;
  for (int c; (c = getopt(argc, argv, "p:h")) != -1;) {
    char* end = NULL;
    if (c != 'p') usage(argv[0]);
    port = strtol(optarg, &end, 10);
    if (*end != '\0') usage(argv[0]);
  }
  if (optind != argc || port < 0 || port > 65535) usage(argv[0]);
  signal(SIGPIPE, SIG_IGN);  /* a client that vanished must not kill the server */
  /* One descriptor per client: allow as many as the hard limit does. */
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) { perror("socket"); return 1; }
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listener, (struct sockaddr*)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  if (listen(listener, 4096) < 0) { perror("listen"); return 1; }
  socklen_t sl = sizeof sa;
  getsockname(listener, (struct sockaddr*)&sa, &sl);
  printf("listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      perror("chat_server: accept");  /* out of descriptors or memory: wait, then go on */
      nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
      continue;
    }
    pthread_t t;
    int rc = pthread_create(&t, &attr, serve_client, (void*)(intptr_t)fd);
    if (rc != 0) {
      fprintf(stderr, "chat_server: pthread_create: %s\n", strerror(rc));
      close(fd);
    }
  }
}
