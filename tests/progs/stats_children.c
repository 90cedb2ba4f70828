/* A greenrun process with greenrun children, for GREENRUN_STATS (stats_children.py).
 *   stats_children parent [setenv]: creates 1 thread, then a forked child that creates 2 and
 *     calls exit(), then a child started with posix_spawn ("child 3"); with "setenv", that
 *     child's environment gets GREENRUN_STATS=1 (the parent's has none).
 *   stats_children child N: creates N threads and exits.
 * Each process's thread count tells whose statistics table is whose. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static void* napper(void* arg) {
  usleep(10 * 1000);
  return arg;
}

static void run_threads(int count) {
  pthread_t threads[8];
  for (int i = 0; i < count; ++i) CHECK_RC(pthread_create(&threads[i], NULL, napper, NULL), 0);
  for (int i = 0; i < count; ++i) CHECK_RC(pthread_join(threads[i], NULL), 0);
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "child") == 0) {
    run_threads(atoi(argv[2]));
    return 0;
  }
  CHECK_EQ(argc >= 2 && strcmp(argv[1], "parent") == 0, 1);
  run_threads(1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    run_threads(2);
    exit(0); /* atexit handlers run, as in any child that returns normally */
  }
  int status = -1;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK_EQ(status, 0);
  if (argc == 3 && strcmp(argv[2], "setenv") == 0) CHECK_EQ(setenv("GREENRUN_STATS", "1", 1), 0);
  char* child_argv[] = {argv[0], "child", "3", NULL};
  CHECK_RC(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, child_argv, environ), 0);
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK_EQ(status, 0);
  printf("children done\n");
  return 0;
}
