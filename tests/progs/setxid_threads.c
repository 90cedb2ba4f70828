/* Changing credentials after threads ran: glibc's setgid, setegid, setuid, seteuid and
 * setgroups signal every thread of the process (SIGSETXID) and wait until each has applied the
 * change, so an OS thread that blocks that signal (greenrun's own included) would hang them.
 * Each call here sets the ids the process already has, which is allowed without privilege. */
#define _GNU_SOURCE
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void* work(void* arg) {
  usleep(1000);
  return arg;
}

int main(void) {
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) pthread_create(&threads[i], NULL, work, NULL);
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
  /* One thread stays alive while the ids change, as in a daemon that drops privileges. */
  pthread_t sleeper;
  pthread_create(&sleeper, NULL, work, NULL);
  printf("setgid %d\n", setgid(getgid()));
  printf("setegid %d\n", setegid(getegid()));
  printf("setuid %d\n", setuid(getuid()));
  printf("seteuid %d\n", seteuid(geteuid()));
  gid_t groups[64];
  int n = getgroups(64, groups);
  printf("setgroups %d\n", n >= 0 && getuid() == 0 ? setgroups((size_t)n, groups) : 0);
  pthread_join(sleeper, NULL);
  printf("done\n");
  return 0;
}
