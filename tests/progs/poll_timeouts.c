/* Every multiplexing call times out after no less than its timeout and returns 0 with nothing
 * reported (revents and fd sets cleared, select's timeout counted down to zero); with no
 * descriptors poll, ppoll and select are sleeps; malformed timeouts give EINVAL. A second
 * thread stays alive throughout, so that under the preload these calls park: it must keep
 * ticking while they wait (the stalled_waits property). */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

enum { kTimeoutMs = 30 };

/* The companion thread counts its 5 ms naps; a wait it could not tick through blocked the
 * OS thread instead of parking. */
static volatile long ticks;
static long ticks_at_start;
static int stalled_waits;

static int64_t begin(void) {
  ticks_at_start = ticks;
  return mono_ns();
}

/* Prints "<what>: <result> not early" or how early it came back. */
static void judge(const char* what, int rc, int64_t start, long timeout_ms) {
  int e = errno;
  if (timeout_ms >= kTimeoutMs && ticks == ticks_at_start) ++stalled_waits;
  int64_t early = start + timeout_ms * 1000000L - mono_ns();
  char result[64];
  if (rc < 0)
    snprintf(result, sizeof result, "-1 %s", errno_name(e));
  else
    snprintf(result, sizeof result, "%d", rc);
  if (early <= 0)
    printf("%-44s %s not early\n", what, result);
  else
    printf("%-44s %s EARLY by %lld us\n", what, result, (long long)early / 1000);
}

static void result(const char* what, int rc) {
  printf("%-44s %d %s\n", what, rc, rc < 0 ? errno_name(errno) : "");
}

/* A pipe whose write end has no room left (and whose read end has no data). */
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

static volatile int stop_companion;
static void* companion(void* arg) {
  (void)arg;
  note_os_threads();
  while (!stop_companion) {
    usleep(5000);
    ++ticks;
  }
  return NULL;
}

static void poll_family(int rd, int full_wr) {
  struct pollfd fds[2] = {{rd, POLLIN | POLLPRI | POLLRDHUP, -1}, {full_wr, POLLOUT, -1}};
  int64_t t = begin();
  int rc = poll(fds, 2, kTimeoutMs);
  judge("poll(empty pipe, full pipe)", rc, t, kTimeoutMs);
  printf("%-44s %#x %#x\n", "  revents", fds[0].revents, fds[1].revents);

  fds[0].revents = fds[1].revents = -1;
  t = begin();
  rc = poll(fds, 2, 0);
  judge("poll(..., 0)", rc, t, 0);
  printf("%-44s %#x %#x\n", "  revents", fds[0].revents, fds[1].revents);

  struct timespec ts = {0, kTimeoutMs * 1000000L};
  fds[0].revents = fds[1].revents = -1;
  t = begin();
  rc = ppoll(fds, 2, &ts, NULL);
  judge("ppoll(NULL mask)", rc, t, kTimeoutMs);
  printf("%-44s %#x %#x; timeout left as %ld.%09ld\n", "  revents", fds[0].revents,
         fds[1].revents, (long)ts.tv_sec, ts.tv_nsec);

  sigset_t mask;
  sigemptyset(&mask);
  t = begin();
  rc = ppoll(fds, 2, &ts, &mask);
  judge("ppoll(empty mask)", rc, t, kTimeoutMs);

  struct timespec bad = {0, 1000000000};
  result("ppoll(tv_nsec 1e9)", ppoll(fds, 2, &bad, NULL));
  bad = (struct timespec){-1, 0};
  result("ppoll(tv_sec -1)", ppoll(fds, 2, &bad, NULL));
  /* the timeout is checked before the descriptors */
  struct pollfd none = {-1, POLLIN, 0};
  result("ppoll(fd -1 only, tv_sec -1)", ppoll(&none, 1, &bad, NULL));

  t = begin();
  rc = poll(&none, 1, kTimeoutMs);
  judge("poll(fd -1 only)", rc, t, kTimeoutMs);
  printf("%-44s %#x\n", "  revents", none.revents);

  /* No descriptors: sleeps. */
  t = begin();
  rc = poll(NULL, 0, kTimeoutMs);
  judge("poll(NULL, 0)", rc, t, kTimeoutMs);
  t = begin();
  rc = ppoll(NULL, 0, &ts, NULL);
  judge("ppoll(NULL, 0)", rc, t, kTimeoutMs);
  t = begin();
  rc = poll(NULL, 0, 0);
  judge("poll(NULL, 0, 0)", rc, t, 0);

  /* events 0: only POLLHUP/POLLERR could wake it, and neither comes */
  struct pollfd quiet = {rd, 0, -1};
  t = begin();
  rc = poll(&quiet, 1, kTimeoutMs);
  judge("poll(events 0)", rc, t, kTimeoutMs);
  printf("%-44s %#x\n", "  revents", quiet.revents);
}

static void print_sets(const char* what, int nfds, fd_set* r, fd_set* w, fd_set* x) {
  int n = 0;
  for (int fd = 0; fd < nfds; ++fd)
    n += (r && FD_ISSET(fd, r)) + (w && FD_ISSET(fd, w)) + (x && FD_ISSET(fd, x));
  printf("%-44s %d bits set\n", what, n);
}

