/* Three threads parked in named functions (sleeping, blocked on a mutex, reading an empty
 * pipe); main then sends itself SIGQUIT. Under the preload the signal prints the stack dump
 * (each thread's state and a backtrace naming its function) and the program goes on: it
 * releases the threads, joins them and prints "continued". Natively SIGQUIT would end it, so
 * the runner runs it under the preload only. Built with -rdynamic so the names resolve. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int pipe_fds[2];
static volatile int after_call;  /* keeps the calls below from becoming tail calls */

__attribute__((noinline)) void sleep_in_named_function(void) {
  sleep(1);
  after_call++;
}

__attribute__((noinline)) void lock_in_named_function(void) {
  pthread_mutex_lock(&lock);
  after_call++;
  pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) void read_in_named_function(void) {
  char c;
  CHECK_EQ(read(pipe_fds[0], &c, 1), 1);
  after_call++;
}

static void* sleeper(void* arg) { (void)arg; sleep_in_named_function(); return NULL; }
static void* locker(void* arg) { (void)arg; lock_in_named_function(); return NULL; }
static void* reader(void* arg) { (void)arg; read_in_named_function(); return NULL; }

int main(void) {
  CHECK_EQ(pipe(pipe_fds), 0);
  pthread_mutex_lock(&lock);
  pthread_t threads[3];
  void* (*bodies[3])(void*) = {sleeper, locker, reader};
  const char* names[3] = {"sleeper", "locker", "reader"};
  for (int i = 0; i < 3; ++i) {
    CHECK_EQ(pthread_create(&threads[i], NULL, bodies[i], NULL), 0);
    pthread_setname_np(threads[i], names[i]);
  }
  usleep(100 * 1000);  /* every thread parks */
  raise(SIGQUIT);
  usleep(200 * 1000);  /* the dump is printed while main waits */
  pthread_mutex_unlock(&lock);
  CHECK_EQ(write(pipe_fds[1], "x", 1), 1);
  for (int i = 0; i < 3; ++i) CHECK_EQ(pthread_join(threads[i], NULL), 0);
  printf("continued\n");
  return 0;
}
