// Condition variables for green threads: waiters park on the condvar's address. Shared with
// C11 cnd_*.
#pragma once
#include <pthread.h>
#include <time.h>

namespace greenrun::shim {

// abstime nullptr: wait without a timeout. `clock` is the clock abstime is on.
int cond_wait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock,
              const struct timespec* abstime);
// The clock pthread_condattr_setclock chose for this condvar (glibc keeps it in __wrefs).
clockid_t cond_clock(const pthread_cond_t* c);
int cond_wake(pthread_cond_t* c, bool all);

}  // namespace greenrun::shim
