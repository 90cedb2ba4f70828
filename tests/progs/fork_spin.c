/* Preemption in a forked child: only the forking thread survives fork, so the child needs a
 * preemption monitor of its own. Parent and child each spin on a flag another thread sets. */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static atomic_int flag;

static void* set_later(void* arg) {
  usleep(30000);
  atomic_store(&flag, 1);
  return arg;
}

static void spin_until_set(const char* who) {
  atomic_store(&flag, 0);
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, set_later, NULL), 0);
  while (!atomic_load(&flag)) {
  }
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("%s: the flag was set while it spun\n", who);
  fflush(stdout);
}

int main(void) {
  spin_until_set("parent");
  pid_t child = fork();
  if (child == 0) {
    spin_until_set("child");
    _exit(0);
  }
  int status;
  CHECK_EQ(waitpid(child, &status, 0), child);
  printf("child exit %d\n", WEXITSTATUS(status));
  spin_until_set("parent again");
  return 0;
}
