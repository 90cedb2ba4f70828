/* A deliberately slow HTTP/1.0 server for demos/fetch-many: it answers every request after a
 * fixed delay, as a remote service on a slow network would, so that a client's wall time shows
 * whether its requests overlap. Written the plain way, one blocking pthread per connection,
 * and meant to run under greenrun: then 10,000 connections waiting out their delay are 10,000
 * green threads on one OS thread (natively they would be 10,000 OS threads).
 *
 * usage: slow_server [-p PORT] [-d DELAY_MS]
 *   -p PORT      TCP port on 127.0.0.1 (default 0: a free one). Prints "listening on PORT".
 *   -d DELAY_MS  delay before each reply (default 200)
 *
 * Every request for /item/K gets "200 OK" with the body "item K\n"; any other path gets 404.
 * The connection is closed after the reply, as HTTP/1.0 says. */
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

static struct timespec delay;

/* Reads until the blank line that ends the request head; false if the peer went away first
 * or the head does not fit. */
static bool read_request_head(int fd, char* buf, size_t size) {
  size_t have = 0;
  while (have + 1 < size) {
    ssize_t r = read(fd, buf + have, size - 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    have += (size_t)r;
    buf[have] = '\0';
    if (strstr(buf, "\r\n\r\n")) return true;
  }
  return false;
}

static void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= (size_t)w;
  }
}

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  char request[2048];
  if (read_request_head(fd, request, sizeof request)) {
    nanosleep(&delay, NULL);  /* the latency this server exists to add */
    long item;
    bool found = sscanf(request, "GET /item/%ld ", &item) == 1;
    char body[64], reply[256];
    int body_length = found ? snprintf(body, sizeof body, "item %ld\n", item)
                            : snprintf(body, sizeof body, "not found\n");
    int length = snprintf(reply, sizeof reply,
                          "HTTP/1.0 %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s",
                          found ? "200 OK" : "404 Not Found", body_length, body);
    write_all(fd, reply, (size_t)length);
  }
  close(fd);
  return NULL;
}

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s [-p PORT] [-d DELAY_MS]\n", argv0);
  exit(2);
}

int main(int argc, char** argv) {
  long port = 0, delay_ms = 200;
  for (int c; (c = getopt(argc, argv, "p:d:h")) != -1;) {
    char* end = NULL;
    switch (c) {
      case 'p': port = strtol(optarg, &end, 10); break;
      case 'd': delay_ms = strtol(optarg, &end, 10); break;
      default: usage(argv[0]);
    }
    if (*end != '\0') usage(argv[0]);
  }
  if (optind != argc || port < 0 || port > 65535 || delay_ms < 0) usage(argv[0]);
  delay = (struct timespec){delay_ms / 1000, (delay_ms % 1000) * 1000000};
  signal(SIGPIPE, SIG_IGN);  /* a client that gave up must not kill the server */
  /* One descriptor per connection: allow as many as the hard limit does. */
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
  /* The kernel caps the backlog at net.core.somaxconn (4096 by default). */
  if (listen(listener, 65535) < 0) { perror("listen"); return 1; }
  socklen_t sl = sizeof sa;
  getsockname(listener, (struct sockaddr*)&sa, &sl);
  printf("listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);

  /* 64 KiB stacks, so that the same program holds 10,000 connections natively too. */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      /* Out of descriptors or memory: say so, and let connections end before trying again. */
      perror("slow_server: accept");
      nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
      continue;
    }
    pthread_t t;
    int rc = pthread_create(&t, &attr, serve, (void*)(intptr_t)fd);
    if (rc != 0) {
      fprintf(stderr, "slow_server: pthread_create: %s\n", strerror(rc));
      close(fd);
    }
  }
}
