// The one wait loop every blocking descriptor operation goes through: try the operation, and
// only if it would block (EAGAIN) park until the descriptor is ready, then try again.
// Never poll-then-operate: the first attempt costs nothing extra when data is already there.
#pragma once
#include <cerrno>

#include "fd_table.h"
#include "green_thread.h"
#include "hub.h"

namespace greenrun::rt {

// op() must not block (a non-blocking descriptor, or MSG_DONTWAIT) and returns -1 with errno
// like a system call. When `deadline` passes (SO_RCVTIMEO/SO_SNDTIMEO), the result is -1 with
// EAGAIN, as the kernel reports a socket timeout; a close while waiting gives EBADF.
// A call that succeeds leaves errno as it found it, as the kernel does: the EAGAIN of a first
// attempt (and whatever libuv left while we were parked) must not show.
template <class Op>
auto retry_io(FdEntry& e, Want want, Nanos deadline, Op op) -> decltype(op()) {
  const int saved_errno = errno;
  for (;;) {
    auto r = op();
    if (r >= 0) {
      errno = saved_errno;
      return r;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return r;
    int rc = current()->hub->fds().wait(e, want, deadline);
    if (rc == -ETIMEDOUT) rc = -EAGAIN;
    if (rc < 0) {
      errno = -rc;
      return -1;
    }
  }
}

// A deadline from a socket timeout (0: none).
inline Nanos deadline_for_timeout(Nanos timeout) {
  return timeout > 0 ? monotonic_now() + timeout : kNever;
}

}  // namespace greenrun::rt
