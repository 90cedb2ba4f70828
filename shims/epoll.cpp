// epoll_wait, epoll_pwait and epoll_pwait2. The kernel is asked first with a zero timeout; if
// nothing is ready the green thread parks until the epoll descriptor itself polls readable
// (its ready list is not empty), then asks again, until the deadline. Edge-triggered and
// one-shot registrations behave as natively: only the program's own calls consume events.
// All three are cancellation points; with no other green thread alive they go straight to libc.
// Defines: epoll_wait epoll_pwait epoll_pwait2
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "readiness.h"
#include "real.h"
#include "signal_shim.h"

namespace greenrun::shim {
namespace {

// The three calls in one (`masked`: with epoll_pwait's signal mask). `span` nullptr: no timeout.
int epoll_wait_for(int epfd, struct epoll_event* events, int maxevents, const timespec* span,
                   const sigset_t* mask, bool masked) {
  TemporaryMask during(masked ? mask : nullptr);  // epoll_pwait's mask holds while it waits
  auto check = [&] {
    return masked ? real::epoll_pwait(epfd, events, maxevents, 0, mask)
                  : real::epoll_wait(epfd, events, maxevents, 0);
  };
  int n = check();
  if (n != 0 || (span && timeout_zero(*span))) return answered_at_once(n);
  rt::FdTable& table = rt::current()->hub->fds();
  return ask_until_ready(deadline_for(span), check, [&](rt::Nanos deadline) {
    rt::FdEntry* e = table.entry(epfd);
    return e && e->parkable() ? table.wait(*e, rt::Want::read, deadline) : -EPERM;
  });
}

int epoll_wait_ms(int epfd, struct epoll_event* events, int maxevents, int timeout_ms,
                  const sigset_t* mask, bool masked) {
  CancellationPoint cp;
  if (timeout_ms < 0) return epoll_wait_for(epfd, events, maxevents, nullptr, mask, masked);
  const timespec span{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  return epoll_wait_for(epfd, events, maxevents, &span, mask, masked);
}

int epoll_pwait2_for(int epfd, struct epoll_event* events, int maxevents,
                     const timespec* timeout, const sigset_t* mask) {
  CancellationPoint cp;
  if (timeout && !timeout_valid(*timeout)) return errno = EINVAL, -1;
  return epoll_wait_for(epfd, events, maxevents, timeout, mask, true);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int epoll_wait(int epfd, struct epoll_event* events, int maxevents,
                               int timeout) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone())
    return real::epoll_wait(epfd, events, maxevents, timeout);
  return shim::epoll_wait_ms(epfd, events, maxevents, timeout, nullptr, false);
}

GREENRUN_EXPORT int epoll_pwait(int epfd, struct epoll_event* events, int maxevents,
                                int timeout, const sigset_t* sigmask) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone())
    return real::epoll_pwait(epfd, events, maxevents, timeout, sigmask);
  return shim::epoll_wait_ms(epfd, events, maxevents, timeout, sigmask, true);
}

GREENRUN_EXPORT int epoll_pwait2(int epfd, struct epoll_event* events, int maxevents,
                                 const struct timespec* timeout, const sigset_t* sigmask) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone())
    return real::epoll_pwait2(epfd, events, maxevents, timeout, sigmask);
  return shim::epoll_pwait2_for(epfd, events, maxevents, timeout, sigmask);
}
