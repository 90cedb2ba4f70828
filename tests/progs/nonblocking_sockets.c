/* A program that asks for non-blocking descriptors sees EAGAIN exactly as natively, and
 * fcntl(F_GETFL) shows O_NONBLOCK only where the program set it (greenrun makes the sockets it
 * waits on non-blocking in the kernel, which the program must never see). Non-blocking by
 * fcntl, by SOCK_NONBLOCK, by accept4 flags, by pipe2 and by ioctl(FIONBIO); blocking sockets
 * with MSG_DONTWAIT; accept never inherits O_NONBLOCK; dup shares the flag. Everything runs
 * on a second thread, a green thread under the preload. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char* nonblocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return errno_name(errno);
  return (fl & O_NONBLOCK) ? "O_NONBLOCK" : "blocking";
}

/* "-1 EAGAIN", "5", ...: what a call returned, as the program would see it. */
static const char* outcome(ssize_t r, int e) {
  static char text[64];
  if (r < 0) snprintf(text, sizeof text, "-1 %s", errno_name(e));
  else snprintf(text, sizeof text, "%zd", r);
  return text;
}


static void report(const char* what, ssize_t r) {
  int e = errno;
  printf("%s: %s\n", what, outcome(r, e));
}

static void* body(void* arg) {
  (void)arg;
  char buf[16];
  ssize_t r;

  /* A blocking UNIX pair turned non-blocking with fcntl, then back. */
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  printf("socketpair: %s\n", nonblocking(sv[0]));
  errno = 0;
  r = recv(sv[0], buf, sizeof buf, MSG_DONTWAIT);
  report("blocking socket, recv MSG_DONTWAIT on empty", r);
  printf("after MSG_DONTWAIT: %s\n", nonblocking(sv[0]));
  int fl = fcntl(sv[0], F_GETFL);
  CHECK_EQ(fcntl(sv[0], F_SETFL, fl | O_NONBLOCK), 0);
  printf("after F_SETFL |O_NONBLOCK: %s\n", nonblocking(sv[0]));
  r = recv(sv[0], buf, sizeof buf, 0);
  report("fcntl non-blocking, recv on empty", r);
  r = read(sv[0], buf, sizeof buf);
  report("fcntl non-blocking, read on empty", r);
  CHECK_EQ(write(sv[1], "abc", 3), 3);
  r = recv(sv[0], buf, sizeof buf, 0);
  report("fcntl non-blocking, recv with 3 bytes there", r);
  r = recv(sv[0], buf, sizeof buf, 0);
  report("fcntl non-blocking, recv once drained", r);
  /* dup shares the open file description, and with it the flag. */
  int d = dup(sv[0]);
  printf("dup of the non-blocking socket: %s\n", nonblocking(d));
  r = read(d, buf, sizeof buf);
  report("dup, read on empty", r);
  CHECK_EQ(fcntl(sv[0], F_SETFL, fl & ~O_NONBLOCK), 0);
  printf("after F_SETFL &~O_NONBLOCK: %s (dup: %s)\n", nonblocking(sv[0]), nonblocking(d));
  CHECK_EQ(close(d), 0);
  /* A dup of a blocking socket is blocking too (the kernel flag greenrun set must not show). */
  d = dup(sv[1]);
  printf("dup of a blocking socket: %s\n", nonblocking(d));
  int d2 = dup2(d, 100);
  printf("dup2 of it: %s\n", nonblocking(d2));
  CHECK_EQ(close(d), 0);
  CHECK_EQ(close(d2), 0);
  /* Filling a non-blocking socket: send stops with EAGAIN, as natively. */
  CHECK_EQ(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
  char block[4096] = {0};
  long sent = 0;
  for (;;) {
    r = send(sv[1], block, sizeof block, 0);
    if (r < 0) break;
    sent += r;
  }
  report("non-blocking send until full, last send", r);
  printf("bytes sent before EAGAIN > 0: %s\n", sent > 0 ? "yes" : "no");
  CHECK_EQ(close(sv[0]), 0);
  CHECK_EQ(close(sv[1]), 0);

  /* SOCK_NONBLOCK sockets, accept and accept4. */
  struct sockaddr_in sa;
  int l = loopback_listener(SOCK_NONBLOCK, 8, &sa);
  printf("listener SOCK_NONBLOCK: %s\n", nonblocking(l));
  r = accept(l, NULL, NULL);
  report("non-blocking accept, nothing pending", r);
  r = accept4(l, NULL, NULL, SOCK_NONBLOCK);
  report("non-blocking accept4, nothing pending", r);
  int c1 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  printf("socket SOCK_NONBLOCK: %s\n", nonblocking(c1));
  errno = 0;
  r = connect(c1, (struct sockaddr*)&sa, sizeof sa);
  /* Loopback may finish at once or report EINPROGRESS: both are the kernel's right. */
  printf("non-blocking connect: %s\n",
         r == 0 || errno == EINPROGRESS ? "0 or EINPROGRESS" : outcome(r, errno));
  int c2 = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(c2, (struct sockaddr*)&sa, sizeof sa), 0);
  int c3 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_EQ(connect(c3, (struct sockaddr*)&sa, sizeof sa), 0);
  printf("socket SOCK_CLOEXEC: %s, FD_CLOEXEC %d\n", nonblocking(c3),
         (fcntl(c3, F_GETFD) & FD_CLOEXEC) != 0);
  /* The listener is non-blocking: wait for each connection with a short sleep loop. */
  int a[3];
  int flags[3] = {-1, SOCK_NONBLOCK, SOCK_CLOEXEC};
  const char* names[3] = {"accept", "accept4 SOCK_NONBLOCK", "accept4 SOCK_CLOEXEC"};
  for (int i = 0; i < 3; ++i) {
    for (int tries = 0;; ++tries) {
      a[i] = flags[i] < 0 ? accept(l, NULL, NULL) : accept4(l, NULL, NULL, flags[i]);
      if (a[i] >= 0 || errno != EAGAIN || tries == 1000) break;
      usleep(1000);
    }
    CHECK_EQ(a[i] >= 0, 1);
    printf("%s from a non-blocking listener: %s, FD_CLOEXEC %d\n", names[i], nonblocking(a[i]),
           (fcntl(a[i], F_GETFD) & FD_CLOEXEC) != 0);
  }
  r = recv(a[1], buf, sizeof buf, 0);
  report("accept4 SOCK_NONBLOCK socket, recv on empty", r);
  r = recv(a[0], buf, sizeof buf, MSG_DONTWAIT);
  report("accepted blocking socket, recv MSG_DONTWAIT on empty", r);
  /* A blocking accept on a blocking listener: the program's view stays blocking. */
  int bl = loopback_listener(0, 8, &sa);
  printf("blocking listener: %s\n", nonblocking(bl));
  int c4 = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(c4, (struct sockaddr*)&sa, sizeof sa), 0);
  int a4 = accept(bl, NULL, NULL);
  printf("accept from a blocking listener: %s\n", nonblocking(a4));
  CHECK_EQ(write(c4, "hi", 2), 2);
  r = read(a4, buf, sizeof buf);
  report("blocking read with 2 bytes there", r);

  /* Pipes: pipe2(O_NONBLOCK) and plain pipe. */
  int p[2];
  CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
  printf("pipe2 O_NONBLOCK: %s %s\n", nonblocking(p[0]), nonblocking(p[1]));
  r = read(p[0], buf, sizeof buf);
  report("non-blocking pipe, read on empty", r);
  CHECK_EQ(close(p[0]), 0);
  CHECK_EQ(close(p[1]), 0);
  CHECK_EQ(pipe(p), 0);
  printf("pipe: %s %s\n", nonblocking(p[0]), nonblocking(p[1]));
  CHECK_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
  r = read(p[0], buf, sizeof buf);
  report("pipe made non-blocking with fcntl, read on empty", r);
  CHECK_EQ(close(p[0]), 0);
  CHECK_EQ(close(p[1]), 0);

  /* ioctl(FIONBIO) is the other way to ask for non-blocking. It comes last, since a shim that
   * missed it would park in this recv for good. */
  int on = 1, off = 0;
  CHECK_EQ(ioctl(a4, FIONBIO, &on), 0);
  printf("after ioctl FIONBIO 1: %s\n", nonblocking(a4));
  r = recv(a4, buf, sizeof buf, 0);
  report("FIONBIO non-blocking, recv on empty", r);
  CHECK_EQ(ioctl(a4, FIONBIO, &off), 0);
  printf("after ioctl FIONBIO 0: %s\n", nonblocking(a4));

  /* The flag lives in the open file description: set through one descriptor, it holds for a
   * dup made earlier (natively the read returns EAGAIN; a runtime that keeps the flag per
   * descriptor number parks here for good). */
  int sp[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
  int early = dup(sp[0]);
  CHECK_EQ(fcntl(sp[0], F_SETFL, O_NONBLOCK), 0);
  printf("dup made before F_SETFL O_NONBLOCK on the original: %s\n", nonblocking(early));
  r = read(early, buf, sizeof buf);
  report("that dup, read on empty", r);
  CHECK_EQ(close(early), 0);
  CHECK_EQ(close(sp[0]), 0);
  CHECK_EQ(close(sp[1]), 0);

  int all[] = {l, c1, c2, c3, a[0], a[1], a[2], bl, c4, a4};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) CHECK_EQ(close(all[i]), 0);
  note_os_threads();
  return NULL;
}

int main(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, body, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  report_os_threads();
  return 0;
}