static void select_family(int rd, int full_wr) {
  int nfds = (rd > full_wr ? rd : full_wr) + 1;
  fd_set r, w, x;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_ZERO(&x);
  FD_SET(rd, &r);
  FD_SET(full_wr, &w);
  FD_SET(rd, &x);
  struct timeval tv = {0, kTimeoutMs * 1000};
  int64_t t = begin();
  int rc = select(nfds, &r, &w, &x, &tv);
  judge("select(empty pipe, full pipe)", rc, t, kTimeoutMs);
  print_sets("  sets", nfds, &r, &w, &x);
  printf("%-44s %ld.%06ld\n", "  timeout left", (long)tv.tv_sec, (long)tv.tv_usec);

  /* No descriptors: a sleep, and the time left is written back too. */
  tv = (struct timeval){0, kTimeoutMs * 1000};
  t = begin();
  rc = select(0, NULL, NULL, NULL, &tv);
  judge("select(0, NULL, NULL, NULL)", rc, t, kTimeoutMs);
  printf("%-44s %ld.%06ld\n", "  timeout left", (long)tv.tv_sec, (long)tv.tv_usec);

  FD_SET(rd, &r);
  tv = (struct timeval){0, 0};
  t = begin();
  rc = select(nfds, &r, NULL, NULL, &tv);
  judge("select(..., {0, 0})", rc, t, 0);
  print_sets("  sets", nfds, &r, NULL, NULL);

  /* Malformed timeouts: EINVAL before anything else, and the timeout is left alone. */
  FD_SET(rd, &r);
  tv = (struct timeval){0, -1};
  result("select(tv_usec -1)", select(nfds, &r, NULL, NULL, &tv));
  printf("%-44s %ld s %ld us\n", "  timeout after", (long)tv.tv_sec, (long)tv.tv_usec);
  print_sets("  sets", nfds, &r, NULL, NULL);
  tv = (struct timeval){-1, 0};
  result("select(tv_sec -1)", select(nfds, &r, NULL, NULL, &tv));
  tv = (struct timeval){-1, 0};
  result("select(nfds -1, tv_sec -1)", select(-1, &r, NULL, NULL, &tv));
  tv = (struct timeval){0, 1000};
  result("select(nfds -1)", select(-1, &r, NULL, NULL, &tv));

  FD_SET(rd, &r);
  FD_SET(full_wr, &w);
  struct timespec ts = {0, kTimeoutMs * 1000000L};
  t = begin();
  rc = pselect(nfds, &r, &w, NULL, &ts, NULL);
  judge("pselect(empty pipe, full pipe)", rc, t, kTimeoutMs);
  print_sets("  sets", nfds, &r, &w, NULL);
  printf("%-44s %ld.%09ld\n", "  timeout after (unchanged)", (long)ts.tv_sec, ts.tv_nsec);

  sigset_t mask;
  sigemptyset(&mask);
  FD_SET(rd, &r);
  t = begin();
  rc = pselect(nfds, &r, NULL, NULL, &ts, &mask);
  judge("pselect(empty mask)", rc, t, kTimeoutMs);

  struct timespec bad = {0, 1000000000};
  result("pselect(tv_nsec 1e9)", pselect(nfds, &r, NULL, NULL, &bad, NULL));
  bad = (struct timespec){0, -1};
  result("pselect(tv_nsec -1)", pselect(nfds, &r, NULL, NULL, &bad, NULL));
}

static void epoll_family(int rd, int full_wr) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  CHECK_EQ(ep >= 0, 1);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = rd};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, rd, &ev), 0);
  ev = (struct epoll_event){.events = EPOLLOUT | EPOLLET, .data.fd = full_wr};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, full_wr, &ev), 0);
  struct epoll_event out[4];

  int64_t t = begin();
  int rc = epoll_wait(ep, out, 4, kTimeoutMs);
  judge("epoll_wait", rc, t, kTimeoutMs);
  t = begin();
  rc = epoll_wait(ep, out, 4, 0);
  judge("epoll_wait(..., 0)", rc, t, 0);
  sigset_t mask;
  sigemptyset(&mask);
  t = begin();
  rc = epoll_pwait(ep, out, 4, kTimeoutMs, &mask);
  judge("epoll_pwait(empty mask)", rc, t, kTimeoutMs);
  struct timespec ts = {0, kTimeoutMs * 1000000L};
  t = begin();
  rc = epoll_pwait2(ep, out, 4, &ts, NULL);
  judge("epoll_pwait2", rc, t, kTimeoutMs);
  struct timespec bad = {0, 1000000000};
  result("epoll_pwait2(tv_nsec 1e9)", epoll_pwait2(ep, out, 4, &bad, NULL));
  result("epoll_wait(maxevents 0)", epoll_wait(ep, out, 0, kTimeoutMs));
  result("epoll_wait(not an epoll fd)", epoll_wait(rd, out, 4, kTimeoutMs));
  result("epoll_wait(fd -1)", epoll_wait(-1, out, 4, kTimeoutMs));
  /* An epoll instance inside another one, as an event loop in a library might nest them. */
  int outer = epoll_create1(EPOLL_CLOEXEC);
  ev = (struct epoll_event){.events = EPOLLIN, .data.fd = ep};
  CHECK_EQ(epoll_ctl(outer, EPOLL_CTL_ADD, ep, &ev), 0);
  t = begin();
  rc = epoll_wait(outer, out, 4, kTimeoutMs);
  judge("epoll_wait(nested, nothing ready)", rc, t, kTimeoutMs);
  close(outer);
  close(ep);
}

int main(void) {
  pthread_t comp;
  CHECK_RC(pthread_create(&comp, NULL, companion, NULL), 0);

  int p[2], full[2];
  CHECK_EQ(pipe(p), 0);
  full_pipe(full);
  poll_family(p[0], full[1]);
  select_family(p[0], full[1]);
  epoll_family(p[0], full[1]);

  stop_companion = 1;
  CHECK_RC(pthread_join(comp, NULL), 0);
  report_os_threads();
  property("stalled_waits", stalled_waits);
  return 0;
}
