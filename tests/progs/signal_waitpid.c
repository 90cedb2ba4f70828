/* A handler interrupts waitpid as natively: without SA_RESTART waitpid returns -1 EINTR; with
 * SA_RESTART it goes on until the child exits. A napping thread keeps the program threaded. */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static volatile sig_atomic_t handled;
static void on_signal(int sig) { (void)sig; handled++; }

static void set_handler(int flags) {
  struct sigaction a;
  memset(&a, 0, sizeof a);
  a.sa_handler = on_signal;
  a.sa_flags = flags;
  sigemptyset(&a.sa_mask);
  sigaction(SIGALRM, &a, NULL);
}

static void* nap(void* arg) { (void)arg; usleep(700000); return NULL; }

static void run(int flags, const char* label) {
  pthread_t t;
  pthread_create(&t, NULL, nap, NULL);
  set_handler(flags);
  pid_t child = fork();
  if (child == 0) {
    usleep(400000);
    _exit(7);
  }
  handled = 0;
  struct itimerval it = {{0, 0}, {0, 150000}};
  setitimer(ITIMER_REAL, &it, NULL);
  int status = 0;
  pid_t r = waitpid(child, &status, 0);
  printf("%s: waitpid %s %s, handlers %d\n", label, r == child ? "child" : r < 0 ? "-1" : "other",
         errno_name(r < 0 ? errno : 0), (int)handled);
  if (r < 0) {
    r = waitpid(child, &status, 0);
    printf("%s: then waitpid %s, status %d\n", label, r == child ? "child" : "-1", WEXITSTATUS(status));
  } else {
    printf("%s: status %d\n", label, WEXITSTATUS(status));
  }
  pthread_join(t, NULL);
}

int main(void) {
  run(0, "without SA_RESTART");
  run(SA_RESTART, "with SA_RESTART");
  return 0;
}
