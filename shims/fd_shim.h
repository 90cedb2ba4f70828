// The one path by which a descriptor call of a green thread waits: whether the call is ours to
// make cooperative, how each attempt is kept from blocking without touching the descriptor's
// flags (IoMode: MSG_DONTWAIT, RWF_NOWAIT, or readiness first), and the park between attempts.
#pragma once
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "fd_table.h"
#include "hub.h"
#include "readiness.h"

namespace greenrun::shim {

// The descriptor's entry when a blocking call on it should park instead of blocking the hub;
// nullptr when the call should go straight to libc: off green threads, on descriptors that are
// always ready, and on descriptors the program made non-blocking (it expects EAGAIN).
inline rt::FdEntry* cooperative(int fd) {
  if (!rt::on_green_thread()) return nullptr;
  rt::FdEntry* e = rt::current()->hub->fds().entry(fd);
  if (!e || !e->parkable() || e->nonblocking) return nullptr;
  return e;
}

// True when nothing else could run while this thread blocks: the plain blocking call is then
// exact and cheapest.
inline bool alone_on_hub() { return rt::current()->hub->alone(); }

// The result of a call passed straight to libc on a green thread (the descriptor is the
// program's non-blocking one, the program passed MSG_DONTWAIT, or the call is not ours to
// park): an EAGAIN there reaches the program, which will try again, so it is a declined try.
template <class Result>
Result as_the_program_asked(Result r) {
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return declined_at_once(r);
  return r;
}

// A deadline from a socket timeout (0: none).
inline rt::Nanos deadline_for_timeout(rt::Nanos timeout) {
  return timeout > 0 ? rt::monotonic_now() + timeout : rt::kNever;
}

// Parks until `want` may be ready on `e`. 0, or -1 with errno: EAGAIN when the deadline passes
// (as the kernel reports a socket timeout), EBADF when closed meanwhile, EINTR.
int park_until_ready(rt::FdEntry& e, rt::Want want, rt::Nanos deadline);

// Waits until poll says `want` is ready on `e` (its kernel flag is blocking), so that the plain
// call that follows returns at once. 0, or -1 with errno as park_until_ready.
int wait_ready(rt::FdEntry& e, rt::Want want, rt::Nanos deadline);

// How to make one attempt without blocking: add these to the real call.
struct Attempt {
  int msg_flags = 0;  // MSG_DONTWAIT: use recv/send/recvmsg/sendmsg with it
  int rwf_flags = 0;  // RWF_NOWAIT: use preadv2/pwritev2 at offset -1 with it
};

// Makes op(Attempt) until it does not report EAGAIN, parking between attempts. A call that
// succeeds leaves errno as it found it, as the kernel does (the EAGAIN of a first attempt must
// not show). Fails as park_until_ready does when the wait ends without readiness.
template <class Op>
auto without_blocking(rt::FdEntry& e, rt::Want want, rt::Nanos deadline, Op op) -> decltype(op(Attempt{})) {
  const int saved_errno = errno;
  for (;;) {
    Attempt attempt;
    if (e.mode == rt::IoMode::dontwait) {
      attempt.msg_flags = MSG_DONTWAIT;
    } else if (e.mode == rt::IoMode::nowait) {
      attempt.rwf_flags = RWF_NOWAIT;
    } else if (wait_ready(e, want, deadline) != 0) {
      return -1;
    }
    auto r = op(attempt);
    if (r >= 0) {
      errno = saved_errno;
      return r;
    }
    if (attempt.rwf_flags && (errno == EOPNOTSUPP || errno == ENOSYS)) {
      // This kind of file (a terminal, an old kernel's pipe) takes no RWF_NOWAIT: nothing was
      // done; from now on ask poll first.
      rt::current()->hub->fds().set_mode(e, rt::IoMode::readiness);
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return r;
    if (park_until_ready(e, want, deadline) != 0) return -1;
  }
}

}  // namespace greenrun::shim
