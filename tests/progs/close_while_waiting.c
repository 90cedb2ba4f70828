/* A thread blocked in read() on a pipe, a UNIX socket or a TCP socket while another thread
 * closes that descriptor. greenrun promises EBADF at once (the requirement). Linux does
 * NOT do that natively: the read keeps the open file alive and stays blocked until data (or a
 * shutdown) arrives, so this is not a differential test. Stdout holds only what both agree on;
 * the outcome goes to PROPERTY lines, and meson.build asserts `<kind>_ebadf == 1` and
 * `<kind>_woke_on_close == 1` under the preload only. Natively the program writes one byte to
 * the peer 200 ms after the close, which ends the read, and reports 0 for both. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

struct blocked_read {
  int fd;
  ssize_t result;
  int error;
  volatile int done;
  char byte;
};

static void* reader(void* arg) {
  struct blocked_read* b = arg;
  note_os_threads();
  errno = 0;
  b->result = read(b->fd, &b->byte, 1);
  b->error = errno;
  __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static void tcp_pair(int fds[2]) {
  struct sockaddr_in sa;
  int listener = loopback_listener(0, 1, &sa);
  fds[1] = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(fds[1], (struct sockaddr*)&sa, sizeof sa), 0);
  fds[0] = accept(listener, NULL, NULL);
  CHECK_EQ(fds[0] >= 0, 1);
  CHECK_EQ(close(listener), 0);
}

/* fds[0] is read by the blocked thread and closed under it; fds[1] is its peer. */
static void close_under_reader(const char* kind, int fds[2]) {
  struct blocked_read b = {.fd = fds[0]};
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, reader, &b), 0);
  usleep(100 * 1000);
  int blocked = !__atomic_load_n(&b.done, __ATOMIC_ACQUIRE);
  printf("%s: reader blocked before the close: %s\n", kind, blocked ? "yes" : "no");
  CHECK_EQ(close(fds[0]), 0);
  usleep(200 * 1000);
  int woke_on_close = __atomic_load_n(&b.done, __ATOMIC_ACQUIRE);
  /* Natively the read is still blocked: give it a byte so that the program can end. */
  if (!woke_on_close) CHECK_EQ(write(fds[1], "z", 1), 1);
  CHECK_RC(pthread_join(t, NULL), 0);
  /* What happened, for the log: natively "returned 1 ('z')", under greenrun "-1 EBADF". */
  fprintf(stderr, "%s: read returned %zd, errno %s%s\n", kind, b.result,
          errno_name(b.result < 0 ? b.error : 0), b.result == 1 ? " (the late byte)" : "");
  char key[64];
  snprintf(key, sizeof key, "%s_ebadf", kind);
  property(key, b.result == -1 && b.error == EBADF);
  snprintf(key, sizeof key, "%s_woke_on_close", kind);
  property(key, woke_on_close);
  CHECK_EQ(close(fds[1]), 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  close_under_reader("pipe", fds);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  close_under_reader("unix", fds);
  tcp_pair(fds);
  close_under_reader("tcp", fds);
  report_os_threads();
  return 0;
}
