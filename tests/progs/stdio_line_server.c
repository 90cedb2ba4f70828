/* A line server in the classic style: a thread per connection, the socket wrapped with fdopen
 * (one FILE to read with fgets, one on a dup to answer with fprintf + fflush). Several clients
 * connect and send nothing while active clients keep sending lines and checking the replies;
 * then everything is closed. Idle readers must not stop the others from being served.
 * Also: fdopen keeps fileno, the program's O_NONBLOCK view and O_APPEND as natively, reports
 * glibc's errors, and fclose closes the descriptor exactly once. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "progs.h"

enum { kIdle = 8, kActive = 8, kLines = 50 };

static int listener;
static struct sockaddr_in address;
static int lines_served, connections_ended;
static pthread_mutex_t counts_lock = PTHREAD_MUTEX_INITIALIZER;

static void* serve(void* arg) {
  int fd = (int)(intptr_t)arg;
  FILE* in = fdopen(fd, "r");
  FILE* out = fdopen(dup(fd), "w");
  if (!in || !out) {
    fprintf(stderr, "fdopen: %s\n", errno_name(errno));
    exit(99);
  }
  CHECK_EQ(fileno(in), fd);
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, in)) {
    ++n;
    for (char* p = line; *p; ++p)
      if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    fprintf(out, "%d %s", n, line);
    CHECK_EQ(fflush(out), 0);
  }
  CHECK_EQ(ferror(in), 0);
  note_os_threads();
  CHECK_EQ(fclose(in), 0);
  CHECK_EQ(fclose(out), 0);
  pthread_mutex_lock(&counts_lock);
  lines_served += n;
  ++connections_ended;
  pthread_mutex_unlock(&counts_lock);
  return NULL;
}

static void* accept_all(void* arg) {
  (void)arg;
  pthread_t servers[kIdle + kActive];
  for (int i = 0; i < kIdle + kActive; ++i) {
    int fd = accept(listener, NULL, NULL);
    CHECK_EQ(fd >= 0, 1);
    CHECK_RC(pthread_create(&servers[i], NULL, serve, (void*)(intptr_t)fd), 0);
  }
  for (int i = 0; i < kIdle + kActive; ++i) CHECK_RC(pthread_join(servers[i], NULL), 0);
  return NULL;
}

static int connect_to_server(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(fd >= 0, 1);
  CHECK_EQ(connect(fd, (struct sockaddr*)&address, sizeof address), 0);
  return fd;
}

static void* active_client(void* arg) {
  int id = (int)(intptr_t)arg;
  int fd = connect_to_server();
  FILE* in = fdopen(fd, "r");
  FILE* out = fdopen(dup(fd), "w");
  CHECK_EQ(in != NULL && out != NULL, 1);
  char line[256], want[256];
  for (int i = 1; i <= kLines; ++i) {
    fprintf(out, "client %d line %d\n", id, i);
    CHECK_EQ(fflush(out), 0);
    if (!fgets(line, sizeof line, in)) {
      fprintf(stderr, "client %d: no reply to line %d (%s)\n", id, i, errno_name(errno));
      exit(99);
    }
    snprintf(want, sizeof want, "%d CLIENT %d LINE %d\n", i, id, i);
    if (strcmp(line, want) != 0) {
      fprintf(stderr, "client %d: got %s, want %s", id, line, want);
      exit(99);
    }
  }
  note_os_threads();
  CHECK_EQ(fclose(out), 0);
  CHECK_EQ(fclose(in), 0);
  return (void*)(intptr_t)kLines;
}

/* fdopen and fclose on one end of a socketpair, on a pipe, and fdopen's errors. */
static void check_fdopen_contract(void) {
  int sv[2];
  CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  CHECK_EQ(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
  FILE* f = fdopen(sv[0], "r+");
  CHECK_EQ(f != NULL, 1);
  CHECK_EQ(fileno(f), sv[0]);
  CHECK_EQ(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
  CHECK_EQ(fprintf(f, "ping\n"), 5);
  CHECK_EQ(fflush(f), 0);
  char buf[16];
  CHECK_EQ(read(sv[1], buf, sizeof buf), 5);
  CHECK_EQ(write(sv[1], "pong\n", 5), 5);
  CHECK_EQ(fgets(buf, sizeof buf, f) != NULL, 1);
  CHECK_EQ(strcmp(buf, "pong\n"), 0);
  errno = 0;
  CHECK_EQ(ftell(f), -1);
  printf("ftell on a socket FILE: %s\n", errno_name(errno));
  CHECK_EQ(fclose(f), 0);
  errno = 0;
  CHECK_EQ(fcntl(sv[0], F_GETFD), -1);
  printf("after fclose: %s\n", errno_name(errno));
  /* A non-blocking socket stays non-blocking for the program, and "a" adds O_APPEND. */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  f = fdopen(s, "a");
  CHECK_EQ(f != NULL, 1);
  CHECK_EQ(fcntl(s, F_GETFL) & (O_NONBLOCK | O_APPEND), O_NONBLOCK | O_APPEND);
  CHECK_EQ(fclose(f), 0);
  /* glibc's checks: a mode the descriptor's access mode does not allow, a bad mode. */
  int p[2];
  CHECK_EQ(pipe(p), 0);
  errno = 0;
  CHECK_EQ(fdopen(p[0], "w") == NULL, 1);
  printf("fdopen(read end, \"w\"): %s\n", errno_name(errno));
  errno = 0;
  CHECK_EQ(fdopen(p[0], "q") == NULL, 1);
  printf("fdopen(read end, \"q\"): %s\n", errno_name(errno));
  f = fdopen(p[0], "r");
  CHECK_EQ(write(p[1], "x", 1), 1);
  close(p[1]);
  CHECK_EQ(fgetc(f), 'x');
  CHECK_EQ(fgetc(f), EOF);
  CHECK_EQ(feof(f) != 0, 1);
  CHECK_EQ(fclose(f), 0);
  close(sv[1]);
}

int main(void) {
  listener = loopback_listener(0, 64, &address);

  pthread_t acceptor;
  CHECK_RC(pthread_create(&acceptor, NULL, accept_all, NULL), 0);
  check_fdopen_contract();  /* with a thread running: the descriptors are made cooperative */
  int idle[kIdle];
  for (int i = 0; i < kIdle; ++i) idle[i] = connect_to_server();

  pthread_t clients[kActive];
  for (int i = 0; i < kActive; ++i)
    CHECK_RC(pthread_create(&clients[i], NULL, active_client, (void*)(intptr_t)i), 0);
  long replies = 0;
  for (int i = 0; i < kActive; ++i) {
    void* r;
    CHECK_RC(pthread_join(clients[i], &r), 0);
    replies += (intptr_t)r;
  }
  printf("active clients: %d, replies checked: %ld\n", kActive, replies);

  for (int i = 0; i < kIdle; ++i) CHECK_EQ(close(idle[i]), 0);
  CHECK_RC(pthread_join(acceptor, NULL), 0);
  printf("connections ended: %d, lines served: %d\n", connections_ended, lines_served);
  close(listener);
  report_os_threads();
  return 0;
}
