// Unnamed semaphores for green threads. The count stays in glibc's sem_t (sem_post goes through
// glibc, so sem_getvalue, sem_trywait and native waiters see the same value); green waiters park
// on the semaphore's address and take the count with sem_trywait when woken.
// A sem_post from a signal handler or another OS thread cannot wake a parked green thread
// directly, so waiters also look again every 10 ms. Process-shared and named semaphores are
// polled with the runtime's Backoff (1 ms doubling to 16 ms): other processes post to them.
// Defines: sem_wait sem_trywait sem_timedwait sem_clockwait sem_post
#include <errno.h>
#include <semaphore.h>

#include "backoff.h"
#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "readiness.h"
#include "real.h"

namespace greenrun::shim {
namespace {

// glibc's new_sem.private: LLL_PRIVATE (0) for sem_init(s, 0, n), LLL_SHARED (128) for
// process-shared and named semaphores.
constexpr int kFutexPrivate = 0;
// How often a private semaphore's waiter looks for a post that could not wake it.
constexpr rt::Nanos kUnwokenPostCheck = 10'000'000;
struct GlibcSem {                // glibc's struct new_sem on 64-bit targets
  unsigned long data;
  int private_;
  int pad;
};
static_assert(sizeof(GlibcSem) <= sizeof(sem_t));

bool process_shared(sem_t* s) { return reinterpret_cast<GlibcSem*>(s)->private_ != kFutexPrivate; }

int wait(sem_t* s, clockid_t clock, const struct timespec* abstime) {
  CancellationPoint cp;
  if (real::sem_trywait(s) == 0) return 0;
  if (errno != EAGAIN) return -1;  // EINVAL
  rt::Nanos deadline = rt::kNever;
  if (abstime) {
    if (int rc = rt::deadline_from_abstime(clock, abstime, deadline)) return errno = rc, -1;
  }
  rt::AddressWaiters& waiters = rt::current()->hub->address_waiters();
  const bool shared = process_shared(s);
  rt::Backoff backoff = shared ? rt::Backoff(deadline)
                               : rt::Backoff::every(kUnwokenPostCheck, deadline);
  PosixThread* me = self();
  const std::uint32_t handlers_before = me ? me->handlers_run : 0;
  for (;;) {
    if (backoff.expired()) return errno = ETIMEDOUT, -1;
    rt::Wake why = shared ? backoff.park(rt::WaitReason::semaphore, s)
                          : backoff.park_with([&](rt::Nanos until) {
                              rt::Waiter w;
                              return waiters.wait(s, w, rt::WaitReason::semaphore, until);
                            });
    if (why == rt::Wake::interrupted) {  // a handler ran: glibc's sem_*wait return EINTR then
      test_cancel();
      return errno = EINTR, -1;
    }
    if (real::sem_trywait(s) == 0) return 0;
    // A handler that ran while this thread was between two looks (ready, not yet running)
    // interrupted the wait all the same, as natively it would have interrupted the futex wait.
    if (me && me->handlers_run != handlers_before) {
      test_cancel();
      return errno = EINTR, -1;
    }
  }
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int sem_wait(sem_t* s) {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::sem_wait(s);
  return shim::wait(s, CLOCK_REALTIME, nullptr);
}

// Ours only to tell the scheduler of a failed try (a thread spinning on it waits for a post).
GREENRUN_EXPORT int sem_trywait(sem_t* s) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::sem_trywait(s);
  int rc = real::sem_trywait(s);
  return rc != 0 && errno == EAGAIN ? shim::declined_at_once(rc) : rc;
}

GREENRUN_EXPORT int sem_timedwait(sem_t* s, const struct timespec* abstime) {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::sem_timedwait(s, abstime);
  return shim::wait(s, CLOCK_REALTIME, abstime);
}

GREENRUN_EXPORT int sem_clockwait(sem_t* s, clockid_t clock, const struct timespec* abstime) {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::sem_clockwait(s, clock, abstime);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return errno = EINVAL, -1;
  return shim::wait(s, clock, abstime);
}

GREENRUN_EXPORT int sem_post(sem_t* s) noexcept {
  int rc = real::sem_post(s);
  if (rc == 0 && rt::on_green_thread()) rt::current()->hub->address_waiters().wake(s, 1);
  return rc;
}
