// sem_wait, sem_timedwait and sem_clockwait return -1 with EINTR when a signal handler runs on
// the waiting thread, with or without SA_RESTART (signal(7): never restarted), while another
// thread keeps running; the semaphore keeps its count.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sem_t sem;
static volatile sig_atomic_t handled;
static volatile int ticking = 1;

static void on_usr1(int sig) {
  (void)sig;
  handled = 1;
}

static void* ticker(void* arg) {
  (void)arg;
  while (ticking) usleep(5000);
  return NULL;
}

static void* waiter(void* arg) {
  const char* kind = arg;
  struct timespec later;
  clock_gettime(CLOCK_REALTIME, &later);
  later.tv_sec += 30;
  int rc;
  if (strcmp(kind, "sem_wait") == 0)
    rc = sem_wait(&sem);
  else if (strcmp(kind, "sem_timedwait") == 0)
    rc = sem_timedwait(&sem, &later);
  else
    rc = sem_clockwait(&sem, CLOCK_REALTIME, &later);
  int value;
  sem_getvalue(&sem, &value);
  printf("%s: rc=%d errno=%s handler ran=%d value=%d\n", kind, rc,
         rc < 0 ? strerrorname_np(errno) : "-", (int)handled, value);
  return NULL;
}

static void run(const char* kind, int flags) {
  struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = flags};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  handled = 0;
  pthread_t t;
  pthread_create(&t, NULL, waiter, (void*)kind);
  usleep(50000);
  pthread_kill(t, SIGUSR1);
  pthread_join(t, NULL);
}

int main(void) {
  sem_init(&sem, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, ticker, NULL);
  run("sem_wait", 0);
  run("sem_timedwait", SA_RESTART);
  run("sem_clockwait", 0);
  ticking = 0;
  pthread_join(t, NULL);
  return 0;
}
