#include "service_thread.h"

#include <pthread.h>
#include <signal.h>

namespace greenrun::rt {

int start_service_thread(void* (*body)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // A new thread inherits its creator's mask: block everything for the moment of the creation,
  // so that no signal can reach the new thread before it could block them itself.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, body, arg);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  pthread_attr_destroy(&attr);
  return rc;
}

}  // namespace greenrun::rt
