/* The kernel's O_NONBLOCK is only ever what the program set, even while threads are parked on
 * the descriptors: fcntl(F_GETFL), /proc/self/fdinfo and a process that receives a descriptor
 * over SCM_RIGHTS all see what they would natively. A descriptor the program makes
 * non-blocking itself gives EAGAIN, and a blocking one keeps blocking semantics. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

/* O_NONBLOCK as /proc/self/fdinfo shows it (octal "flags:" line), or -1. */
static int fdinfo_nonblocking(int fd) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  int result = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long flags;
    if (sscanf(line, "flags: %lo", &flags) == 1) result = (flags & O_NONBLOCK) != 0;
  }
  fclose(f);
  return result;
}

static void report(const char* what, int fd) {
  printf("%s: F_GETFL nonblocking=%d fdinfo nonblocking=%d\n", what,
         (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, fdinfo_nonblocking(fd));
}

static void* read_one(void* arg) {
  char c;
  ssize_t n = read(*(int*)arg, &c, 1);
  return (void*)(intptr_t)n;
}

/* One byte with room for one descriptor in SCM_RIGHTS, as sent and as received. */
struct fd_message {
  char byte;
  struct iovec iov;
  union {
    struct cmsghdr h;
    char space[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr m;
};

static void fd_message_init(struct fd_message* f) {
  memset(f, 0, sizeof *f);
  f->byte = 'f';
  f->iov.iov_base = &f->byte;
  f->iov.iov_len = 1;
  f->m.msg_iov = &f->iov;
  f->m.msg_iovlen = 1;
  f->m.msg_control = f->control.space;
  f->m.msg_controllen = sizeof f->control.space;
}

/* Sends `fd` over `sock`; the receiving child reports the flags it sees, with the raw system
 * call (the child runs under the preload too; this shows the kernel's answer). */
static void send_descriptor(int sock, int fd) {
  struct fd_message f;
  fd_message_init(&f);
  struct cmsghdr* c = CMSG_FIRSTHDR(&f.m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  CHECK_EQ(sendmsg(sock, &f.m, 0), 1);
}

static int receive_descriptor(int sock) {
  struct fd_message f;
  fd_message_init(&f);
  CHECK_EQ(recvmsg(sock, &f.m, 0), 1);
  int fd;
  memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&f.m)), sizeof fd);
  return fd;
}

static void* nothing(void* arg) { return arg; }

int main(void) {
  pthread_t first;  /* a threaded program from the start, as the ones that met this were */
  pthread_create(&first, NULL, nothing, NULL);
  pthread_join(first, NULL);
  int p[2], sv[2], channel[2];
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, channel), 0);

  /* Threads parked in read on the pipe and on the socket while we look. */
  pthread_t pipe_reader, socket_reader;
  pthread_create(&pipe_reader, NULL, read_one, &p[0]);
  pthread_create(&socket_reader, NULL, read_one, &sv[0]);
  usleep(50000);
  report("pipe read end, a thread parked on it", p[0]);
  report("socket, a thread parked on it", sv[0]);

  pid_t child = fork();
  if (child == 0) {
    int got = receive_descriptor(channel[1]);
    long flags = syscall(SYS_fcntl, got, F_GETFL);
    printf("receiver: nonblocking=%d\n", (flags & O_NONBLOCK) != 0);
    fflush(stdout);
    _exit(0);
  }
  send_descriptor(channel[0], p[0]);
  int status;
  CHECK_EQ(waitpid(child, &status, 0), child);

  CHECK_EQ(write(p[1], "x", 1), 1);
  CHECK_EQ(write(sv[1], "y", 1), 1);
  void* n;
  pthread_join(pipe_reader, &n);
  printf("pipe reader got %ld byte\n", (long)(intptr_t)n);
  pthread_join(socket_reader, &n);
  printf("socket reader got %ld byte\n", (long)(intptr_t)n);
  report("pipe read end afterwards", p[0]);

  /* The program's own O_NONBLOCK: EAGAIN at once, and the flag reads back. */
  CHECK_EQ(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK), 0);
  report("pipe read end, made non-blocking", p[0]);
  char c;
  errno = 0;
  ssize_t r = read(p[0], &c, 1);
  printf("read on the empty non-blocking pipe: %zd %s\n", r, errno_name(errno));
  CHECK_EQ(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_NONBLOCK), 0);
  report("pipe read end, blocking again", p[0]);
  return 0;
}
