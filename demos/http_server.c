/* A thread-per-connection HTTP/1.1 server written the plain blocking way: main() accepts, and
 * each connection gets its own detached pthread that read()s requests and write()s replies.
 * It knows nothing of greenrun; under the preload every connection thread is a green thread.
 *
 * usage: http_server [-p PORT] [-a ADDRESS] [-s STACK_KIB] [-b BACKLOG]
 *   -p PORT       TCP port (default 8080; 0 picks a free one). Prints "listening on PORT".
 *   -a ADDRESS    IPv4 address to bind (default 127.0.0.1)
 *   -s STACK_KIB  stack of each connection thread (default 64), so that native runs reach
 *                 many threads too
 *   -b BACKLOG    listen backlog (default 4096; the kernel caps it at net.core.somaxconn)
 *
 * Requests: a request line and headers up to CRLFCRLF, plus a Content-Length body if one is
 * announced. Keep-alive and pipelining as HTTP/1.1 says ("Connection: close" ends the
 * connection after the reply; HTTP/1.0 closes unless it asks for keep-alive). Every request
 * gets the same small reply: 200, text/plain, "Hello, World!\n". A connection thread keeps
 * its buffers on its stack: 4 KiB for requests (a larger request closes the connection) and
 * 2 KiB for the replies to one batch of pipelined requests. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_protocol.h"

/* write() until all of it is gone; false if the peer went away. */
static bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static void* serve_connection(void* arg) {
  int fd = (int)(intptr_t)arg;
  char in[kInBuffer], out[kOutBuffer];
  size_t have = 0;
  bool open = true;
  while (open) {
    ssize_t r = read(fd, in + have, sizeof in - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += (size_t)r;
    /* Answer every complete request in the buffer (pipelining) with one write per batch. */
    size_t used = 0, queued = 0;
    struct request req;
    int got;
    while (open && (got = parse_request(in + used, have - used, &req)) == 1) {
      const char* reply = req.keep_alive ? kReply : kReplyClose;
      size_t n = req.keep_alive ? sizeof kReply - 1 : sizeof kReplyClose - 1;
      if (queued + n > sizeof out) {
        if (!write_all(fd, out, queued)) open = false;
        queued = 0;
      }
      memcpy(out + queued, reply, n);
      queued += n;
      used += req.length;
      open = open && req.keep_alive;
    }
    if (got < 0) open = false;  /* a request too large for the buffer: give up on it */
    if (queued > 0 && !write_all(fd, out, queued)) open = false;
    memmove(in, in + used, have - used);
    have -= used;
  }
  close(fd);
  return NULL;
}

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s [-p PORT] [-a ADDRESS] [-s STACK_KIB] [-b BACKLOG]\n", argv0);
  exit(2);
}

int main(int argc, char** argv) {
  long port = 8080, stack_kib = 64, backlog = 4096;
  const char* address = "127.0.0.1";
  for (int c; (c = getopt(argc, argv, "p:a:s:b:h")) != -1;) {
    char* end = NULL;
    switch (c) {
      case 'p': port = strtol(optarg, &end, 10); break;
      case 'a': address = optarg; end = (char*)""; break;
      case 's': stack_kib = strtol(optarg, &end, 10); break;
      case 'b': backlog = strtol(optarg, &end, 10); break;
      default: usage(argv[0]);
    }
    if (*end != '\0') usage(argv[0]);
  }
  if (optind != argc || port < 0 || port > 65535 || stack_kib < 16 || backlog < 1) usage(argv[0]);
  /* A client that resets its connection must not kill the server through a write. */
  signal(SIGPIPE, SIG_IGN);

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) { perror("socket"); return 1; }
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, address, &sa.sin_addr) != 1) usage(argv[0]);
  if (bind(listener, (struct sockaddr*)&sa, sizeof sa) < 0) { perror("bind"); return 1; }
  if (listen(listener, (int)backlog) < 0) { perror("listen"); return 1; }
  socklen_t sl = sizeof sa;
  getsockname(listener, (struct sockaddr*)&sa, &sl);
  printf("listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_attr_setstacksize(&attr, (size_t)stack_kib * 1024) != 0) {
    fprintf(stderr, "http_server: stack of %ld KiB refused\n", stack_kib);
    return 2;
  }
  long refused = 0;
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* Out of descriptors: wait for connections to end rather than spin. */
        fprintf(stderr, "http_server: accept: %s\n", strerror(errno));
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
      } else if (errno != EINTR && errno != ECONNABORTED) {
        perror("accept");
        return 1;
      }
      continue;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    int rc = pthread_create(&t, &attr, serve_connection, (void*)(intptr_t)fd);
    if (rc != 0) {
      if (refused++ % 1000 == 0)
        fprintf(stderr, "http_server: pthread_create: %s (%ld connections refused)\n",
                strerror(rc), refused);
      close(fd);
    }
  }
}
