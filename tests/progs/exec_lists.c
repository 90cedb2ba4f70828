/* The list forms of exec (execl, execlp, execle), which greenrun rebuilds on the vector forms:
 * every argument reaches the new program, and execle's environment replaces the caller's. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static void* nothing(void* arg) { return arg; }

static void run_child(int which) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char* env[] = {"GREETING=execle's own environment", NULL};
    if (which == 0) execl("/bin/echo", "echo", "execl:", "three", "arguments", (char*)NULL);
    if (which == 1) execlp("echo", "echo", "execlp:", "found", "on", "PATH", (char*)NULL);
    if (which == 2) execle("/bin/sh", "sh", "-c", "echo execle: $GREETING, HOME=${HOME-unset}", (char*)NULL, env);
    _exit(99);
  }
  int status;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK_EQ(WEXITSTATUS(status), 0);
}

int main(void) {
  pthread_t t;  /* a threaded program, so that the shims are live */
  CHECK_RC(pthread_create(&t, NULL, nothing, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  for (int which = 0; which < 3; ++which) run_child(which);
  return 0;
}
