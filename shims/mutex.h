// pthread mutexes for green threads, kept in glibc's own layout (__lock, __owner, __count,
// __nusers) so a mutex the main thread locked before the hub existed, pthread_mutex_destroy's
// EBUSY check, and glibc's static initialisers all keep working. Waiters park on the mutex's
// address; unlock hands the mutex straight to the oldest waiter (FIFO, no barging).
// Shared with the condition variables and C11 mtx_*.
#pragma once
#include <pthread.h>

#include "clock.h"

namespace greenrun::shim {

// The pthread errno-style result (0, EBUSY, EDEADLK, ETIMEDOUT, EAGAIN, EINVAL).
int mutex_lock(pthread_mutex_t* m, rt::Nanos deadline, bool try_only);
int mutex_unlock(pthread_mutex_t* m);

// For condition variables: release and re-take without touching __nusers, as glibc's
// condvars do (a mutex with a waiter on a condvar still counts as in use).
int mutex_release_for_wait(pthread_mutex_t* m);
int mutex_retake_after_wait(pthread_mutex_t* m);

bool mutex_is_process_shared(const pthread_mutex_t* m);

// Process-shared and robust mutexes (shims/mutex_shared.cpp).
int shared_mutex_lock(pthread_mutex_t* m, rt::Nanos deadline, bool try_only);
int shared_mutex_unlock(pthread_mutex_t* m);

}  // namespace greenrun::shim
