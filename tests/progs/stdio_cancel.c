/* pthread_cancel of threads waiting for input: in read() on a pipe, in fgets on an fdopen'ed
 * pipe and in fgets on an fdopen'ed socket. Each wait is a cancellation point: the thread
 * unwinds from it (its cleanup handler runs) instead of returning an error, and the FILE stays
 * usable afterwards. */
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "progs.h"

static int pipe_fds[2], sockets[2];
static FILE* pipe_file;
static FILE* socket_file;
static int cleanups;

static void count_cleanup(void* arg) {
  (void)arg;
  ++cleanups;
}

static void* read_pipe(void* arg) {
  (void)arg;
  char c;
  pthread_cleanup_push(count_cleanup, NULL);
  ssize_t r = read(pipe_fds[0], &c, 1);
  printf("read returned %zd (%s) instead of being cancelled\n", r, errno_name(errno));
  pthread_cleanup_pop(0);
  return NULL;
}

static void* fgets_file(void* arg) {
  FILE* f = arg;
  char buf[32];
  pthread_cleanup_push(count_cleanup, NULL);
  char* r = fgets(buf, sizeof buf, f);
  printf("fgets returned %s (%s) instead of being cancelled\n", r ? "a line" : "NULL",
         errno_name(errno));
  pthread_cleanup_pop(0);
  return NULL;
}

static void* nothing(void* arg) { return arg; }

static void cancel_and_join(pthread_t t, const char* what) {
  usleep(50000); /* let it start waiting */
  note_os_threads();
  CHECK_RC(pthread_cancel(t), 0);
  void* result;
  CHECK_RC(pthread_join(t, &result), 0);
  printf("%s: %s\n", what, result == PTHREAD_CANCELED ? "cancelled" : "returned");
}

int main(void) {
  pthread_t t;
  /* A first thread, so that what follows is made cooperative under the preload. */
  CHECK_RC(pthread_create(&t, NULL, nothing, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  CHECK_EQ(pipe(pipe_fds), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sockets), 0);
  pipe_file = fdopen(pipe_fds[0], "r");
  socket_file = fdopen(sockets[0], "r");
  CHECK_EQ(pipe_file != NULL && socket_file != NULL, 1);

  CHECK_RC(pthread_create(&t, NULL, read_pipe, NULL), 0);
  cancel_and_join(t, "read on a pipe");
  CHECK_RC(pthread_create(&t, NULL, fgets_file, pipe_file), 0);
  cancel_and_join(t, "fgets on an fdopen'ed pipe");
  CHECK_RC(pthread_create(&t, NULL, fgets_file, socket_file), 0);
  cancel_and_join(t, "fgets on an fdopen'ed socket");
  printf("cleanup handlers run: %d\n", cleanups);

  /* The FILEs (and their locks) are fine after the cancelled reads. */
  char buf[32];
  CHECK_EQ(write(pipe_fds[1], "after\n", 6), 6);
  CHECK_EQ(fgets(buf, sizeof buf, pipe_file) != NULL, 1);
  printf("pipe FILE afterwards: %s", buf);
  CHECK_EQ(write(sockets[1], "after\n", 6), 6);
  CHECK_EQ(fgets(buf, sizeof buf, socket_file) != NULL, 1);
  printf("socket FILE afterwards: %s", buf);
  CHECK_EQ(fclose(pipe_file), 0);
  CHECK_EQ(fclose(socket_file), 0);
  report_os_threads();
  return 0;
}
