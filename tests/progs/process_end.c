/* How a process ends while threads still run, chosen by argv[1]:
 *   exit_in_thread     exit(3) from a thread while others sleep: status 3, at once
 *   return_from_main   main returns while threads sleep: status 0, at once
 *   pthread_exit_main  main calls pthread_exit: the others finish (and print) first, status 0
 * "At once" is checked by the runner (--max-seconds): the sleepers sleep for 30 s. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static void* sleeps_long(void* arg) {
  (void)arg;
  note_os_threads();
  sleep(30);
  printf("not reached: a sleeper woke\n");
  return NULL;
}

static void* exits(void* arg) {
  (void)arg;
  usleep(50000);  /* the sleepers are asleep by now */
  printf("thread calls exit(3)\n");
  report_os_threads();
  exit(3);
}

static void* finishes_late(void* arg) {
  long i = (long)arg;
  usleep((useconds_t)(100000 * i));  /* 100 ms apart: a fixed order */
  if (i == 1) report_os_threads();
  printf("thread %ld done\n", i);
  return NULL;
}

static pthread_t start(void* (*body)(void*), void* arg) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, body, arg), 0);
  return t;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "exit_in_thread") == 0) {
    pthread_t sleeper = start(sleeps_long, NULL);
    for (int i = 0; i < 3; ++i) start(sleeps_long, NULL);
    start(exits, NULL);
    pthread_join(sleeper, NULL);  /* main waits too, until exit() ends everything */
    printf("not reached: main joined a sleeper\n");
    return 0;
  }
  if (strcmp(mode, "return_from_main") == 0) {
    for (int i = 0; i < 4; ++i) start(sleeps_long, NULL);
    usleep(50000);
    report_os_threads();
    printf("main returns\n");
    return 0;
  }
  if (strcmp(mode, "pthread_exit_main") == 0) {
    for (long i = 1; i <= 3; ++i) start(finishes_late, (void*)i);
    printf("main calls pthread_exit\n");
    fflush(stdout);
    pthread_exit(NULL);
  }
  fprintf(stderr, "usage: process_end exit_in_thread|return_from_main|pthread_exit_main\n");
  return 2;
}
