/* What poll, ppoll, select, pselect and epoll_wait report for pipes and socketpairs that are
 * already ready (or broken): data, POLLHUP after the writer closes, POLLERR after the reader
 * closes, POLLRDHUP, POLLNVAL for a closed descriptor, EBADF from select. Every call has a long
 * timeout and must answer at once. The checks run twice: alone, then with a second thread alive
 * (under the preload the calls then go through the cooperative path). */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kLongMs = 2000 };

static int64_t started;

static void begin(void) { started = mono_ns(); }

/* Prints the result and whether it came at once (well before the long timeout). */
static void report(const char* what, int rc) {
  int e = errno;
  int64_t ms = (mono_ns() - started) / 1000000;
  printf("%-48s %d %s%s\n", what, rc, rc < 0 ? errno_name(e) : "",
         ms < kLongMs / 2 ? "" : " (SLOW: it waited)");
}

static void poll_one(const char* what, int fd, short events) {
  struct pollfd p = {fd, events, -1};
  begin();
  int rc = poll(&p, 1, kLongMs);
  report(what, rc);
  printf("%-48s %#x\n", "  revents", p.revents);
}

static void pipes(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  struct pollfd both[3] = {{p[0], POLLIN, -1}, {p[1], POLLOUT, -1}, {-1, POLLIN, -1}};
  begin();
  report("poll(empty pipe: read end, write end, -1)", poll(both, 3, kLongMs));
  printf("%-48s %#x %#x %#x\n", "  revents", both[0].revents, both[1].revents, both[2].revents);

  CHECK_EQ(write(p[1], "hello", 5), 5);
  poll_one("poll(pipe with data, POLLIN|POLLPRI|POLLRDHUP)", p[0], POLLIN | POLLPRI | POLLRDHUP);
  struct timespec ts = {kLongMs / 1000, 0};
  struct pollfd q = {p[0], POLLIN, -1};
  begin();
  report("ppoll(pipe with data)", ppoll(&q, 1, &ts, NULL));
  printf("%-48s %#x\n", "  revents", q.revents);

  CHECK_EQ(close(p[1]), 0);
  poll_one("poll(data, writer closed)", p[0], POLLIN);
  char buf[8];
  CHECK_EQ(read(p[0], buf, sizeof buf), 5);
  poll_one("poll(drained, writer closed)", p[0], POLLIN);
  poll_one("poll(drained, writer closed, events 0)", p[0], 0);
  CHECK_EQ(read(p[0], buf, sizeof buf), 0);
  CHECK_EQ(close(p[0]), 0);
  poll_one("poll(closed descriptor)", p[0], POLLIN);

  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(close(p[0]), 0);
  poll_one("poll(write end, reader closed)", p[1], POLLOUT);
  CHECK_EQ(close(p[1]), 0);
}

