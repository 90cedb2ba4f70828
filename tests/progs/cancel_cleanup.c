/* Cancellation and pthread_exit run cleanup handlers, innermost first: a thread cancelled in
 * sleep, in pthread_cond_wait (which holds the mutex again when the handlers run) and in
 * pthread_join; pthread_exit from a nested function; pop(1) and pop(0); a request made while
 * cancellation is disabled. Main cancels each thread only once it is blocked, and joins it
 * before going on, so the output order is fixed. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static int ready;  /* set by a thread right before it blocks */

static void mark_ready(void) { __atomic_store_n(&ready, 1, __ATOMIC_RELEASE); }
static void wait_ready(void) {
  while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) usleep(1000);
  __atomic_store_n(&ready, 0, __ATOMIC_RELAXED);
  usleep(20000);  /* let it get from mark_ready() into the blocking call */
}

static void say(void* text) { printf("  handler: %s\n", (const char*)text); }

static void* in_sleep(void* arg) {
  (void)arg;
  pthread_cleanup_push(say, "sleep outer");
  pthread_cleanup_push(say, "sleep inner");
  note_os_threads();
  mark_ready();
  sleep(100);
  printf("  not reached: sleep returned\n");
  pthread_cleanup_pop(0);
  pthread_cleanup_pop(0);
  return NULL;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void unlock_m(void* arg) {
  (void)arg;
  /* POSIX: the mutex is held again when a cancelled pthread_cond_wait runs the handlers. */
  printf("  handler: cond_wait, mutex held by me: %s\n",
         pthread_mutex_trylock(&m) == EBUSY ? "yes" : "no");
  pthread_mutex_unlock(&m);
}

static void* in_cond_wait(void* arg) {
  (void)arg;
  pthread_mutex_lock(&m);
  pthread_cleanup_push(unlock_m, NULL);
  mark_ready();
  for (;;) pthread_cond_wait(&never, &m);
  pthread_cleanup_pop(0);
  return NULL;
}

static void* sleep_long(void* arg) {
  (void)arg;
  sleep(100);
  return NULL;
}

static void* in_join(void* arg) {
  pthread_t* target = arg;
  pthread_cleanup_push(say, "join");
  mark_ready();
  pthread_join(*target, NULL);
  printf("  not reached: join returned\n");
  pthread_cleanup_pop(0);
  return NULL;
}

static int exit_depth = 1;

static void nested_exit(int depth) {
  pthread_cleanup_push(say, depth == 0 ? "nested depth 0" : "nested depth 1");
  if (depth < exit_depth)
    nested_exit(depth + 1);
  else if (depth == exit_depth)
    pthread_exit((void*)42);
  pthread_cleanup_pop(0);
}

static void* exits_nested(void* arg) {
  (void)arg;
  pthread_cleanup_push(say, "exit outermost");
  nested_exit(0);
  pthread_cleanup_pop(0);
  return NULL;
}

static void* pops(void* arg) {
  (void)arg;
  pthread_cleanup_push(say, "popped with 1 (runs)");
  pthread_cleanup_push(say, "popped with 0 (must not run)");
  pthread_cleanup_pop(0);
  pthread_cleanup_pop(1);
  return (void*)5;
}

static void* disabled(void* arg) {
  (void)arg;
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  printf("  disabled: old state %s\n", old == PTHREAD_CANCEL_ENABLE ? "ENABLE" : "DISABLE");
  pthread_cleanup_push(say, "disabled, then testcancel");
  mark_ready();
  usleep(100000);  /* cancelled meanwhile, but disabled: sleeps out its time */
  printf("  disabled: usleep returned normally\n");
  pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
  pthread_testcancel();
  printf("  not reached: testcancel returned\n");
  pthread_cleanup_pop(0);
  return NULL;
}

static void* returns_at_once(void* arg) {
  (void)arg;
  mark_ready();
  return (void*)5;
}

static void show_result(const char* what, void* r) {
  printf("%s: joined, result %s\n", what,
         r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : r == (void*)42 ? "42" : r == (void*)5 ? "5" : "other");
}

int main(void) {
  pthread_t t, target;
  void* r;

  printf("cancel in sleep\n");
  CHECK_RC(pthread_create(&t, NULL, in_sleep, NULL), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("sleep", r);

  printf("cancel in cond_wait\n");
  CHECK_RC(pthread_create(&t, NULL, in_cond_wait, NULL), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("cond_wait", r);
  printf("cond_wait: mutex free afterwards: %s\n", pthread_mutex_trylock(&m) == 0 ? "yes" : "no");
  pthread_mutex_unlock(&m);

  printf("cancel in join\n");
  CHECK_RC(pthread_create(&target, NULL, sleep_long, NULL), 0);
  CHECK_RC(pthread_create(&t, NULL, in_join, &target), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("join", r);
  /* A cancelled join leaves its target joinable. */
  CHECK_RC(pthread_cancel(target), 0);
  CHECK_RC(pthread_join(target, &r), 0);
  show_result("join target", r);

  printf("pthread_exit from a nested function\n");
  CHECK_RC(pthread_create(&t, NULL, exits_nested, NULL), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("nested exit", r);

  printf("cleanup_pop(0) and cleanup_pop(1)\n");
  CHECK_RC(pthread_create(&t, NULL, pops, NULL), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("pops", r);

  printf("cancel while disabled\n");
  CHECK_RC(pthread_create(&t, NULL, disabled, NULL), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("disabled", r);

  printf("cancel a thread that has returned but is not joined yet\n");
  CHECK_RC(pthread_create(&t, NULL, returns_at_once, NULL), 0);
  wait_ready();
  printf("  pthread_cancel: %s\n", errno_name(pthread_cancel(t)));
  CHECK_RC(pthread_join(t, &r), 0);
  show_result("returned", r);

  report_os_threads();
  return 0;
}
