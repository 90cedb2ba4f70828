/* The wait family's edge cases, run in a thread while another ticks (so that, under the
 * preload, the waits park instead of blocking the only thread): ECHILD, WNOHANG, a non-child,
 * waitid with WNOWAIT, a child killed by SIGTERM, wait for any child, a process group. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static volatile int stop;
static volatile int ticks;

static void* ticker(void* arg) {
  (void)arg;
  while (!stop) {
    usleep(20000);
    ++ticks;
  }
  return NULL;
}

static pid_t child_sleeping(int ms, int code) {
  pid_t pid = fork();
  if (pid == 0) {
    usleep(ms * 1000);
    _exit(code);
  }
  return pid;
}

static int status;  /* where every wait below stores; read by show() after the call */

static void show(const char* what, long rc) {
  int e = rc < 0 ? errno : 0;
  printf("%s: rc=%s errno=%s", what, rc > 0 ? "pid" : rc == 0 ? "0" : "-1", errno_name(e));
  if (rc > 0) {
    if (WIFEXITED(status)) printf(" exited %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) printf(" signaled %d", WTERMSIG(status));
  }
  printf("\n");
}

static void* edges(void* arg) {
  (void)arg;
  errno = 0;
  show("waitpid(-1) without children", waitpid(-1, &status, 0));
  show("wait() without children", wait(&status));
  show("waitpid(1) not a child", waitpid(1, &status, 0));
  siginfo_t info;
  show("waitid(P_ALL) without children", waitid(P_ALL, 0, &info, WEXITED));

  pid_t pid = child_sleeping(300, 4);
  show("WNOHANG on a running child", waitpid(pid, &status, WNOHANG));
  int before = ticks;
  show("waitpid on it", waitpid(pid, &status, 0));
  property("ticks_during_wait", ticks - before);

  pid = child_sleeping(100, 9);
  memset(&info, 0, sizeof info);
  int rc = waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
  printf("waitid WNOWAIT: rc=%d pid_matches=%d code=%s status=%d\n", rc, info.si_pid == pid,
         info.si_code == CLD_EXITED ? "CLD_EXITED" : "other", info.si_status);
  show("then waitpid reaps it", waitpid(pid, &status, 0));
  show("and again", waitpid(pid, &status, 0));

  pid = child_sleeping(5000, 0);
  kill(pid, SIGTERM);
  show("SIGTERM'd child", waitpid(pid, &status, 0));

  pid_t a = child_sleeping(50, 1), b = child_sleeping(150, 2);
  int codes = 0;
  for (int i = 0; i < 2; ++i) {
    pid_t r = wait(&status);
    if (r == a || r == b) codes += WEXITSTATUS(status);
  }
  printf("wait() for any: exit codes sum %d\n", codes);

  a = child_sleeping(50, 3);
  show("waitpid(0) own group", waitpid(0, &status, 0));
  a = child_sleeping(50, 5);
  struct rusage ru;
  show("wait4(pid)", wait4(a, &status, 0, &ru));
  a = child_sleeping(50, 6);
  show("wait3", wait3(&status, 0, NULL));
  a = child_sleeping(50, 8);
  memset(&info, 0, sizeof info);
  rc = waitid(P_ALL, 0, &info, WEXITED);
  printf("waitid(P_ALL): rc=%d pid_matches=%d status=%d\n", rc, info.si_pid == a, info.si_status);
  return NULL;
}

static void* waiter(void* arg) {
  pid_t pid = (pid_t)(intptr_t)arg;
  waitpid(pid, NULL, 0);
  return NULL;
}

/* waitpid is a cancellation point: a thread waiting for a child that lives on is cancelled. */
static void cancel_waiter(void) {
  pid_t pid = child_sleeping(5000, 0);
  pthread_t w;
  void* result = NULL;
  CHECK_RC(pthread_create(&w, NULL, waiter, (void*)(intptr_t)pid), 0);
  usleep(50000);
  CHECK_RC(pthread_cancel(w), 0);
  CHECK_RC(pthread_join(w, &result), 0);
  printf("waiter cancelled: %d\n", result == PTHREAD_CANCELED);
  kill(pid, SIGKILL);
  show("killed child reaped", waitpid(pid, &status, 0));
}

int main(void) {
  pthread_t t, e;
  CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
  CHECK_RC(pthread_create(&e, NULL, edges, NULL), 0);
  CHECK_RC(pthread_join(e, NULL), 0);
  cancel_waiter();
  stop = 1;
  CHECK_RC(pthread_join(t, NULL), 0);
  return 0;
}
