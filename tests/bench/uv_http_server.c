/* The service of demos/http_server.c written directly on libuv, single-threaded: the event-loop
 * ceiling that greenrun's thread-per-connection server is measured against (scripts/bench-io).
 * Same requests understood, same replies byte for byte, same one write per batch of pipelined
 * requests, TCP_NODELAY on every connection.
 *
 * usage: uv_http_server [-p PORT] [-a ADDRESS] [-b BACKLOG]   (prints "listening on PORT") */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#include "http_protocol.h"

struct connection {
  uv_tcp_t tcp;  /* first: the handle pointer is the connection pointer */
  size_t have;
  bool closing;
  char in[kInBuffer];
};

/* A write libuv could not finish at once: the rest of the bytes travel with the request. */
struct pending_write {
  uv_write_t req;
  size_t length;
  char data[];
};

static uv_loop_t* loop;

static void on_closed(uv_handle_t* h) { free(h); }

static void close_connection(struct connection* c) {
  if (c->closing) return;
  c->closing = true;
  uv_close((uv_handle_t*)&c->tcp, on_closed);
}

static void on_shut_down(uv_shutdown_t* req, int status) {
  (void)status;
  close_connection((struct connection*)req->handle);
  free(req);
}

/* Closes the connection once every queued reply has been written. */
static void finish_connection(struct connection* c) {
  if (c->closing) return;
  uv_read_stop((uv_stream_t*)&c->tcp);
  uv_shutdown_t* req = malloc(sizeof *req);
  if (uv_shutdown(req, (uv_stream_t*)&c->tcp, on_shut_down) != 0) {
    free(req);
    close_connection(c);
  }
}

static void on_written(uv_write_t* req, int status) {
  (void)status;  /* a failed write shows up as a read error or EOF next */
  free(req);
}

/* Sends out[0, n): uv_try_write first (the usual case: it all fits the socket buffer), then
 * queues whatever is left. */
static void send_bytes(struct connection* c, const char* out, size_t n) {
  uv_buf_t b = uv_buf_init((char*)out, (unsigned)n);
  int w = uv_try_write((uv_stream_t*)&c->tcp, &b, 1);
  if (w == (int)n) return;
  if (w < 0 && w != UV_EAGAIN) {
    close_connection(c);
    return;
  }
  size_t done = w > 0 ? (size_t)w : 0;
  struct pending_write* p = malloc(sizeof *p + (n - done));
  p->length = n - done;
  memcpy(p->data, out + done, p->length);
  b = uv_buf_init(p->data, (unsigned)p->length);
  if (uv_write(&p->req, (uv_stream_t*)&c->tcp, &b, 1, on_written) != 0) {
    free(p);
    close_connection(c);
  }
}

static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf) {
  (void)suggested;
  struct connection* c = (struct connection*)h;
  *buf = uv_buf_init(c->in + c->have, (unsigned)(sizeof c->in - c->have));
}

static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  (void)buf;
  struct connection* c = (struct connection*)s;
  if (nread < 0) {
    close_connection(c);
    return;
  }
  c->have += (size_t)nread;
  char out[kOutBuffer];
  size_t used = 0, queued = 0;
  bool open = true;
  struct request req;
  int got;
  while (open && (got = parse_request(c->in + used, c->have - used, &req)) == 1) {
    const char* reply = req.keep_alive ? kReply : kReplyClose;
    size_t n = req.keep_alive ? sizeof kReply - 1 : sizeof kReplyClose - 1;
    if (queued + n > sizeof out) {
      send_bytes(c, out, queued);
      queued = 0;
    }
    memcpy(out + queued, reply, n);
    queued += n;
    used += req.length;
    open = req.keep_alive;
  }
  if (got < 0) open = false;
  if (queued > 0) send_bytes(c, out, queued);
  memmove(c->in, c->in + used, c->have - used);
  c->have -= used;
  /* uv_close would cancel a queued write: end the connection with a shutdown after it. */
  if (!open) finish_connection(c);
}

static void on_connection(uv_stream_t* server, int status) {
  if (status < 0) return;
  struct connection* c = malloc(sizeof *c);
  c->have = 0;
  c->closing = false;
  uv_tcp_init(loop, &c->tcp);
  if (uv_accept(server, (uv_stream_t*)&c->tcp) != 0) {
    close_connection(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start((uv_stream_t*)&c->tcp, on_alloc, on_read);
}

static void usage(const char* argv0) {
  fprintf(stderr, "usage: %s [-p PORT] [-a ADDRESS] [-b BACKLOG]\n", argv0);
  exit(2);
}

int main(int argc, char** argv) {
  long port = 8080, backlog = 4096;
  const char* address = "127.0.0.1";
  for (int c; (c = getopt(argc, argv, "p:a:b:h")) != -1;) {
    char* end = NULL;
    switch (c) {
      case 'p': port = strtol(optarg, &end, 10); break;
      case 'a': address = optarg; end = (char*)""; break;
      case 'b': backlog = strtol(optarg, &end, 10); break;
      default: usage(argv[0]);
    }
    if (*end != '\0') usage(argv[0]);
  }
  if (optind != argc || port < 0 || port > 65535 || backlog < 1) usage(argv[0]);
  signal(SIGPIPE, SIG_IGN);
  loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  struct sockaddr_in sa;
  if (uv_ip4_addr(address, (int)port, &sa) != 0) usage(argv[0]);
  int rc = uv_tcp_bind(&server, (const struct sockaddr*)&sa, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t*)&server, (int)backlog, on_connection);
  if (rc != 0) {
    fprintf(stderr, "uv_http_server: %s\n", uv_strerror(rc));
    return 1;
  }
  int len = sizeof sa;
  uv_tcp_getsockname(&server, (struct sockaddr*)&sa, &len);
  printf("listening on %d\n", ntohs(sa.sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
