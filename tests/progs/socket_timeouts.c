/* SO_RCVTIMEO and SO_SNDTIMEO are honoured: on a blocking socket with a 100 ms timeout and
 * nothing to read (or no room to write), recv, read, recvfrom and recvmsg (send) return -1 with
 * EAGAIN, never before 100 ms have passed, while another thread keeps running. Each wait runs
 * on its own thread, so under the preload it is a green thread parked with a deadline. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kTimeoutMs = 100, kTooLateMs = 5000 };

static volatile int ticking = 1;
static volatile long ticks;

/* Counts 5 ms sleeps until told to stop: proof that the waits do not block everything else. */
static void* ticker(void* arg) {
  (void)arg;
  while (ticking) {
    usleep(5000);
    ++ticks;
  }
  return NULL;
}

static void set_timeout(int fd, int option, long ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  CHECK_EQ(setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv), 0);
}

static void* send_late(void* arg) {
  usleep(300 * 1000);
  CHECK_EQ(write(*(int*)arg, "y", 1), 1);
  return NULL;
}

struct wait_case {
  const char* name;
  int fd;
  int kind;  /* 0 recv, 1 read, 2 recvfrom, 3 recvmsg, 4 send */
};

static void* timed_wait(void* arg) {
  struct wait_case* c = arg;
  char buf[64] = {0};
  long ticks_before = ticks;
  int64_t t0 = mono_ns();
  note_os_threads();
  errno = 0;
  ssize_t r = -2;
  switch (c->kind) {
    case 0: r = recv(c->fd, buf, sizeof buf, 0); break;
    case 1: r = read(c->fd, buf, sizeof buf); break;
    case 2: r = recvfrom(c->fd, buf, sizeof buf, 0, NULL, NULL); break;
    case 3: {
      struct iovec iov = {buf, sizeof buf};
      struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
      r = recvmsg(c->fd, &msg, 0);
      break;
    }
    case 4: r = send(c->fd, buf, sizeof buf, 0); break;
  }
  int e = errno;
  int64_t ms = (mono_ns() - t0) / 1000000;
  long ticked = ticks - ticks_before;
  printf("%s: returned %zd, errno %s, %s, %s\n", c->name, r, errno_name(e),
         ms >= kTimeoutMs ? "not early" : "EARLY", ms < kTooLateMs ? "not late" : "LATE");
  /* Natively the ticker is another OS thread; under the preload it must still have run. */
  printf("%s: other thread ran during the wait: %s\n", c->name, ticked >= 5 ? "yes" : "no");
  property("waited_ms", ms);
  return NULL;
}

static void run_case(const char* name, int fd, int kind) {
  struct wait_case c = {name, fd, kind};
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, timed_wait, &c), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
}

int main(void) {
  /* A timeout set while the program is still single-threaded, before any thread exists (and
   * so, under the preload, before the runtime has seen the socket). Waited on last. */
  int early[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, early), 0);
  set_timeout(early[0], SO_RCVTIMEO, kTimeoutMs);
  set_timeout(early[1], SO_SNDTIMEO, kTimeoutMs);

  pthread_t tick;
  CHECK_RC(pthread_create(&tick, NULL, ticker, NULL), 0);

  /* A connected TCP loopback pair. */
  struct sockaddr_in sa;
  int listener = loopback_listener(0, 1, &sa);
  int tcp = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(tcp, (struct sockaddr*)&sa, sizeof sa), 0);
  int peer = accept(listener, NULL, NULL);
  CHECK_EQ(peer >= 0, 1);

  set_timeout(tcp, SO_RCVTIMEO, kTimeoutMs);
  struct timeval tv;
  socklen_t tvlen = sizeof tv;
  CHECK_EQ(getsockopt(tcp, SOL_SOCKET, SO_RCVTIMEO, &tv, &tvlen), 0);
  printf("getsockopt SO_RCVTIMEO: %ld.%06ld s\n", (long)tv.tv_sec, (long)tv.tv_usec);
  run_case("tcp recv", tcp, 0);
  run_case("tcp read", tcp, 1);
  run_case("tcp recvfrom", tcp, 2);
  run_case("tcp recvmsg", tcp, 3);

  /* The timeout is a property of the socket, not of one call: data that arrives in time is
   * returned as usual, and the next empty wait times out again. */
  CHECK_EQ(write(peer, "x", 1), 1);
  char ch;
  CHECK_EQ(recv(tcp, &ch, 1, 0), 1);
  printf("data in time: received '%c'\n", ch);

  /* A UNIX stream pair, and a send that cannot proceed because the peer reads nothing. */
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  set_timeout(sv[0], SO_RCVTIMEO, kTimeoutMs);
  run_case("unix recv", sv[0], 0);
  set_timeout(sv[0], SO_SNDTIMEO, kTimeoutMs);
  long filled = 0;
  char block[4096] = {0};
  for (;;) {
    ssize_t w = send(sv[0], block, sizeof block, MSG_DONTWAIT);
    if (w < 0) {
      CHECK_EQ(errno, EAGAIN);
      break;
    }
    filled += w;
  }
  printf("unix pair filled: %s\n", filled > 0 ? "yes" : "no");
  run_case("unix send (full)", sv[0], 4);

  /* Clearing the timeout (0) makes the socket block without limit again: data sent 300 ms
   * later is what ends the wait. */
  set_timeout(tcp, SO_RCVTIMEO, 0);
  pthread_t late;
  CHECK_RC(pthread_create(&late, NULL, send_late, &peer), 0);
  int64_t t0 = mono_ns();
  CHECK_EQ(recv(tcp, &ch, 1, 0), 1);
  int64_t ms = (mono_ns() - t0) / 1000000;
  printf("timeout cleared: received '%c' %s\n", ch, ms >= 250 ? "after the late send" : "EARLY");
  CHECK_RC(pthread_join(late, NULL), 0);

  run_case("unix recv, timeout set before the first thread", early[0], 0);
  for (;;) {
    char block2[4096] = {0};
    if (send(early[1], block2, sizeof block2, MSG_DONTWAIT) < 0) {
      CHECK_EQ(errno, EAGAIN);
      break;
    }
  }
  run_case("unix send (full), timeout set before the first thread", early[1], 4);
  ticking = 0;
  CHECK_RC(pthread_join(tick, NULL), 0);
  report_os_threads();
  return 0;
}
