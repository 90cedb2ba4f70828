/* A thread blocked in poll, ppoll, select, pselect or epoll_wait wakes when another thread
 * makes a descriptor ready 50 ms later: a write to a pipe or socket, a close of the writer
 * (POLLHUP), a read that makes room (POLLOUT). Also: two threads polling one pipe both wake,
 * only the descriptor that became ready is reported, and a thread blocked in poll or
 * epoll_wait can be cancelled. Under the preload all of it runs on one OS thread. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kDelayMs = 50, kPatienceMs = 5000 };

enum ActionKind { kWrite, kSend, kClose, kDrain, kSendTo };

struct Action {
  enum ActionKind kind;
  int fd;
  struct sockaddr_in to;  /* kSendTo */
};

/* The other thread: waits kDelayMs, then makes the descriptor ready. */
static void* act_later(void* arg) {
  struct Action* a = arg;
  note_os_threads();
  usleep(kDelayMs * 1000);
  char buf[65536];
  switch (a->kind) {
    case kWrite: CHECK_EQ(write(a->fd, "!", 1), 1); break;
    case kSend: CHECK_EQ(send(a->fd, "!", 1, 0), 1); break;
    case kClose: CHECK_EQ(close(a->fd), 0); break;
    case kDrain: CHECK_EQ(read(a->fd, buf, sizeof buf) > 0, 1); break;
    case kSendTo:
      CHECK_EQ(sendto(a->fd, "!", 1, 0, (struct sockaddr*)&a->to, sizeof a->to), 1);
      break;
  }
  return NULL;
}

static pthread_t helper;
static struct Action action;
static int64_t started;

static void start(enum ActionKind kind, int fd) {
  action = (struct Action){kind, fd, action.to};
  CHECK_RC(pthread_create(&helper, NULL, act_later, &action), 0);
  started = mono_ns();
}

/* Joins the helper and prints the result and whether it came after the helper's action and
 * well before the long timeout. */
static void finish(const char* what, int rc) {
  int e = errno;
  int64_t ms = (mono_ns() - started) / 1000000;
  CHECK_RC(pthread_join(helper, NULL), 0);
  note_os_threads();
  const char* when = ms < kDelayMs - 5         ? "too early"
                     : ms < kPatienceMs / 2 ? "woken by the other thread"
                                            : "NOT WOKEN (timed out)";
  printf("%-40s %d %s %s\n", what, rc, rc < 0 ? errno_name(e) : "", when);
}

/* A pipe whose write end has no room left. */
static void full_pipe(int p[2]) {
  CHECK_EQ(pipe(p), 0);
  int flags = fcntl(p[1], F_GETFL);
  CHECK_EQ(fcntl(p[1], F_SETFL, flags | O_NONBLOCK), 0);
  static char block[4096];
  while (write(p[1], block, sizeof block) > 0) {
  }
  while (write(p[1], block, 1) > 0) {
  }
  CHECK_EQ(fcntl(p[1], F_SETFL, flags), 0);
}

