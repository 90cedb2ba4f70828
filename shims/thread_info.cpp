// Every other pthread_* that takes a pthread_t. A green pthread_t is not a glibc thread
// descriptor, so none of these may hand it to glibc: we answer for green threads ourselves,
// and pass the main thread's (real) pthread_t and unknown ones through.
// Defines: pthread_getattr_np pthread_setname_np pthread_getname_np pthread_getschedparam
//          pthread_setschedparam pthread_setschedprio pthread_getaffinity_np
//          pthread_setaffinity_np pthread_getcpuclockid pthread_kill pthread_sigqueue
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <climits>
#include <cstring>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"
#include "thread_identity.h"

using namespace greenrun;

namespace {
// The green (non-main) thread behind `t`, or nullptr when glibc should answer.
shim::PosixThread* green(pthread_t t) {
  if (!rt::current()) return nullptr;  // no hub: every pthread_t is a real one
  shim::PosixThread* p = shim::find(t);
  return p && !p->green->is_root ? p : nullptr;
}
// A pthread_t glibc must not see: one we no longer know on the hub's OS thread, or a green one
// on an OS thread without green threads (with a diagnostic naming it).
bool unknown(pthread_t t, const char* call) {
  if (!rt::current()) return shim::refuse_green_handle(t, call);
  return !shim::find(t) && t != real::pthread_self();
}
}  // namespace

GREENRUN_EXPORT int pthread_getattr_np(pthread_t t, pthread_attr_t* attr) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_getattr_np") ? ESRCH : real::pthread_getattr_np(t, attr);
  // Runtimes (Rust's std, the JVM) read the stack bounds from here to place their own guards.
  int rc = pthread_attr_init(attr);
  if (rc != 0) return rc;
  const rt::Stack& s = p->green->stack;
  pthread_attr_setstack(attr, s.lo, s.size);
  pthread_attr_setguardsize(attr, s.guard_size);
  pthread_attr_setdetachstate(attr, p->detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
  return 0;
}

GREENRUN_EXPORT int pthread_setname_np(pthread_t t, const char* name) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) {
    if (unknown(t, "pthread_setname_np")) return ESRCH;
    if (rt::current()) shim::keep_inherited(shim::Inherited::name);  // the main thread's
    int rc = real::pthread_setname_np(t, name);
    if (rc == 0 && rt::current()) rt::set_name(rt::Hub::get().root(), name);
    return rc;
  }
  if (std::strlen(name) > 15) return ERANGE;  // glibc's limit: 16 bytes with the NUL
  shim::set_name_of(p, name, 15);
  return 0;
}

GREENRUN_EXPORT int pthread_getname_np(pthread_t t, char* buf, size_t len) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_getname_np") ? ESRCH : real::pthread_getname_np(t, buf, len);
  char name[16];
  shim::name_of(p, name);  // what prctl(PR_GET_NAME) and /proc/.../comm give too
  std::size_t n = std::strlen(name);
  if (len < n + 1) return ERANGE;
  std::memcpy(buf, name, n + 1);
  return 0;
}

GREENRUN_EXPORT int pthread_getschedparam(pthread_t t, int* policy,
                                          struct sched_param* param) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_getschedparam") ? ESRCH : real::pthread_getschedparam(t, policy, param);
  *policy = shim::scheduler_of(p);  // what sched_getscheduler gives for its thread id
  param->sched_priority = p->sched_priority;
  return 0;
}

GREENRUN_EXPORT int pthread_setschedparam(pthread_t t, int policy,
                                          const struct sched_param* param) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_setschedparam") ? ESRCH : real::pthread_setschedparam(t, policy, param);
  // glibc makes this sched_setscheduler on the thread's id: the same checks, the same record.
  if (policy < 0) return EINVAL;
  return static_cast<int>(-shim::set_scheduler_of(p, policy, param));
}

GREENRUN_EXPORT int pthread_setschedprio(pthread_t t, int priority) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_setschedprio") ? ESRCH : real::pthread_setschedprio(t, priority);
  sched_param param{};
  param.sched_priority = priority;
  return static_cast<int>(-shim::set_scheduler_of(p, -1, &param));  // glibc: sched_setparam
}

// A green thread's CPU mask is its own record (shims/thread_identity.cpp), shared with
// sched_[gs]etaffinity on its thread id; it runs where the hub's OS thread runs whatever it says.
GREENRUN_EXPORT int pthread_getaffinity_np(pthread_t t, size_t size, cpu_set_t* set) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_getaffinity_np") ? ESRCH : real::pthread_getaffinity_np(t, size, set);
  long n = shim::affinity_of(p, size < INT_MAX ? size : INT_MAX, set);
  if (n < 0) return static_cast<int>(-n);
  std::memset(reinterpret_cast<char*>(set) + n, 0, size - static_cast<size_t>(n));  // as glibc
  return 0;
}

GREENRUN_EXPORT int pthread_setaffinity_np(pthread_t t, size_t size,
                                           const cpu_set_t* set) noexcept {
  shim::PosixThread* p = green(t);
  if (!p && unknown(t, "pthread_setaffinity_np")) return ESRCH;
  if (!p && rt::current()) shim::keep_inherited(shim::Inherited::affinity);  // the main thread's
  if (!p) return real::pthread_setaffinity_np(t, size, set);
  return static_cast<int>(-shim::set_affinity_of(p, size, set));
}

GREENRUN_EXPORT int pthread_getcpuclockid(pthread_t t, clockid_t* clock) noexcept {
  if (!green(t)) return unknown(t, "pthread_getcpuclockid") ? ESRCH : real::pthread_getcpuclockid(t, clock);
  // Green threads share one OS thread's CPU clock.
  return real::pthread_getcpuclockid(real::pthread_self(), clock);
}

GREENRUN_EXPORT int pthread_kill(pthread_t t, int sig) noexcept {
  shim::PosixThread* p = green(t);
  // The main thread too, from a green thread: its signal may have to wait for it to run.
  if (!p && rt::on_green_thread() && (p = shim::find(t)) && !p->green->is_root) p = nullptr;
  if (!p) return unknown(t, "pthread_kill") ? ESRCH : real::pthread_kill(t, sig);
  if (sig < 0 || sig >= NSIG) return EINVAL;
  if (p->finished) return ESRCH;
  if (sig == 0) return 0;
  return shim::send_to(p, sig);
}

GREENRUN_EXPORT int pthread_sigqueue(pthread_t t, int sig, const union sigval value) noexcept {
  shim::PosixThread* p = green(t);
  if (!p) return unknown(t, "pthread_sigqueue") ? ESRCH : real::pthread_sigqueue(t, sig, value);
  if (sig < 0 || sig >= NSIG) return EINVAL;
  if (p->finished) return ESRCH;
  if (sig == 0) return 0;
  // To itself the value travels; to another green thread it is left pending as pthread_kill
  // would, and the value is lost (the handler sees si_code SI_TKILL).
  if (p == shim::self()) return real::pthread_sigqueue(real::pthread_self(), sig, value);
  return shim::send_to(p, sig);
}
