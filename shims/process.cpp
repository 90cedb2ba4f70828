// Waiting for children, and fork. A wait first tries the real call with WNOHANG and parks only
// if no child is ready: on a pidfd when it waits for one child's exit (readable once the child
// has exited), otherwise by polling with the runtime's Backoff (every 1 ms, doubling to 16 ms),
// parked as waiting for a child. In the child of fork only the calling green thread survives
// (see after_fork_child); vfork is fork here.
// Defines: waitpid wait wait3 wait4 waitid fork vfork
#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>

#include "backoff.h"
#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "process_shim.h"
#include "real.h"

namespace greenrun::shim {
namespace {

// A pidfd for the child being waited for, closed however the wait ends (a cancellation
// unwinds through here). -1 when there is none: polling then.
class PidFd {
 public:
  explicit PidFd(pid_t pid) {
    // ESRCH (reaped meanwhile by another thread: the retry says ECHILD) or ENOSYS (an old
    // kernel): poll instead.
    fd_ = static_cast<int>(real::syscall(SYS_pidfd_open, static_cast<long>(pid), 0L));
    if (fd_ < 0) fd_ = -1;
  }
  ~PidFd() { drop(); }
  PidFd(const PidFd&) = delete;
  PidFd& operator=(const PidFd&) = delete;
  int fd() const { return fd_; }
  void drop() {
    if (fd_ < 0) return;
    int saved = errno;
    rt::current()->hub->fds().forget(fd_);
    real::close(fd_);
    fd_ = -1;
    errno = saved;
  }

