/* Pipes and sockets a threaded program creates and hands to a child process: the child must see
 * blocking descriptors, as natively, because O_NONBLOCK lives in the open file description the
 * two processes share. A child that got a non-blocking stdin would stop at the first empty read
 * (EAGAIN) and one with a non-blocking stdout at the first full pipe. Each case spawns a real
 * command (sh, wc, head, cat) while another thread keeps ticking, pauses so that the pipe runs
 * empty or full, and checks every byte; the last re-executes this program to print the flags
 * its stdin and stdout have in the child. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

extern char** environ;

static volatile int ticking = 1;

static void* ticker(void* arg) {
  (void)arg;
  while (ticking) usleep(5000);
  return NULL;
}

static const char* nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return errno_name(errno);
  return flags & O_NONBLOCK ? "yes" : "no";
}

/* Starts argv with `in` as its stdin and `out` as its stdout (-1: inherited), closing `others`
 * (our own ends) in the child, and SIGPIPE back at its default there. */
static pid_t spawn(char* const argv[], int in, int out, const int* others, int n_others) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (in >= 0) posix_spawn_file_actions_adddup2(&actions, in, 0);
  if (out >= 0) posix_spawn_file_actions_adddup2(&actions, out, 1);
  for (int i = 0; i < n_others; ++i) posix_spawn_file_actions_addclose(&actions, others[i]);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &pipe_signal);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  CHECK_RC(rc, 0);
  return pid;
}

static const char* exit_of(pid_t pid) {
  static char text[64];
  int status;
  if (waitpid(pid, &status, 0) != pid) return errno_name(errno);
  if (WIFEXITED(status)) snprintf(text, sizeof text, "exit %d", WEXITSTATUS(status));
  else snprintf(text, sizeof text, "killed by %s", sigabbrev_np(WTERMSIG(status)));
  return text;
}

/* Writes all of buf, reporting the first failure; returns the bytes written. */
static size_t write_all(int fd, const char* buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, buf + done, len - done);
    if (n < 0) {
      printf("  write: %s after %zu bytes\n", errno_name(errno), done);
      break;
    }
    done += (size_t)n;
  }
  return done;
}

/* Reads until EOF into buf (at most cap bytes); returns the count. */
static size_t read_all(int fd, char* buf, size_t cap) {
  size_t done = 0;
  for (;;) {
    ssize_t n = read(fd, buf + done, cap - done);
    if (n < 0) {
      printf("  read: %s after %zu bytes\n", errno_name(errno), done);
      break;
    }
    if (n == 0 || (done += (size_t)n) == cap) break;
  }
  return done;
}

static char pattern[1 << 18];  /* 256 KiB of varied bytes */
static char received[1 << 20];

enum { kPieces = 8, kPiece = sizeof pattern / kPieces };

/* 256 KiB into a pipe that is wc's stdin, in pieces with pauses: wc waits on an empty pipe. */
static void pipe_to_stdin(void) {
  int in[2], out[2];
  CHECK_EQ(pipe(in), 0);
  CHECK_EQ(pipe(out), 0);
  printf("pipe: O_NONBLOCK in the creator: read end %s, write end %s\n", nonblocking(in[0]),
         nonblocking(in[1]));
  char* argv[] = {"/bin/sh", "-c", "wc -c", NULL};
  int ours[] = {in[1], out[0]};
  pid_t pid = spawn(argv, in[0], out[1], ours, 2);
  close(in[0]);
  close(out[1]);
  size_t written = 0;
  for (int i = 0; i < kPieces; ++i) {
    usleep(20000);
    written += write_all(in[1], pattern + i * kPiece, kPiece);
  }
  close(in[1]);
  char line[64] = "";
  size_t n = read_all(out[0], line, sizeof line - 1);
  line[n] = '\0';
  close(out[0]);
  printf("pipe to wc's stdin: wrote %zu, wc counted %ld, %s\n", written, atol(line),
         exit_of(pid));
}

/* head writes 1 MiB into a pipe we only start reading after a pause: head waits on a full pipe. */
static void pipe_from_stdout(void) {
  int out[2];
  CHECK_EQ(pipe(out), 0);
  char* argv[] = {"/bin/sh", "-c", "head -c 1048576 /dev/zero", NULL};
  pid_t pid = spawn(argv, -1, out[1], &out[0], 1);
  close(out[1]);
  usleep(100000);
  size_t n = read_all(out[0], received, sizeof received);
  close(out[0]);
  size_t zeros = 0;
  while (zeros < n && received[zeros] == 0) ++zeros;
  printf("pipe from head's stdout: read %zu of 1048576 bytes, all zero: %s, %s\n", n,
         zeros == n ? "yes" : "no", exit_of(pid));
}

static int socket_ends[2];

static void* feed_socket(void* arg) {
  (void)arg;
  for (int i = 0; i < kPieces; ++i) {
    usleep(20000);
    write_all(socket_ends[0], pattern + i * kPiece, kPiece);
  }
  shutdown(socket_ends[0], SHUT_WR);
  return NULL;
}

/* cat with one end of a socketpair as both stdin and stdout echoes 256 KiB fed with pauses. */
static void socket_through_cat(void) {
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, socket_ends), 0);
  printf("socketpair: O_NONBLOCK in the creator: %s, %s\n", nonblocking(socket_ends[0]),
         nonblocking(socket_ends[1]));
  char* argv[] = {"/bin/cat", NULL};
  pid_t pid = spawn(argv, socket_ends[1], socket_ends[1], &socket_ends[0], 1);
  close(socket_ends[1]);
  pthread_t feeder;
  CHECK_RC(pthread_create(&feeder, NULL, feed_socket, NULL), 0);
  size_t n = read_all(socket_ends[0], received, sizeof received);
  CHECK_RC(pthread_join(feeder, NULL), 0);
  close(socket_ends[0]);
  printf("socketpair through cat: %zu of %zu bytes back, identical: %s, %s\n", n,
         sizeof pattern, n == sizeof pattern && memcmp(received, pattern, n) == 0 ? "yes" : "no",
         exit_of(pid));
}

/* This program again, as the child, with a new pipe as stdin and a new socket as stdout. */
static void flags_in_child(void) {
  int in[2], sv[2];
  CHECK_EQ(pipe(in), 0);
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  CHECK_EQ(len > 0, 1);
  self[len] = '\0';
  char* argv[] = {self, "report-flags", NULL};
  int ours[] = {in[1], sv[0]};
  pid_t pid = spawn(argv, in[0], sv[1], ours, 2);
  close(in[0]);
  close(sv[1]);
  char line[128] = "";
  size_t n = read_all(sv[0], line, sizeof line - 1);
  line[n] = '\0';
  close(in[1]);
  close(sv[0]);
  printf("in the child: %s", n ? line : "(nothing)\n");
  printf("child: %s\n", exit_of(pid));
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "report-flags") == 0) {
    printf("O_NONBLOCK on stdin (a pipe): %s, on stdout (a socket): %s\n", nonblocking(0),
           nonblocking(1));
    return 0;
  }
  /* A child that dies early shows as EPIPE in our output rather than as our death. */
  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < sizeof pattern; ++i) pattern[i] = (char)(i * 131 + (i >> 9));
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
  pipe_to_stdin();
  pipe_from_stdout();
  socket_through_cat();
  flags_in_child();
  ticking = 0;
  CHECK_RC(pthread_join(t, NULL), 0);
  return 0;
}
