// Sleeps and yields. Every sleep funnels into sleep_until(); each libc entry point is wrapped
// on its own because glibc's sleep/usleep call nanosleep internally, out of our reach.
// All sleeps are cancellation points. With no other green thread alive a sleep goes straight
// to libc: nothing else could run meanwhile.
// Defines: sleep usleep nanosleep clock_nanosleep sched_yield pthread_yield thrd_sleep
//          thrd_yield
#include <errno.h>
#include <sched.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {
namespace {

// Parks until `deadline`. Returns 0, or EINTR when interrupted (its remaining time in *left).
int sleep_until(rt::Nanos deadline, rt::Nanos* left) {
  rt::Scheduler& s = rt::current()->hub->scheduler();
  for (;;) {
    rt::Wake why;
    {
      CancellationPoint cp;
      why = s.park(rt::WaitReason::sleep, nullptr, deadline);
    }
    if (why == rt::Wake::timed_out) return 0;
    if (why == rt::Wake::interrupted) test_cancel();
    rt::Nanos now = rt::monotonic_now();
    if (now >= deadline) return 0;
    if (left) *left = deadline - now;
    if (why == rt::Wake::interrupted) return EINTR;
  }
}

void to_timespec(rt::Nanos n, struct timespec* ts) {
  ts->tv_sec = n / 1'000'000'000;
  ts->tv_nsec = n % 1'000'000'000;
}

int nanosleep_for(const struct timespec* req, struct timespec* rem) {
  rt::Nanos deadline;
  if (int rc = rt::deadline_from_relative(req, deadline)) return rc;
  if (req->tv_sec == 0 && req->tv_nsec == 0) {
    test_cancel();
    rt::current()->hub->scheduler().yield();
    return 0;
  }
  rt::Nanos left = 0;
  int rc = sleep_until(deadline, &left);
  if (rc == EINTR && rem) to_timespec(left, rem);
  return rc;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int nanosleep(const struct timespec* req, struct timespec* rem) {
  if (!rt::on_green_thread(rt::CallFamily::time) || shim::alone()) return real::nanosleep(req, rem);
  if (!req) return errno = EFAULT, -1;
  int rc = shim::nanosleep_for(req, rem);
  if (rc != 0) return errno = rc, -1;
  return 0;
}

GREENRUN_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec* req,
                                    struct timespec* rem) {
  if (!rt::on_green_thread(rt::CallFamily::time) || shim::alone())
    return real::clock_nanosleep(clock, flags, req, rem);
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME &&
      clock != CLOCK_TAI)
    return real::clock_nanosleep(clock, flags, req, rem);  // CPU clocks: libc's answer
  if (!req) return EFAULT;
  if (!(flags & TIMER_ABSTIME)) return shim::nanosleep_for(req, rem);
  rt::Nanos deadline;
  if (int rc = rt::deadline_from_abstime(clock, req, deadline)) return rc;
  return shim::sleep_until(deadline, nullptr);  // absolute sleeps report no remaining time
}

GREENRUN_EXPORT unsigned int sleep(unsigned int seconds) {
  if (!rt::on_green_thread(rt::CallFamily::time) || shim::alone()) return real::sleep(seconds);
  struct timespec req = {static_cast<time_t>(seconds), 0}, rem = {0, 0};
  if (shim::nanosleep_for(&req, &rem) == EINTR)
    return static_cast<unsigned>(rem.tv_sec) + (rem.tv_nsec > 0);
  return 0;
}

GREENRUN_EXPORT int usleep(useconds_t usec) {
  if (!rt::on_green_thread(rt::CallFamily::time) || shim::alone()) return real::usleep(usec);
  struct timespec req = {static_cast<time_t>(usec / 1'000'000),
                         static_cast<long>(usec % 1'000'000) * 1000};
  int rc = shim::nanosleep_for(&req, nullptr);
  if (rc != 0) return errno = rc, -1;
  return 0;
}

GREENRUN_EXPORT int sched_yield(void) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::time)) return real::sched_yield();
  rt::current()->hub->scheduler().yield();
  return 0;
}

// glibc's header redirects pthread_yield to sched_yield, so name the symbol explicitly: old
// binaries still import pthread_yield itself.
GREENRUN_EXPORT int greenrun_pthread_yield(void) noexcept __asm__("pthread_yield");
GREENRUN_EXPORT int greenrun_pthread_yield(void) noexcept { return sched_yield(); }

GREENRUN_EXPORT int thrd_sleep(const struct timespec* duration, struct timespec* remaining) {
  // C11: 0 on success, -1 if interrupted, another negative value on error.
  int rc = nanosleep(duration, remaining);
  if (rc == 0) return 0;
  return errno == EINTR ? -1 : -2;
}

GREENRUN_EXPORT void thrd_yield(void) { sched_yield(); }
