// Shared by the multiplexing shims (poll.cpp, epoll.cpp): the loop that parks until a
// descriptor may be ready and then asks the kernel again with a zero timeout. The kernel
// computes every result (revents, POLLNVAL, EBADF, the sets a timeout clears); parking only
// decides when to ask. Also the one way a call that did not wait reports itself as a probe
// (answered_at_once, declined_at_once): multiplexing, trylocks, and EAGAIN the program asked for.
#pragma once
#include <errno.h>
#include <time.h>

#include <algorithm>

#include "backoff.h"
#include "hub.h"
#include "posix_thread.h"

namespace greenrun::shim {

// What the kernel accepts as a relative timeout (poll_select_set_timeout).
inline bool timeout_valid(const timespec& t) {
  return t.tv_sec >= 0 && t.tv_nsec >= 0 && t.tv_nsec < 1'000'000'000;
}
inline bool timeout_zero(const timespec& t) { return t.tv_sec == 0 && t.tv_nsec == 0; }

// The deadline of a validated relative timeout, measured from now; nullptr: never.
inline rt::Nanos deadline_for(const timespec* span) {
  rt::Nanos deadline = rt::kNever;
  if (span) rt::deadline_from_relative(span, deadline);
  return deadline;
}

// The result of a call answered at once, without waiting (a zero timeout, or something was
// already ready): others may need a turn first if the caller keeps asking (Scheduler::probe).
inline int answered_at_once(int n) {
  rt::current()->hub->scheduler().probe();
  return n;
}

// The result of a try that failed at once because another thread has not done its part yet: a
// trylock on a held lock, sem_trywait at zero, EAGAIN from a call the program asked not to
// block. A thread spinning on such tries is probing too. errno is put back after the probe,
// which may switch.
template <class Result>
Result declined_at_once(Result result) {
  const int saved_errno = errno;
  rt::current()->hub->scheduler().probe();
  errno = saved_errno;
  return result;
}

// Called once check() (the real call with a zero timeout) has found nothing: parks with
// park(deadline), which returns what FdTable::wait/wait_any return, and asks check() again,
// until it reports something (or fails) or the deadline passes; its last answer is the result.
// An interrupted park acts on a pending cancellation, else gives -1 with EINTR.
template <class Check, class Park>
int ask_until_ready(rt::Nanos deadline, Check check, Park park) {
  rt::Backoff retry(deadline);
  const int saved_errno = errno;  // a call that succeeds leaves errno alone, as libc's does
  for (;;) {
    int rc = park(deadline);
    if (rc != 0 && rc != -ETIMEDOUT && rc != -EBADF && rc != -EINTR) {
      // A descriptor libuv will not watch: look again after a growing pause.
      rc = retry.park(rt::WaitReason::fd_readable) == rt::Wake::interrupted ? -EINTR : 0;
    }
    if (rc == -EINTR) {
      test_cancel();
      errno = EINTR;
      return -1;
    }
    // -EBADF: a descriptor was closed meanwhile; the kernel's answer says what that means.
    errno = saved_errno;
    int n = check();
    if (n != 0 || rc == -ETIMEDOUT) return n;
    if (deadline != rt::kNever && rt::monotonic_now() >= deadline) return n;
  }
}

}  // namespace greenrun::shim
