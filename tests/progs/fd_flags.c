/* fd_flags LABEL FD...: prints "LABEL: fd 0 blocking, fd 1 O_NONBLOCK, ..." from
 * fcntl(F_GETFL). A helper of inherited_stdio_flags.sh (never run under the preload). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: fd_flags LABEL FD...\n");
    return 2;
  }
  printf("%s:", argv[1]);
  for (int i = 2; i < argc; ++i) {
    int fd = atoi(argv[i]);
    int fl = fcntl(fd, F_GETFL);
    printf("%s fd %d %s", i > 2 ? "," : "", fd,
           fl < 0 ? strerror(errno) : (fl & O_NONBLOCK) ? "O_NONBLOCK" : "blocking");
  }
  printf("\n");
  return 0;
}
