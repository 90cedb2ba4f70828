// Waiting for signals on a green thread: pause and sigsuspend park until a handler runs
// (then -1 EINTR); the sigwait family parks on a signalfd for the awaited set, through the fd
// table, and takes the signal with a zero-timeout sigtimedwait. The awaited signals must be
// blocked (by every green thread, so that the OS thread blocks them too), as POSIX requires.
// Defines: pause sigsuspend sigwait sigwaitinfo sigtimedwait
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"
#include "signal_shim.h"

namespace greenrun::shim {
namespace {

// Parks until a handler interrupts the caller (pause, sigsuspend). Always EINTR.
int park_for_handler() {
  rt::Hub* hub = rt::current()->hub;
  {
    CancellationPoint cp;  // (may end the thread here: before the waker is counted)
    hub->add_external_waker();  // only a signal may end this wait: not a deadlock
    while (hub->scheduler().park(rt::WaitReason::signal) != rt::Wake::interrupted) {
    }
    hub->remove_external_waker();
  }
  test_cancel();  // takes a pthread_kill'ed signal, or acts on a cancellation
  return errno = EINTR, -1;
}

int suspend(const sigset_t* mask) {
  const std::uint64_t before = taken.load();
  int rc = -1;
  {
    TemporaryMask during(mask);
    if (taken.load() == before) rc = park_for_handler();
  }
  return errno = EINTR, rc;
}

// The first signal of `set` pending for the caller: its own (from pthread_kill), then the
// OS thread's (process-directed, or sent to a thread that blocks it). 0 if none.
int take_waited(PosixThread* p, const sigset_t* set, siginfo_t* info) {
  for (int sig = 1; sig <= kTrackedSignals; ++sig) {
    if (!(p->pending_signals & signal_bit(sig)) || sigismember(set, sig) != 1) continue;
    p->pending_signals &= ~signal_bit(sig);
    if (info) {
      *info = siginfo_t{};
      info->si_signo = sig;
      info->si_code = SI_TKILL;
      info->si_pid = getpid();
    }
    return sig;
  }
  const struct timespec zero {0, 0};
  int sig = real::sigtimedwait(set, info, &zero);
  return sig > 0 ? sig : 0;
}

// sigtimedwait on a green thread: a signalfd for `set` tells us, through the fd table, when
// one is pending. Returns the signal, or -1 with errno (EAGAIN on timeout, EINTR by a handler
// unless `restart`).
int wait_signal(const sigset_t* set, siginfo_t* info, rt::Nanos deadline, bool restart) {
  PosixThread* p = self();
  CancellationPoint cp;
  if (int sig = take_waited(p, set, info)) return sig;
  int fd = real::signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return -1;
  rt::FdTable& fds = rt::current()->hub->fds();
  rt::FdEntry& e = fds.adopt_new(fd, rt::FdKind::pollable, true);
  int result;
  for (;;) {
    if (int sig = take_waited(p, set, info)) {
      result = sig;
      break;
    }
    int rc = fds.wait(e, rt::Want::read, deadline, rt::WaitReason::signal);
    if (rc == -ETIMEDOUT) {
      result = -EAGAIN;
      break;
    }
    if (rc == -EINTR && !restart) {
      if (int sig = take_waited(p, set, info)) {
        result = sig;
        break;
      }
      result = -EINTR;
      break;
    }
    if (rc < 0 && rc != -EINTR) {
      result = rc;
      break;
    }
  }
  fds.forget(fd);
  real::close(fd);
  if (result < 0) return errno = -result, -1;
  return result;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pause(void) {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self()) return real::pause();
  return shim::park_for_handler();
}

GREENRUN_EXPORT int sigsuspend(const sigset_t* mask) {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self()) return real::sigsuspend(mask);
  return shim::suspend(mask);
}

GREENRUN_EXPORT int sigtimedwait(const sigset_t* set, siginfo_t* info, const struct timespec* timeout) {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self())
    return real::sigtimedwait(set, info, timeout);
  rt::Nanos deadline = rt::kNever;
  if (timeout) {
    if (int rc = rt::deadline_from_relative(timeout, deadline)) return errno = rc, -1;
  }
  return shim::wait_signal(set, info, deadline, false);
}

GREENRUN_EXPORT int sigwaitinfo(const sigset_t* set, siginfo_t* info) {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self()) return real::sigwaitinfo(set, info);
  return shim::wait_signal(set, info, rt::kNever, false);
}

GREENRUN_EXPORT int sigwait(const sigset_t* set, int* sig) {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self()) return real::sigwait(set, sig);
  int rc = shim::wait_signal(set, nullptr, rt::kNever, true);  // sigwait never gives EINTR
  if (rc < 0) return errno;
  *sig = rc;
  return 0;
}
