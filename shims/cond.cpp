// Defines: pthread_cond_wait pthread_cond_timedwait pthread_cond_clockwait
//          pthread_cond_signal pthread_cond_broadcast
// glibc exports these twice (GLIBC_2.2.5 and GLIBC_2.3.2); an unversioned definition here
// interposes references to either, and real:: resolves the 2.3.2 ABI for pass-through.
// Waiting is a cancellation point: a cancelled waiter re-takes the mutex before unwinding, as
// POSIX requires (its cleanup handler usually unlocks it).
// Process-shared condvars are signalled from other processes, out of our reach: a wait on one
// releases the mutex, parks for one Backoff interval (1 ms) and returns (a spurious wake-up,
// which POSIX allows).
#include "cond.h"

#include <errno.h>

#include "backoff.h"
#include "export.h"
#include "hub.h"
#include "mutex.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {
namespace {
constexpr unsigned kSharedMask = 1;          // __PTHREAD_COND_SHARED_MASK
constexpr unsigned kClockMonotonicMask = 2;  // __PTHREAD_COND_CLOCK_MONOTONIC_MASK
}  // namespace

clockid_t cond_clock(const pthread_cond_t* c) {
  return (c->__data.__wrefs & kClockMonotonicMask) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

int cond_wait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock,
              const struct timespec* abstime) {
  rt::Nanos deadline = rt::kNever;
  if (abstime) {
    if (int rc = rt::deadline_from_abstime(clock, abstime, deadline)) return rc;
  }
  rt::GreenThread* self = rt::current();
  CancellationPoint cp;
  if (int rc = mutex_release_for_wait(m)) return rc;  // e.g. EPERM: not the owner
  rt::Wake why;
  if ((c->__data.__wrefs & kSharedMask) || mutex_is_process_shared(m)) {
    why = rt::Backoff(deadline).park(rt::WaitReason::condition, c);
  } else {
    rt::Waiter w;
    why = self->hub->address_waiters().wait(c, w, rt::WaitReason::condition, deadline);
  }
  mutex_retake_after_wait(m);
  if (why == rt::Wake::interrupted) test_cancel();
  return why == rt::Wake::timed_out ? ETIMEDOUT : 0;
}

int cond_wake(pthread_cond_t* c, bool all) {
  rt::current()->hub->address_waiters().wake(c, all ? ~std::size_t{0} : 1);
  return 0;
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m) {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_cond_wait(c, m);
  return shim::cond_wait(c, m, CLOCK_REALTIME, nullptr);
}

GREENRUN_EXPORT int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m,
                                           const struct timespec* abstime) {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_cond_timedwait(c, m, abstime);
  return shim::cond_wait(c, m, shim::cond_clock(c), abstime);
}

GREENRUN_EXPORT int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m,
                                           clockid_t clock, const struct timespec* abstime) {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_cond_clockwait(c, m, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  return shim::cond_wait(c, m, clock, abstime);
}

GREENRUN_EXPORT int pthread_cond_signal(pthread_cond_t* c) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_cond_signal(c);
  return shim::cond_wake(c, false);
}

GREENRUN_EXPORT int pthread_cond_broadcast(pthread_cond_t* c) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_cond_broadcast(c);
  return shim::cond_wake(c, true);
}
