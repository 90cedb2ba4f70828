/* SO_REUSEPORT as greenrun --workers adds it (GREENRUN_REUSEPORT=1), and as nothing adds it
 * without: each line names a check and its result, so that a run compares as a whole.
 *   no argument: run natively and preloaded without GREENRUN_REUSEPORT; the same lines. A TCP
 *     socket bound to a port reads SO_REUSEPORT 0, and another process cannot bind that port
 *     even with SO_REUSEPORT of its own (the first has none).
 *   "added": run under greenrun --workers. The bound socket (and a dup of it) still reads 0,
 *     as the program left it, yet a second socket with SO_REUSEPORT binds the same port (the
 *     kernel has it on the first). Once the program sets the option itself, it reads what it
 *     set. UDP and port 0 are left alone; a forked child binds with it too, but a program the
 *     worker execs does not.
 *   "child": the exec'd program of "added". */
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static int new_socket(int type, int reuseport) {
  int s = socket(AF_INET, type, 0);
  if (reuseport) setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &reuseport, sizeof reuseport);
  return s;
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  return a;
}

/* bind's errno name ("0" on success). */
static const char* bind_to(int s, int port) {
  struct sockaddr_in a = loopback(port);
  return errno_name(bind(s, (struct sockaddr*)&a, sizeof a) == 0 ? 0 : errno);
}

static int reuseport_of(int s) {
  int value = -1;
  socklen_t size = sizeof value;
  if (getsockopt(s, SOL_SOCKET, SO_REUSEPORT, &value, &size) != 0) return -errno;
  return value;
}

/* A port no socket holds now (the kernel's pick for port 0). */
static int free_port(int type) {
  int s = socket(AF_INET, type, 0);
  struct sockaddr_in a = loopback(0);
  socklen_t size = sizeof a;
  bind(s, (struct sockaddr*)&a, sizeof a);
  getsockname(s, (struct sockaddr*)&a, &size);
  close(s);
  return ntohs(a.sin_port);
}

static int bound_port(int s) {
  struct sockaddr_in a;
  socklen_t size = sizeof a;
  getsockname(s, (struct sockaddr*)&a, &size);
  return ntohs(a.sin_port);
}

/* In another process: can a socket with SO_REUSEPORT of its own bind `port`? */
static void from_another_process(const char* what, int port) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    printf("%s: %s\n", what, bind_to(new_socket(SOCK_STREAM, 1), port));
    _exit(0);
  }
  waitpid(pid, NULL, 0);
}

static int not_added(void) {
  int port = free_port(SOCK_STREAM);
  int s = new_socket(SOCK_STREAM, 0);
  printf("bind: %s\n", bind_to(s, port));
  listen(s, 8);
  printf("SO_REUSEPORT after bind: %d\n", reuseport_of(s));
  from_another_process("another process with SO_REUSEPORT binds the port", port);
  int own = new_socket(SOCK_STREAM, 1);
  printf("set by the program, before bind: %d\n", reuseport_of(own));
  printf("bind: %s\n", bind_to(own, free_port(SOCK_STREAM)));
  printf("set by the program, after bind: %d\n", reuseport_of(own));
  return 0;
}

static int added(const char* self) {
  int port = free_port(SOCK_STREAM);
  int s = new_socket(SOCK_STREAM, 0);
  printf("bind: %s\n", bind_to(s, port));
  listen(s, 8);
  printf("SO_REUSEPORT after bind: %d\n", reuseport_of(s));
  printf("SO_REUSEPORT of a dup: %d\n", reuseport_of(dup(s)));
  printf("a second socket with SO_REUSEPORT binds the port: %s\n",
         bind_to(new_socket(SOCK_STREAM, 1), port));
  from_another_process("another process with SO_REUSEPORT binds the port", port);
  int one = 1, zero = 0;
  setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  printf("after the program sets 1: %d\n", reuseport_of(s));
  setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &zero, sizeof zero);
  printf("after the program sets 0: %d\n", reuseport_of(s));

  int udp_port = free_port(SOCK_DGRAM);
  int u = new_socket(SOCK_DGRAM, 0);
  printf("udp bind: %s\n", bind_to(u, udp_port));
  printf("udp: a second socket with SO_REUSEPORT binds the port: %s\n",
         bind_to(new_socket(SOCK_DGRAM, 1), udp_port));
  int any = new_socket(SOCK_STREAM, 0);
  printf("port 0 bind: %s\n", bind_to(any, 0));
  listen(any, 8);
  printf("port 0: a second socket with SO_REUSEPORT binds its port: %s\n",
         bind_to(new_socket(SOCK_STREAM, 1), bound_port(any)));

  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {  /* a fork is the same program: it binds as the worker does */
    int port2 = free_port(SOCK_STREAM);
    int f = new_socket(SOCK_STREAM, 0);
    printf("forked child bind: %s\n", bind_to(f, port2));
    printf("forked child: a second socket with SO_REUSEPORT binds the port: %s\n",
           bind_to(new_socket(SOCK_STREAM, 1), port2));
    fflush(stdout);
    execl("/proc/self/exe", self, "child", (char*)NULL);  /* a program the worker starts */
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int child(void) {
  int port = free_port(SOCK_STREAM);
  int s = new_socket(SOCK_STREAM, 0);
  printf("exec'd child bind: %s\n", bind_to(s, port));
  printf("exec'd child: a second socket with SO_REUSEPORT binds the port: %s\n",
         bind_to(new_socket(SOCK_STREAM, 1), port));
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "added") == 0) return added(argv[0]);
  if (argc > 1 && strcmp(argv[1], "child") == 0) return child();
  return not_added();
}
