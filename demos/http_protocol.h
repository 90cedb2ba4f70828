/* The HTTP/1.1 service that demos/http_server.c (thread per connection) and
 * tests/bench/uv_http_server.c (libuv, the event-loop ceiling) both implement: buffer sizes, the
 * fixed replies and the request parser, in one place so the benchmark compares the same work. */
#ifndef GREENRUN_DEMOS_HTTP_PROTOCOL_H
#define GREENRUN_DEMOS_HTTP_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { kInBuffer = 4096, kOutBuffer = 2048 };

static const char kReply[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, World!\n";
static const char kReplyClose[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n"
    "\r\nHello, World!\n";

/* One parsed request: its length in the buffer (headers and body) and whether the connection
 * stays open after the reply. */
struct request {
  size_t length;
  bool keep_alive;
};

/* Parses the request at the start of buf[0, len). Returns 1 with *req filled when it is all
 * there, 0 when more bytes are needed, -1 when it can never fit the buffer. */
static int parse_request(const char* buf, size_t len, struct request* req) {
  const char* end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return len >= kInBuffer ? -1 : 0;
  size_t head = (size_t)(end - buf) + 4;
  const char* line_end = memchr(buf, '\r', head);
  /* HTTP/1.1 keeps the connection by default, HTTP/1.0 (and older) closes it. */
  bool keep = line_end - buf >= 8 && memcmp(line_end - 8, "HTTP/1.1", 8) == 0;
  size_t body = 0;
  for (const char* p = line_end + 2; p < end; ) {
    const char* eol = memchr(p, '\r', (size_t)(end - p) + 1);
    size_t n = (size_t)(eol - p);
    if (n > 11 && strncasecmp(p, "connection:", 11) == 0) {
      if (memmem(p + 11, n - 11, "close", 5) || memmem(p + 11, n - 11, "Close", 5)) keep = false;
      else if (memmem(p + 11, n - 11, "eep-alive", 9)) keep = true;
    } else if (n > 15 && strncasecmp(p, "content-length:", 15) == 0) {
      body = strtoul(p + 15, NULL, 10);
    }
    p = eol + 2;
  }
  if (head + body > kInBuffer) return -1;
  if (len < head + body) return 0;
  req->length = head + body;
  req->keep_alive = keep;
  return 1;
}

#endif
