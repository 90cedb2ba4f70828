/* pthread_kill to a thread blocked on a mutex (not an interruptible wait): the handler runs on
 * that thread — natively at once, under greenrun when it next runs — and the lock completes. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile pthread_t in_handler;
static volatile int handled;

static void on_usr1(int sig) {
  (void)sig;
  in_handler = pthread_self();
  handled = 1;
}

static void* waiter(void* arg) {
  (void)arg;
  pthread_mutex_lock(&m);  // blocks until main unlocks
  pthread_mutex_unlock(&m);
  return NULL;
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  pthread_mutex_lock(&m);
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  usleep(20 * 1000);  // t is now blocked on the mutex
  printf("pthread_kill: %s\n", errno_name(pthread_kill(t, SIGUSR1)));
  usleep(20 * 1000);
  pthread_mutex_unlock(&m);
  pthread_join(t, NULL);
  printf("handler ran: %s, on the target thread: %s\n", handled ? "yes" : "no",
         pthread_equal(in_handler, t) ? "yes" : "no");
  return 0;
}