 private:
  int fd_ = -1;
};

// Parks until the child may have changed state: 0 to try again, or -EINTR.
// Polling is for the waits no single pidfd fits (any child, a process group, stops and
// continues). A threadpool thread blocked in waitid(WNOWAIT) was the alternative; it was
// rejected because such a thread cannot be taken back: a cancelled or interrupted wait would
// leave it blocked (and its pool slot taken, shared with DNS lookups) until some child changes
// state, and several waiters would each hold one. A poll costs a WNOHANG system call per
// period and at most Backoff::kCap (16 ms) of extra latency.
int park_once(PidFd& pidfd, rt::Backoff& backoff, bool cancellable) {
  rt::Hub* hub = rt::current()->hub;
  std::optional<CancellationPoint> cp;
  if (cancellable) cp.emplace();
  if (pidfd.fd() >= 0) {
    rt::FdEntry* e = hub->fds().entry(pidfd.fd());
    if (e && e->parkable()) {
      int rc = hub->fds().wait(*e, rt::Want::read, rt::kNever);
      if (rc == -EINTR) return rc;
      if (rc == 0 && e->parkable()) return 0;
    }
    pidfd.drop();  // epoll refused it: poll from now on
  }
  return backoff.park(rt::WaitReason::child_process) == rt::Wake::interrupted ? -EINTR : 0;
}

// The loop every wait goes through. attempt() makes the real call with WNOHANG added and
// returns 1 (a child was reported), 0 (none ready) or -1 (an error, errno set). `pid` > 0
// with `exits_only` lets the wait park on a pidfd. Returns attempt()'s 1 or -1.
template <class Attempt>
int wait_loop(pid_t pid, bool exits_only, bool cancellable, Attempt attempt) {
  if (cancellable) test_cancel();
  int r = attempt();
  if (r != 0) return r;
  RestartableCall restartable;  // the wait family restarts under SA_RESTART (signal(7))
  PidFd pidfd(pid > 0 && exits_only ? pid : -1);
  rt::Backoff backoff;  // no deadline: the wait family has no timeout
  for (;;) {
    if (park_once(pidfd, backoff, cancellable) == -EINTR) {
      if (cancellable) test_cancel();
      errno = EINTR;  // as a signal interrupting the native wait would
      return -1;
    }
    r = attempt();
    if (r != 0) return r;
  }
}

pid_t wait4_on(pid_t pid, int* status, int options, struct rusage* usage, bool cancellable) {
  pid_t result = 0;
  bool exits_only = !(options & (WUNTRACED | WCONTINUED));
  int r = wait_loop(pid, exits_only, cancellable, [&] {
    result = real::wait4(pid, status, options | WNOHANG, usage);
    return result > 0 ? 1 : result;
  });
  return r < 0 ? -1 : result;
}

int waitid_on(idtype_t type, id_t id, siginfo_t* info, int options) {
  siginfo_t local;
  siginfo_t* out = info ? info : &local;  // Linux accepts a null infop; we need to look
  bool exits_only = !(options & (WSTOPPED | WCONTINUED));
  pid_t pid = type == P_PID ? static_cast<pid_t>(id) : -1;
  int r = wait_loop(pid, exits_only, true, [&] {
    out->si_pid = 0;
    int rc = real::waitid(type, id, out, options | WNOHANG);
    if (rc < 0) return -1;
    return out->si_pid != 0 ? 1 : 0;
  });
  return r < 0 ? -1 : 0;
}

// In the child of fork: the runtime keeps only the calling green thread (Hub::after_fork_child)
// and the pthread registry only its record. Done by a pthread_atfork child handler registered
// before main (note_forks), so before the program's own: child handlers run in registration
// order, and one that unlocks a mutex must not hand it to a thread of the parent. The fork
// shim does it itself if the handler did not run.
bool child_ready = false;

void after_fork_child() {
  int saved = errno;
  rt::current()->hub->after_fork_child();
  survive_fork(self());
  child_ready = true;
  errno = saved;
}

}  // namespace

void note_forks() {
  pthread_atfork(nullptr, nullptr, [] {
    if (rt::on_green_thread()) after_fork_child();  // a fork made by a green thread
  });
}

pid_t wait_child(pid_t pid, int* status, int options, bool cancellable) {
  if (!rt::on_green_thread() || (options & WNOHANG) || alone())
    return real::wait4(pid, status, options, nullptr);
  return wait4_on(pid, status, options, nullptr, cancellable);
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT pid_t waitpid(pid_t pid, int* status, int options) {
  if (!rt::on_green_thread() || (options & WNOHANG) || shim::alone())
    return real::waitpid(pid, status, options);
  return shim::wait4_on(pid, status, options, nullptr, true);
}

GREENRUN_EXPORT pid_t wait(int* status) {
  if (!rt::on_green_thread() || shim::alone()) return real::wait(status);
  return shim::wait4_on(-1, status, 0, nullptr, true);
}

// wait3 and wait4 are declared noexcept (__THROWNL): not cancellation points here, since a
// cancellation must not unwind through them.
GREENRUN_EXPORT pid_t wait3(int* status, int options, struct rusage* usage) noexcept {
  if (!rt::on_green_thread() || (options & WNOHANG) || shim::alone())
    return real::wait3(status, options, usage);
  return shim::wait4_on(-1, status, options, usage, false);
}

GREENRUN_EXPORT pid_t wait4(pid_t pid, int* status, int options, struct rusage* usage) noexcept {
  if (!rt::on_green_thread() || (options & WNOHANG) || shim::alone())
    return real::wait4(pid, status, options, usage);
  return shim::wait4_on(pid, status, options, usage, false);
}

GREENRUN_EXPORT int waitid(idtype_t type, id_t id, siginfo_t* info, int options) {
  if (!rt::on_green_thread() || (options & WNOHANG) || shim::alone())
    return real::waitid(type, id, info, options);
  return shim::waitid_on(type, id, info, options);
}

// The child keeps the calling green thread only; its pthread_self() is the same value as the
// caller's in the parent (a green pthread_t is its record's address, copied with the memory).
GREENRUN_EXPORT pid_t fork(void) noexcept {
  rt::FdTable::children_may_share();  // the child holds every descriptor open now
  if (!rt::on_green_thread()) return real::fork();
  shim::child_ready = false;
  pid_t pid = real::fork();
  if (pid == 0 && !shim::child_ready) shim::after_fork_child();
  return pid;
}

// A real vfork would suspend the hub's OS thread, and with it every green thread, until the
// child execs; and the child, sharing our memory, would run the shims (close, for one) on the
// parent's runtime state. fork is a permitted implementation of vfork and has neither problem.
GREENRUN_EXPORT pid_t vfork(void) noexcept { return fork(); }