static void wake_poll_family(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  struct pollfd fd = {p[0], POLLIN, -1};
  start(kWrite, p[1]);
  finish("poll(pipe), other thread writes", poll(&fd, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", fd.revents);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);

  struct timespec ts = {kPatienceMs / 1000, 0};
  start(kWrite, p[1]);
  finish("ppoll(pipe), other thread writes", ppoll(&fd, 1, &ts, NULL));
  printf("%-40s %#x\n", "  revents", fd.revents);
  CHECK_EQ(read(p[0], &c, 1), 1);

  /* No timeout at all. */
  start(kWrite, p[1]);
  finish("poll(pipe, -1), other thread writes", poll(&fd, 1, -1));
  CHECK_EQ(read(p[0], &c, 1), 1);

  start(kClose, p[1]);
  finish("poll(pipe), other thread closes writer", poll(&fd, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", fd.revents);
  close(p[0]);

  int full[2];
  full_pipe(full);
  struct pollfd out = {full[1], POLLOUT, -1};
  start(kDrain, full[0]);
  finish("poll(full pipe), other thread reads", poll(&out, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", out.revents);
  close(full[0]);
  close(full[1]);

  int s[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
  struct pollfd sock = {s[0], POLLIN | POLLRDHUP, -1};
  start(kSend, s[1]);
  finish("poll(socket), other thread sends", poll(&sock, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", sock.revents);
  CHECK_EQ(recv(s[0], &c, 1, 0), 1);
  start(kClose, s[1]);
  finish("poll(socket), other thread closes peer", poll(&sock, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", sock.revents);
  close(s[0]);

  /* Three pipes: only the one written to is reported. */
  int a[2], b[2], d[2];
  CHECK_EQ(pipe(a), 0);
  CHECK_EQ(pipe(b), 0);
  CHECK_EQ(pipe(d), 0);
  struct pollfd three[3] = {{a[0], POLLIN, -1}, {b[0], POLLIN, -1}, {d[0], POLLIN, -1}};
  start(kWrite, d[1]);
  finish("poll(3 pipes), other thread writes #3", poll(three, 3, kPatienceMs));
  printf("%-40s %#x %#x %#x\n", "  revents", three[0].revents, three[1].revents,
         three[2].revents);
  close(a[0]), close(a[1]), close(b[0]), close(b[1]), close(d[0]), close(d[1]);
}

/* A UDP socket whose datagram is refused: the error (POLLERR) wakes the poller; once the error
 * has been read the socket is waited on again, and a datagram that arrives later wakes it. */
static void wake_after_socket_error(void) {
  int peer = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  CHECK_EQ(bind(peer, (struct sockaddr*)&addr, sizeof addr), 0);
  socklen_t len = sizeof addr;
  CHECK_EQ(getsockname(peer, (struct sockaddr*)&addr, &len), 0);
  CHECK_EQ(close(peer), 0); /* nobody listens on that port now */
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK_EQ(connect(s, (struct sockaddr*)&addr, sizeof addr), 0);
  struct pollfd fd = {s, POLLIN, -1};
  start(kSend, s);
  finish("poll(udp), datagram refused", poll(&fd, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", fd.revents);
  char c;
  ssize_t got = recv(s, &c, 1, 0);
  printf("%-40s %zd %s\n", "  recv", got, got < 0 ? errno_name(errno) : "");

  /* A sender on the refused port: its datagram must wake the same socket's next poll. */
  peer = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK_EQ(bind(peer, (struct sockaddr*)&addr, sizeof addr), 0);
  len = sizeof action.to;
  CHECK_EQ(getsockname(s, (struct sockaddr*)&action.to, &len), 0);
  start(kSendTo, peer);
  finish("poll(udp, after the error), data", poll(&fd, 1, kPatienceMs));
  printf("%-40s %#x\n", "  revents", fd.revents);
  close(peer);
  close(s);
}

static void wake_select_family(void) {
  int p[2], q[2];
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(pipe(q), 0);
  int nfds = q[1] + 1;
  fd_set r;
  FD_ZERO(&r);
  FD_SET(p[0], &r);
  FD_SET(q[0], &r);
  struct timeval tv = {kPatienceMs / 1000, 0};
  start(kWrite, q[1]);
  finish("select(2 pipes), other thread writes #2", select(nfds, &r, NULL, NULL, &tv));
  printf("%-40s %d %d\n", "  set", FD_ISSET(p[0], &r) != 0, FD_ISSET(q[0], &r) != 0);
  int64_t left_ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
  printf("%-40s %s\n", "  timeout left",
         left_ms > kPatienceMs - 2000 && left_ms <= kPatienceMs - kDelayMs + 5 ? "counted down"
                                                                               : "WRONG");
  char c;
  CHECK_EQ(read(q[0], &c, 1), 1);

  FD_ZERO(&r);
  FD_SET(p[0], &r);
  FD_SET(q[0], &r);
  start(kWrite, p[1]);
  finish("select(no timeout), other thread writes", select(nfds, &r, NULL, NULL, NULL));
  printf("%-40s %d %d\n", "  set", FD_ISSET(p[0], &r) != 0, FD_ISSET(q[0], &r) != 0);
  CHECK_EQ(read(p[0], &c, 1), 1);

  FD_ZERO(&r);
  FD_SET(p[0], &r);
  struct timespec ts = {kPatienceMs / 1000, 0};
  start(kClose, p[1]);
  finish("pselect(pipe), other thread closes writer", pselect(nfds, &r, NULL, NULL, &ts, NULL));
  printf("%-40s %d\n", "  set", FD_ISSET(p[0], &r) != 0);

  int full[2];
  full_pipe(full);
  nfds = full[1] + 1;
  fd_set w;
  FD_ZERO(&w);
  FD_SET(full[1], &w);
  tv = (struct timeval){kPatienceMs / 1000, 0};
  start(kDrain, full[0]);
  finish("select(full pipe), other thread reads", select(nfds, NULL, &w, NULL, &tv));
  printf("%-40s %d\n", "  set", FD_ISSET(full[1], &w) != 0);
  close(full[0]), close(full[1]), close(p[0]), close(q[0]), close(q[1]);
}

static void wake_epoll_family(void) {
  int p[2];
  CHECK_EQ(pipe(p), 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
  struct epoll_event out[2];
  start(kWrite, p[1]);
  int rc = epoll_wait(ep, out, 2, kPatienceMs);
  finish("epoll_wait(pipe), other thread writes", rc);
  printf("%-40s %u %#x\n", "  event", out[0].data.u32, out[0].events);
  char c;
  CHECK_EQ(read(p[0], &c, 1), 1);

  struct timespec ts = {kPatienceMs / 1000, 0};
  start(kWrite, p[1]);
  rc = epoll_pwait2(ep, out, 2, &ts, NULL);
  finish("epoll_pwait2(pipe), other thread writes", rc);
  CHECK_EQ(read(p[0], &c, 1), 1);

  /* Edge-triggered: each write is one new edge. */
  ev.events = EPOLLIN | EPOLLET;
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), 0);
  start(kWrite, p[1]);
  rc = epoll_pwait(ep, out, 2, -1, NULL);
  finish("epoll_pwait(edge-triggered, -1)", rc);
  start(kClose, p[1]);
  rc = epoll_wait(ep, out, 2, kPatienceMs);
  finish("epoll_wait(edge), other thread closes", rc);
  printf("%-40s %u %#x\n", "  event", out[0].data.u32, out[0].events);
  close(p[0]);
  close(ep);
}

/* Two threads poll the same pipe; one write wakes both (the data stays until read). */
static int shared_pipe[2];
static void* second_poller(void* arg) {
  (void)arg;
  note_os_threads();
  struct pollfd fd = {shared_pipe[0], POLLIN, -1};
  int rc = poll(&fd, 1, kPatienceMs);
  return (void*)(intptr_t)(rc == 1 && fd.revents == POLLIN);
}

static void two_pollers(void) {
  CHECK_EQ(pipe(shared_pipe), 0);
  pthread_t other;
  CHECK_RC(pthread_create(&other, NULL, second_poller, NULL), 0);
  struct pollfd fd = {shared_pipe[0], POLLIN, -1};
  start(kWrite, shared_pipe[1]);
  finish("poll(shared pipe), first poller", poll(&fd, 1, kPatienceMs));
  void* ok = NULL;
  CHECK_RC(pthread_join(other, &ok), 0);
  printf("%-40s %s\n", "  second poller", ok ? "woken with POLLIN" : "NOT WOKEN");
  close(shared_pipe[0]);
  close(shared_pipe[1]);
}

/* poll and epoll_wait are cancellation points, also while blocked. */
static int never[2];
static void* poll_forever(void* arg) {
  (void)arg;
  struct pollfd fd = {never[0], POLLIN, -1};
  poll(&fd, 1, -1);
  return NULL;
}
static void* epoll_forever(void* arg) {
  int ep = *(int*)arg;
  struct epoll_event out;
  epoll_wait(ep, &out, 1, -1);
  return NULL;
}
static void* select_forever(void* arg) {
  (void)arg;
  fd_set r;
  FD_ZERO(&r);
  FD_SET(never[0], &r);
  select(never[0] + 1, &r, NULL, NULL, NULL);
  return NULL;
}

static void cancel_blocked(const char* what, void* (*body)(void*), void* arg) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, body, arg), 0);
  usleep(20000);
  CHECK_RC(pthread_cancel(t), 0);
  void* result = NULL;
  CHECK_RC(pthread_join(t, &result), 0);
  printf("%-40s %s\n", what, result == PTHREAD_CANCELED ? "cancelled" : "NOT CANCELLED");
}

int main(void) {
  wake_poll_family();
  wake_after_socket_error();
  wake_select_family();
  wake_epoll_family();
  two_pollers();

  CHECK_EQ(pipe(never), 0);
  cancel_blocked("poll(-1) cancelled", poll_forever, NULL);
  cancel_blocked("select(NULL) cancelled", select_forever, NULL);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, never[0], &ev), 0);
  cancel_blocked("epoll_wait(-1) cancelled", epoll_forever, &ep);
  report_os_threads();
  return 0;
}
