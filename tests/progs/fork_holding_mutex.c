/* No pthread_atfork: main forks while it holds a mutex another thread is waiting for, and the
 * child unlocks and relocks it (allowed: the child's own thread owns it). Natively the child's
 * unlock frees it; greenrun must not hand it to the waiter, which does not exist in the child
 * (it did: the child's relock then blocked forever). */
#include "progs.h"

#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void* waiter(void* a) {
  pthread_mutex_lock(&m);
  pthread_mutex_unlock(&m);
  return a;
}

int main(void) {
  pthread_mutex_lock(&m);
  pthread_t w;
  pthread_create(&w, NULL, waiter, NULL);
  usleep(10000);  /* the waiter is queued on m */
  pid_t pid = fork();
  if (pid == 0) {
    pthread_mutex_unlock(&m);
    pthread_mutex_lock(&m);
    _exit(0);
  }
  const int killed = reap_child_or_kill(pid);
  pthread_mutex_unlock(&m);
  pthread_join(w, NULL);
  return killed;
}
