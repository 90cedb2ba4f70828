// The alternate signal stack is per thread: a new thread starts without one, each thread reads
// back what it set while others set and disable theirs, and a handler installed with SA_ONSTACK
// runs off the thread's own stack.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_barrier_t set_both;
static volatile int handler_off_stack = -1;
static char* stack_lo;
static char* stack_hi;

static void on_usr1(int sig) {
  (void)sig;
  char here;
  handler_off_stack = &here < stack_lo || &here >= stack_hi;
}

static void* worker(void* arg) {
  long me = (long)arg;
  stack_t now;
  sigaltstack(NULL, &now);
  printf("thread %ld: alternate stack at start: %s\n", me,
         (now.ss_flags & SS_DISABLE) ? "none" : "one");
  stack_t mine = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
  stack_t tiny = {.ss_sp = mine.ss_sp, .ss_size = 512, .ss_flags = 0};
  printf("thread %ld: a 512-byte stack is refused: %s\n", me,
         sigaltstack(&tiny, NULL) == -1 ? "yes" : "no");
  sigaltstack(&mine, NULL);
  pthread_barrier_wait(&set_both);  // both have set theirs
  usleep(20000 * me);                // thread 1 reports first
  sigaltstack(NULL, &now);
  printf("thread %ld: reads back its own: %s\n", me,
         now.ss_sp == mine.ss_sp && now.ss_size == mine.ss_size ? "yes" : "no");
  if (me == 1) {
    pthread_attr_t attr;
    pthread_getattr_np(pthread_self(), &attr);
    size_t size;
    pthread_attr_getstack(&attr, (void**)&stack_lo, &size);
    stack_hi = stack_lo + size;
    pthread_kill(pthread_self(), SIGUSR1);
    printf("thread 1: the SA_ONSTACK handler ran off the thread's stack: %s\n",
           handler_off_stack == 1 ? "yes" : "no");
  }
  stack_t off = {.ss_flags = SS_DISABLE};
  sigaltstack(&off, NULL);  // as Rust's std does when a thread ends
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_ONSTACK};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  pthread_barrier_init(&set_both, NULL, 2);
  pthread_t a, b;
  pthread_create(&a, NULL, worker, (void*)1);
  usleep(5000);  // thread 1 checks what it starts with first
  pthread_create(&b, NULL, worker, (void*)2);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  return 0;
}