static void sockets(void) {
  int s[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  poll_one("poll(socketpair, POLLIN|POLLOUT)", s[0], POLLIN | POLLOUT);
  CHECK_EQ(send(s[1], "x", 1, 0), 1);
  poll_one("poll(socketpair with data, POLLIN)", s[0], POLLIN);
  CHECK_EQ(shutdown(s[1], SHUT_WR), 0);
  poll_one("poll(peer shut down writing, POLLIN|POLLRDHUP)", s[0], POLLIN | POLLRDHUP);
  CHECK_EQ(close(s[1]), 0);
  poll_one("poll(peer closed, POLLIN|POLLOUT|POLLRDHUP)", s[0], POLLIN | POLLOUT | POLLRDHUP);
  CHECK_EQ(close(s[0]), 0);

  CHECK_EQ(socketpair(AF_UNIX, SOCK_DGRAM, 0, s), 0);
  poll_one("poll(datagram socketpair, POLLIN|POLLOUT)", s[0], POLLIN | POLLOUT);
  CHECK_EQ(close(s[0]), 0);
  CHECK_EQ(close(s[1]), 0);
}

/* The pipes' descriptors by name: numbers differ under the preload (libuv holds a few). */
static int p[2], q[2];

static void print_sets(fd_set* r, fd_set* w, fd_set* x) {
  static const char* names[4] = {"p0", "p1", "q0", "q1"};
  int fds[4] = {p[0], p[1], q[0], q[1]};
  printf("%-48s", "  set:");
  for (int i = 0; i < 4; ++i) {
    if (r && FD_ISSET(fds[i], r)) printf(" r:%s", names[i]);
    if (w && FD_ISSET(fds[i], w)) printf(" w:%s", names[i]);
    if (x && FD_ISSET(fds[i], x)) printf(" x:%s", names[i]);
  }
  printf("\n");
}

static void selects(void) {
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(pipe(q), 0);
  int nfds = q[1] + 1;
  fd_set r, w, x;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_ZERO(&x);
  FD_SET(p[0], &r);
  FD_SET(q[0], &r);
  FD_SET(p[1], &w);
  FD_SET(p[0], &x);
  CHECK_EQ(write(q[1], "y", 1), 1);
  struct timeval tv = {kLongMs / 1000, 0};
  begin();
  report("select(data on one pipe, room on the other)", select(nfds, &r, &w, &x, &tv));
  print_sets(&r, &w, &x);
  /* Linux writes back the time left: nearly all of it. */
  printf("%-48s %s\n", "  timeout left",
         tv.tv_sec * 1000 + tv.tv_usec / 1000 > kLongMs - 500 ? "nearly all" : "too little");

  /* tv_usec of a second or more is carried into tv_sec, and so written back. */
  FD_ZERO(&r);
  FD_SET(q[0], &r);
  tv = (struct timeval){0, 1500000};
  begin();
  report("select(ready, tv_usec 1500000)", select(nfds, &r, NULL, NULL, &tv));
  printf("%-48s %ld s %ld ms\n", "  timeout left", (long)tv.tv_sec, (tv.tv_usec + 500) / 1000);

  FD_ZERO(&r);
  FD_SET(q[0], &r);
  FD_SET(p[0], &r);
  struct timespec ts = {kLongMs / 1000, 0};
  begin();
  report("pselect(one ready)", pselect(nfds, &r, NULL, NULL, &ts, NULL));
  print_sets(&r, NULL, NULL);

  /* A closed descriptor in a set: EBADF, and the sets are left as they were. */
  CHECK_EQ(close(p[1]), 0);
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(q[0], &r);
  FD_SET(p[1], &w);
  tv = (struct timeval){kLongMs / 1000, 0};
  begin();
  report("select(closed descriptor in writefds)", select(nfds, &r, &w, NULL, &tv));
  print_sets(&r, &w, NULL);
  FD_ZERO(&r);
  FD_SET(p[1], &r);
  begin();
  report("pselect(closed descriptor in readfds)", pselect(nfds, &r, NULL, NULL, &ts, NULL));

  /* Writer closed: readable (end of file). */
  CHECK_EQ(close(q[1]), 0);
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  FD_SET(q[0], &r);
  tv = (struct timeval){kLongMs / 1000, 0};
  begin();
  report("select(both writers closed)", select(nfds, &r, NULL, NULL, &tv));
  print_sets(&r, NULL, NULL);
  close(p[0]);
  close(q[0]);
}

static void epolls(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = 7};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
  ev = (struct epoll_event){.events = EPOLLOUT | EPOLLET, .data.u32 = 8};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev), 0);
  struct epoll_event out[4];
  begin();
  int rc = epoll_wait(ep, out, 4, kLongMs);
  report("epoll_wait(room to write, edge-triggered)", rc);
  for (int i = 0; i < rc; ++i) printf("  event %u: %#x\n", out[i].data.u32, out[i].events);
  /* The edge has been consumed: nothing until something changes. */
  begin();
  report("epoll_wait(edge consumed, timeout 0)", epoll_wait(ep, out, 4, 0));

  CHECK_EQ(write(p[1], "z", 1), 1);
  begin();
  rc = epoll_wait(ep, out, 4, kLongMs);
  report("epoll_wait(data written)", rc);
  for (int i = 0; i < rc; ++i) printf("  event %u: %#x\n", out[i].data.u32, out[i].events);

  CHECK_EQ(close(p[1]), 0);
  struct timespec ts = {kLongMs / 1000, 0};
  begin();
  rc = epoll_pwait2(ep, out, 4, &ts, NULL);
  report("epoll_pwait2(writer closed)", rc);
  for (int i = 0; i < rc; ++i) printf("  event %u: %#x\n", out[i].data.u32, out[i].events);
  begin();
  rc = epoll_pwait(ep, out, 1, kLongMs, NULL);
  report("epoll_pwait(maxevents 1)", rc);
  close(p[0]);
  close(ep);
  begin();
  report("epoll_wait(closed epoll descriptor)", epoll_wait(ep, out, 4, kLongMs));
}

static void all_checks(const char* when) {
  printf("== %s\n", when);
  pipes();
  sockets();
  selects();
  epolls();
}

static volatile int stop_companion;
static void* companion(void* arg) {
  (void)arg;
  note_os_threads();
  while (!stop_companion) usleep(5000);
  return NULL;
}

int main(void) {
  all_checks("alone");
  pthread_t comp;
  CHECK_RC(pthread_create(&comp, NULL, companion, NULL), 0);
  all_checks("with a second thread");
  stop_companion = 1;
  CHECK_RC(pthread_join(comp, NULL), 0);
  report_os_threads();
  return 0;
}
