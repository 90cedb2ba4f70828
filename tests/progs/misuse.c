/* Misuse that greenrun must explain in one line instead of hanging silently or crashing.
 *   dead_owner:     a thread exits holding a mutex; main then locks it (hangs natively too).
 *   foreign_handle: a native OS thread (glibc's SIGEV_THREAD timer helper, which glibc creates
 *                   internally, out of greenrun's reach) is handed a green thread's pthread_t;
 *                   natively pthread_kill(t, 0) is 0, under greenrun it must be refused with
 *                   ESRCH and a diagnostic, never passed to glibc. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_t sleeper;
static volatile int timer_rc = -1;
static volatile int timer_ran = 0;

static void* lock_and_leave(void* arg) {
  (void)arg;
  pthread_mutex_lock(&held);
  return NULL;  // exits without unlocking
}

static void* sleep_a_while(void* arg) {
  (void)arg;
  usleep(300 * 1000);
  return NULL;
}

static void on_timer(union sigval value) {
  (void)value;
  timer_rc = pthread_kill(sleeper, 0);
  timer_ran = 1;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "dead_owner") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, lock_and_leave, NULL);
    pthread_join(t, NULL);
    printf("the owner has exited; locking\n");
    pthread_mutex_lock(&held);  // never returns
    printf("unreachable\n");
    return 1;
  }
  if (strcmp(mode, "foreign_handle") == 0) {
    pthread_create(&sleeper, NULL, sleep_a_while, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_timer;
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0) return 2;
    struct itimerspec when = {{0, 0}, {0, 20 * 1000 * 1000}};
    timer_settime(timer, 0, &when, NULL);
    while (!timer_ran) usleep(10 * 1000);
    printf("pthread_kill from a native thread: %s\n", errno_name(timer_rc));
    pthread_join(sleeper, NULL);
    timer_delete(timer);
    return 0;
  }
  fprintf(stderr, "usage: %s dead_owner|foreign_handle\n", argv[0]);
  return 2;
}
