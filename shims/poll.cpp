// poll, ppoll, select and pselect. Each first asks the kernel with a zero timeout, the only
// system call when something is ready. Otherwise the green thread parks on all its descriptors
// at once (FdTable::wait_any) and asks again after each wake-up, until the deadline, so every
// result is the kernel's own. All four are cancellation points; with no other green thread
// alive (and for select beyond FD_SETSIZE) they go straight to libc.
// Defines: poll ppoll select pselect __poll_chk __ppoll_chk
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/select.h>

#include <vector>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "readiness.h"
#include "real.h"
#include "signal_shim.h"

namespace greenrun::shim {
namespace {

using Interests = std::vector<rt::FdTable::Interest>;

constexpr short kPollRead = POLLIN | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND;
constexpr short kPollWrite = POLLOUT | POLLWRNORM | POLLWRBAND;

// What parking on `fd` takes. Descriptors that never block (regular files) add nothing; nor
// does one that asks for nothing (events 0, often a slot the program switched off), though the
// kernel would still report its POLLHUP: that shows at the next wake-up or the deadline.
void add_interest(Interests& out, int fd, bool read, bool write) {
  if (!read && !write) return;
  rt::FdEntry* e = rt::current()->hub->fds().entry(fd);
  if (!e || !e->parkable()) return;
  if (read) out.push_back({e, rt::Want::read});
  if (write) out.push_back({e, rt::Want::write});
}

int park_on(Interests& interests, rt::Nanos deadline) {
  return rt::current()->hub->fds().wait_any(interests.data(), interests.size(), deadline);
}

// poll and ppoll (`masked`: with ppoll's signal mask). `span` nullptr: no timeout.
int poll_wait(struct pollfd* fds, nfds_t nfds, const timespec* span, const sigset_t* mask,
              bool masked) {
  TemporaryMask during(masked ? mask : nullptr);  // ppoll's mask holds while it waits
  auto check = [&] {
    static constexpr timespec kZero{};
    return masked ? real::ppoll(fds, nfds, &kZero, mask) : real::poll(fds, nfds, 0);
  };
  int n = check();
  if (n != 0 || (span && timeout_zero(*span))) return answered_at_once(n);
  Interests interests;
  return ask_until_ready(deadline_for(span), check, [&](rt::Nanos deadline) {
    interests.clear();
    for (nfds_t i = 0; i < nfds; ++i)
      add_interest(interests, fds[i].fd, fds[i].events & kPollRead, fds[i].events & kPollWrite);
    return park_on(interests, deadline);
  });
}

// select and pselect. The kernel clears the sets when nothing is ready, so the descriptors
// asked for are kept aside and put back before each new question. Returns how long it parked
// in *waited (0 when it answered at once).
int select_wait(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                const timespec* span, const sigset_t* mask, bool masked, rt::Nanos* waited) {
  TemporaryMask during(masked ? mask : nullptr);  // pselect's mask holds while it waits
  fd_set* live[3] = {readfds, writefds, exceptfds};
  fd_set asked[3];
  // The kernel reads and writes whole longs covering nfds bits; nfds <= FD_SETSIZE here.
  constexpr int kBits = 8 * sizeof(long);
  const std::size_t bytes = nfds > 0 ? (nfds + kBits - 1) / kBits * sizeof(long) : 0;
  for (int i = 0; i < 3; ++i)
    if (live[i]) memcpy(&asked[i], live[i], bytes);
  auto check = [&] {
    if (masked) {
      const timespec zero{};
      return real::pselect(nfds, readfds, writefds, exceptfds, &zero, mask);
    }
    timeval zero{};
    return real::select(nfds, readfds, writefds, exceptfds, &zero);
  };
  *waited = 0;
  int n = check();
  if (n != 0 || (span && timeout_zero(*span))) return answered_at_once(n);
  const rt::Nanos start = rt::monotonic_now();
  auto ask_again = [&] {
    for (int i = 0; i < 3; ++i)
      if (live[i]) memcpy(live[i], &asked[i], bytes);
    return check();
  };
  auto in = [&](int set, int fd) { return live[set] && FD_ISSET(fd, &asked[set]); };
  Interests interests;
  n = ask_until_ready(deadline_for(span), ask_again, [&](rt::Nanos deadline) {
    interests.clear();
    for (int fd = 0; fd < nfds; ++fd)  // exceptional conditions (urgent data) count as reads
      add_interest(interests, fd, in(0, fd) || in(2, fd), in(1, fd));
    return park_on(interests, deadline);
  });
  *waited = rt::monotonic_now() - start;
  return n;
}

int poll_for(struct pollfd* fds, nfds_t nfds, int timeout_ms) {
  CancellationPoint cp;
  if (timeout_ms < 0) return poll_wait(fds, nfds, nullptr, nullptr, false);
  const timespec span{timeout_ms / 1000, (timeout_ms % 1000) * 1'000'000L};
  return poll_wait(fds, nfds, &span, nullptr, false);
}

int ppoll_for(struct pollfd* fds, nfds_t nfds, const timespec* timeout, const sigset_t* mask) {
  CancellationPoint cp;
  if (timeout && !timeout_valid(*timeout)) return errno = EINVAL, -1;
  return poll_wait(fds, nfds, timeout, mask, true);
}

int select_for(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, timeval* tv) {
  timespec span{};
  if (tv) {
    // As glibc's select.c, before its cancellation point: negative fields are EINVAL; a
    // tv_usec of a second or more carries into tv_sec (saturating), narrowed to 32 bits first.
    std::int64_t sec = tv->tv_sec;
    std::int32_t usec = static_cast<std::int32_t>(tv->tv_usec);
    if (sec < 0 || usec < 0) return errno = EINVAL, -1;
    if (usec / 1'000'000 > INT64_MAX - sec) {
      span = {INT64_MAX, 999'999'999};
    } else {
      span = {sec + usec / 1'000'000, (usec % 1'000'000) * 1000L};
    }
  }
  CancellationPoint cp;
  rt::Nanos waited = 0;
  int n = select_wait(nfds, readfds, writefds, exceptfds, tv ? &span : nullptr, nullptr, false,
                      &waited);
  if (tv) {
    // Linux writes back the time left (the select system call does; glibc copies it out).
    __int128 left = static_cast<__int128>(span.tv_sec) * 1'000'000'000 + span.tv_nsec - waited;
    if (left < 0) left = 0;
    tv->tv_sec = static_cast<time_t>(left / 1'000'000'000);
    tv->tv_usec = static_cast<suseconds_t>(left % 1'000'000'000 / 1000);
  }
  return n;
}

int pselect_for(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                const timespec* timeout, const sigset_t* mask) {
  CancellationPoint cp;
  if (timeout && !timeout_valid(*timeout)) return errno = EINVAL, -1;
  rt::Nanos waited;  // pselect leaves its timeout alone
  return select_wait(nfds, readfds, writefds, exceptfds, timeout, mask, true, &waited);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone())
    return real::poll(fds, nfds, timeout);
  return shim::poll_for(fds, nfds, timeout);
}

GREENRUN_EXPORT int ppoll(struct pollfd* fds, nfds_t nfds, const struct timespec* timeout,
                          const sigset_t* sigmask) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone())
    return real::ppoll(fds, nfds, timeout, sigmask);
  return shim::ppoll_for(fds, nfds, timeout, sigmask);
}

// A descriptor at or above FD_SETSIZE is libc's business (the program's fd_set is then larger
// than the type says): such calls go straight through, as blocking calls.
GREENRUN_EXPORT int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                           struct timeval* timeout) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone() || nfds > FD_SETSIZE)
    return real::select(nfds, readfds, writefds, exceptfds, timeout);
  return shim::select_for(nfds, readfds, writefds, exceptfds, timeout);
}

GREENRUN_EXPORT int pselect(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds,
                            const struct timespec* timeout, const sigset_t* sigmask) {
  if (!rt::on_green_thread(rt::CallFamily::poll) || shim::alone() || nfds > FD_SETSIZE)
    return real::pselect(nfds, readfds, writefds, exceptfds, timeout, sigmask);
  return shim::pselect_for(nfds, readfds, writefds, exceptfds, timeout, sigmask);
}

// _FORTIFY_SOURCE turns poll and ppoll on arrays of known size into these (bits/poll2.h), and
// glibc's own versions call its poll directly, past us: check the size as glibc does, then
// take the usual way.
GREENRUN_EXPORT int __poll_chk(struct pollfd* fds, nfds_t nfds, int timeout, size_t fdslen) {
  if (fdslen / sizeof(*fds) < nfds) real::chk_fail();
  return poll(fds, nfds, timeout);
}

GREENRUN_EXPORT int __ppoll_chk(struct pollfd* fds, nfds_t nfds, const struct timespec* timeout,
                                const sigset_t* sigmask, size_t fdslen) {
  if (fdslen / sizeof(*fds) < nfds) real::chk_fail();
  return ppoll(fds, nfds, timeout, sigmask);
}
