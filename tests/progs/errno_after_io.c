/* A blocking call that had to wait and then succeeded leaves errno as it found it, as the
 * kernel does: read, write (a full socket buffer drained by another thread), and connect. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "progs.h"

static int sv[2];

static void* feeder(void* arg) {
  (void)arg;
  usleep(30 * 1000);
  if (write(sv[1], "x", 1) != 1) return NULL;
  usleep(30 * 1000);
  char sink[1 << 16];
  size_t left = 1 << 17;  // exactly what main writes, so its blocked write completes
  while (left > 0) {
    ssize_t n = read(sv[1], sink, left < sizeof sink ? left : sizeof sink);
    if (n <= 0) break;
    left -= (size_t)n;
    usleep(1000);
  }
  return NULL;
}

int main(void) {
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  int small = 4096;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  pthread_t t;
  pthread_create(&t, NULL, feeder, NULL);
  char c;
  errno = 12345;
  ssize_t n = read(sv[0], &c, 1);
  printf("read after a wait: %zd, errno %s\n", n, errno == 12345 ? "untouched" : errno_name(errno));
  static char block[1 << 17];
  memset(block, 'a', sizeof block);
  errno = 12345;
  n = write(sv[0], block, sizeof block);
  printf("write after a wait: %s, errno %s\n", n == (ssize_t)sizeof block ? "all" : "short",
         errno == 12345 ? "untouched" : errno_name(errno));
  pthread_join(t, NULL);
  return 0;
}
