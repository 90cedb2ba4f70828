/* fork in one thread while others sleep: the child has only the forking thread (the sleepers
 * never run there), can still sleep, read a pipe and start threads, and its exit status reaches
 * the parent, whose other threads carry on. pthread_atfork handlers run in POSIX order. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static volatile int ticks;   /* the sleepers' progress */
static volatile int stop;
static char order[128];      /* atfork handlers, printed later (parent and child race on stdout) */

static void note(const char* what) { strcat(order, what); }
static void prepare_1(void) { note(" prepare1"); }
static void prepare_2(void) { note(" prepare2"); }
static void parent_1(void) { note(" parent1"); }
static void parent_2(void) { note(" parent2"); }
static void child_1(void) { note(" child1"); }
static void child_2(void) { note(" child2"); }

static void* sleeper(void* arg) {
  (void)arg;
  while (!stop) {
    usleep(10000);
    __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void* helper(void* arg) { return (void*)((intptr_t)arg * 2); }

/* In the child: the other threads must not run, and the runtime must still work. */
static void child_body(void) {
  int before = ticks;
  usleep(100000);
  printf("child: sleepers ran in child: %s\n", ticks != before ? "yes" : "no");
  int p[2];
  CHECK_EQ(pipe(p), 0);
  CHECK_EQ(write(p[1], "x", 1), 1);
  char c = 0;
  CHECK_EQ(read(p[0], &c, 1), 1);
  pthread_t h;
  void* r = NULL;
  CHECK_RC(pthread_create(&h, NULL, helper, (void*)21), 0);
  CHECK_RC(pthread_join(h, &r), 0);
  printf("child: pipe %c, thread result %ld\n", c, (long)(intptr_t)r);
  printf("child: atfork order:%s\n", order);
}

static void* forker(void* arg) {
  int how = (int)(intptr_t)arg;
  order[0] = '\0';
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    child_body();
    if (how == 0) exit(7);
    return NULL;  /* the last thread of the child returns: the child exits with 0 */
  }
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  printf("parent: child exited=%d status=%d\n", WIFEXITED(status), WEXITSTATUS(status));
  printf("parent: atfork order:%s\n", order);
  return NULL;
}

int main(void) {
  CHECK_RC(pthread_atfork(prepare_1, parent_1, child_1), 0);
  CHECK_RC(pthread_atfork(prepare_2, parent_2, child_2), 0);
  pthread_t s[3], f;
  for (int i = 0; i < 3; ++i) CHECK_RC(pthread_create(&s[i], NULL, sleeper, NULL), 0);
  for (int how = 0; how < 2; ++how) {
    int before = ticks;
    CHECK_RC(pthread_create(&f, NULL, forker, (void*)(intptr_t)how), 0);
    CHECK_RC(pthread_join(f, NULL), 0);
    printf("parent: sleepers kept running: %s\n", ticks > before ? "yes" : "no");
  }
  /* vfork then exec, as shells do, while the sleepers still run. */
  fflush(stdout);
  pid_t pid = vfork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "exit 11", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  printf("vfork child: exited=%d status=%d\n", WIFEXITED(status), WEXITSTATUS(status));
  stop = 1;
  for (int i = 0; i < 3; ++i) CHECK_RC(pthread_join(s[i], NULL), 0);
  printf("done\n");
  return 0;
}
