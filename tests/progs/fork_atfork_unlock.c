/* The pthread_atfork idiom (Perl's Perl_atfork_lock/unlock, for PL_perlio_mutex and
 * PL_op_mutex): prepare locks a mutex, the parent and child handlers unlock it, so that the
 * child gets it unlocked whatever other threads were doing. Here another thread is waiting for
 * that mutex when fork happens. Natively the child's unlock frees it and the child can lock it;
 * greenrun must not hand it to the waiter, a thread that does not exist in the child (it did
 * before its fork child handler ran ahead of the program's: the child's next lock blocked forever). */
#include "progs.h"

#include <pthread.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void lock(void) { pthread_mutex_lock(&m); }
static void unlock(void) { pthread_mutex_unlock(&m); }

static void* holder(void* a) {  /* holds the mutex across the fork's prepare handler */
  lock();
  usleep(50000);
  unlock();
  return a;
}

static void* late_waiter(void* a) {  /* queues for the mutex behind fork's prepare handler */
  usleep(20000);
  lock();
  unlock();
  return a;
}

int main(void) {
  pthread_atfork(lock, unlock, unlock);
  pthread_t h, w;
  pthread_create(&h, NULL, holder, NULL);
  pthread_create(&w, NULL, late_waiter, NULL);
  usleep(10000);
  pid_t pid = fork();  /* prepare: waits for holder, with late_waiter queued behind */
  if (pid == 0) {
    lock();  /* the child handler unlocked it */
    unlock();
    _exit(0);
  }
  const int killed = reap_child_or_kill(pid);
  pthread_join(h, NULL);
  pthread_join(w, NULL);
  return killed;
}
