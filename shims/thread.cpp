// Thread life: pthread_create, join (all forms), detach, exit, self, equal, once, yield.
// Defines: pthread_create pthread_join pthread_tryjoin_np pthread_timedjoin_np
//          pthread_clockjoin_np pthread_detach pthread_exit pthread_self pthread_equal
//          pthread_once pthread_setattr_default_np
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/single_threaded.h>

#include <cstdint>
#include <new>

#include "config.h"
#include "diagnostics.h"
#include "export.h"
#include "handoff.h"
#include "hub.h"
#include "tls_block.h"
#include "posix_thread.h"
#include "real.h"
#include "startup.h"

namespace greenrun::shim {
namespace {

constexpr int kOnceInProgress = 1;  // glibc's __PTHREAD_ONCE_INPROGRESS / _DONE bits, so a
constexpr int kOnceDone = 2;        // native caller of pthread_once sees the same state

std::size_t running_threads = 0;  // started and not finished, main excluded
rt::WaitList thread_finished;     // the main thread's pthread_exit waits here

void free_record(PosixThread* p) {
  unregister_thread(p);
  rt::release(p->green);
  delete p;
}

// What finishing means after the thread's own stack is done with: key destructors, then a
// joiner can take the result (or a detached thread's record goes away).
void finish(PosixThread* p) {
  run_key_destructors(p);
  p->finished = true;
  --running_threads;
  p->green->hub->scheduler().wake_all(thread_finished);
  if (p->detached) free_record(p);
}

// In a fork child whose caller was not the main thread, that thread is the process's last
// original thread: when it ends, the process exits with status 0 once the threads it created
// have finished, as glibc's start_thread does for the last thread.
[[noreturn]] void finish_fork_root(rt::Scheduler& s) {
  while (running_threads > 0) {
    rt::Waiter w;
    s.wait_on(thread_finished, w, rt::WaitReason::join, nullptr, rt::kNever);
  }
  std::exit(0);
}

void posix_body(rt::GreenThread* g) {
  auto* const p = static_cast<PosixThread*>(g->posix);
  sigjmp_buf landing;
  if (sigsetjmp(landing, 0) == 0) {
    p->exit_landing = &landing;
    p->result = p->start(p->arg);
  }
  rt::return_to_scheduler();
  p->exit_landing = nullptr;
  // glibc's order at thread exit: thread_local destructors, then pthread_key destructors.
  if (g->own_tls) rt::tls::run_thread_local_destructors();
  rt::return_to_scheduler();
  bool fork_root = p->fork_root;  // finish() may free a detached record
  finish(p);
  if (fork_root) finish_fork_root(g->hub->scheduler());
  g->hub->scheduler().exit_current();
}

// glibc's default stack size for a new thread: the RLIMIT_STACK soft limit at start-up, or what
// pthread_setattr_default_np set since (which clears this cache).
std::size_t cached_default_stack_size = 0;

std::size_t glibc_default_stack_size() {
  if (cached_default_stack_size) return cached_default_stack_size;
  pthread_attr_t defaults;
  std::size_t size = 0;
  if (pthread_getattr_default_np(&defaults) == 0) {
    pthread_attr_getstacksize(&defaults, &size);
    pthread_attr_destroy(&defaults);
  }
  return cached_default_stack_size = size ? size : 8 << 20;
}

// For a thread that did not ask for a size: GREENRUN_STACK_SIZE when set, else glibc's.
std::size_t default_stack_size() {
  std::size_t configured = preload::config().stack_size;
  return configured ? configured : glibc_default_stack_size();
}

// What pthread_create's attributes ask of the new thread's stack and TLS.
rt::ThreadSpec spec_from(const pthread_attr_t* attr, int& detach) {
  rt::ThreadSpec spec;
  spec.own_tls = preload::config().own_tls && rt::tls::available();
  detach = PTHREAD_CREATE_JOINABLE;
  if (!attr) {
    spec.stack_size = default_stack_size();
    return spec;
  }
  pthread_attr_getdetachstate(attr, &detach);
  pthread_attr_getstacksize(attr, &spec.stack_size);  // glibc's default when none was set
  if (preload::config().stack_size && spec.stack_size == glibc_default_stack_size())
    spec.stack_size = preload::config().stack_size;
  pthread_attr_getguardsize(attr, &spec.guard_size);
  // glibc keeps the top of a stack the program supplied, or null, and pthread_attr_getstack
  // returns it minus the size: the top is null exactly when none was set.
  void* bottom = nullptr;
  std::size_t size = 0;
  pthread_attr_getstack(attr, &bottom, &size);
  if (reinterpret_cast<std::uintptr_t>(bottom) + size != 0) {
    spec.user_stack = bottom;
    spec.stack_size = size;
  }
  return spec;
}

int create(pthread_t* out, const pthread_attr_t* attr, void* (*start)(void*), void* arg) {
  if (!out || !start) return EINVAL;
  rt::Hub* hub = preload::ensure_hub();
  int detach;
  rt::ThreadSpec spec = spec_from(attr, detach);
  auto* p = new (std::nothrow) PosixThread();
  if (!p) return EAGAIN;
  int error = 0;
  if (spec.own_tls && rt::tls::static_tls_grew() && running_threads > 0)
    rt::warn(rt::current(),
             "a library with initial-exec thread-local storage was dlopen'd while green threads "
             "ran: threads that existed then find its thread-local variables zeroed, not "
             "initialised; noticed by",
             "load it before the first pthread_create (link it, or LD_PRELOAD it)");
  rt::GreenThread* g = hub->create_thread(&posix_body, nullptr, spec, &error);
  if (!g) {
    delete p;
    if (error == EAGAIN && spec.own_tls)
      rt::warn(rt::current(),
               "pthread_create: the loader could not allocate thread-local storage for a new "
               "thread (out of memory): EAGAIN, as glibc; the caller is",
               "free memory or lower the number of threads");
    return error == EINVAL ? EINVAL : EAGAIN;
  }
  g->posix = p;
  g->keeps_itself = true;  // with a reference of its own, dropped when it dies
  rt::retain(g);
  g->parent = hub->hub_thread();
  rt::retain(g);  // the record's reference
  p->green = g;
  p->handle = reinterpret_cast<pthread_t>(p);
  p->start = start;
  p->arg = arg;
  p->detached = detach == PTHREAD_CREATE_DETACHED;
  inherit_signal_mask(p);
  register_thread(p);
  if (g->own_tls) rt::tls::set_tid(g->tls, p->tid);
  ++running_threads;
  // glibc clears this on the first pthread_create; libstdc++ reads it to skip synchronisation
  // (std::stop_token, for one, then never releases a waiting std::stop_callback).
  __libc_single_threaded = 0;
  *out = p->handle;
  hub->scheduler().ready(g);
  return 0;
}

// Shared by every join: EDEADLK for yourself, EINVAL for a detached or already-claimed thread.
int join(pthread_t handle, void** result, rt::Nanos deadline, bool try_only) {
  PosixThread* p = find(handle);
  PosixThread* me = self();
  if (!p) return ESRCH;
  if (p == me) return EDEADLK;
  if (p->detached || p->join_claimed) return EINVAL;
  if (!p->finished) {
    if (try_only) return EBUSY;
    p->join_claimed = true;
    rt::Scheduler& s = p->green->hub->scheduler();
    while (!p->finished) {
      rt::Waiter w;
      rt::Wake why;
      {
        CancellationPoint cp;
        why = s.wait_on(p->green->joiners, w, rt::WaitReason::join, p->green, deadline);
      }
      if (why == rt::Wake::interrupted) {
        p->join_claimed = false;  // POSIX: a cancelled join leaves the target joinable
        test_cancel();
      }
      if (why == rt::Wake::timed_out && !p->finished) {
        p->join_claimed = false;
        return ETIMEDOUT;
      }
    }
  }
  if (result) *result = p->result;
  free_record(p);
  return 0;
}

}  // namespace

void survive_fork(PosixThread* survivor) {
  forget_other_threads(survivor);
  thread_finished = rt::WaitList();  // its waiters were the parent's threads
  // The survivor counts as running unless it is the main thread (which is never counted).
  running_threads = survivor && !survivor->green->is_root ? 1 : 0;
  if (survivor && !survivor->green->is_root) survivor->fork_root = true;
}

void finish_root(PosixThread* root) {
  rt::Scheduler& s = root->green->hub->scheduler();
  while (running_threads > 0) {
    rt::Waiter w;
    s.wait_on(thread_finished, w, rt::WaitReason::join, nullptr, rt::kNever);
  }
  run_key_destructors(root);
  std::exit(0);
}

PosixThread* adopt_root(rt::GreenThread* root) {
  auto* p = new PosixThread();
  p->green = root;
  p->handle = real::pthread_self();
  root->posix = p;
  register_thread(p);
  return p;
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_create(pthread_t* thread, const pthread_attr_t* attr,
                                   void* (*start)(void*), void* arg) {
  // Before the hub exists, the main thread's first pthread_create makes it.
  bool green = rt::current() ? rt::on_green_thread(rt::CallFamily::thread)
                             : preload::on_main_os_thread();
  if (!green) return real::pthread_create(thread, attr, start, arg);
  return shim::create(thread, attr, start, arg);
}

GREENRUN_EXPORT int pthread_join(pthread_t thread, void** result) {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && shim::refuse_green_handle(thread, "pthread_join")) return ESRCH;
    return real::pthread_join(thread, result);
  }
  return shim::join(thread, result, rt::kNever, false);
}

GREENRUN_EXPORT int pthread_tryjoin_np(pthread_t thread, void** result) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && shim::refuse_green_handle(thread, "pthread_tryjoin_np")) return ESRCH;
    return real::pthread_tryjoin_np(thread, result);
  }
  return shim::join(thread, result, rt::kNever, true);
}

GREENRUN_EXPORT int pthread_timedjoin_np(pthread_t thread, void** result,
                                         const struct timespec* abstime) {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && shim::refuse_green_handle(thread, "pthread_timedjoin_np")) return ESRCH;
    return real::pthread_timedjoin_np(thread, result, abstime);
  }
  rt::Nanos deadline = rt::kNever;
  if (abstime && rt::deadline_from_abstime(CLOCK_REALTIME, abstime, deadline) != 0)
    return EINVAL;
  return shim::join(thread, result, deadline, false);
}

GREENRUN_EXPORT int pthread_clockjoin_np(pthread_t thread, void** result, clockid_t clock,
                                         const struct timespec* abstime) {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && shim::refuse_green_handle(thread, "pthread_clockjoin_np")) return ESRCH;
    return real::pthread_clockjoin_np(thread, result, clock, abstime);
  }
  rt::Nanos deadline = rt::kNever;
  if (abstime) {
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
    if (rt::deadline_from_abstime(clock, abstime, deadline) != 0) return EINVAL;
  }
  return shim::join(thread, result, deadline, false);
}

GREENRUN_EXPORT int pthread_detach(pthread_t thread) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && shim::refuse_green_handle(thread, "pthread_detach")) return ESRCH;
    return real::pthread_detach(thread);
  }
  shim::PosixThread* p = shim::find(thread);
  if (!p) return ESRCH;
  if (p->detached) return EINVAL;
  if (p->green->is_root) return real::pthread_detach(thread);
  p->detached = true;
  if (p->finished) shim::free_record(p);
  return 0;
}

GREENRUN_EXPORT void pthread_exit(void* result) {
  if (!rt::on_green_thread(rt::CallFamily::thread)) real::pthread_exit(result);
  shim::exit_thread(result);
}

GREENRUN_EXPORT pthread_t pthread_self(void) noexcept {
  shim::PosixThread* p = rt::on_green_thread(rt::CallFamily::thread) ? shim::self() : nullptr;
  return p ? p->handle : real::pthread_self();
}

GREENRUN_EXPORT int pthread_equal(pthread_t a, pthread_t b) noexcept { return a == b; }

GREENRUN_EXPORT int pthread_once(pthread_once_t* once, void (*init)(void)) {
  if (!rt::on_green_thread(rt::CallFamily::thread)) return real::pthread_once(once, init);
  if (*once & shim::kOnceDone) return 0;
  rt::AddressWaiters& waiters = rt::current()->hub->address_waiters();
  while (*once & shim::kOnceInProgress) {  // another green thread runs init and parked in it
    rt::Waiter w;
    waiters.wait(once, w, rt::WaitReason::event);
  }
  if (*once & shim::kOnceDone) return 0;
  *once = shim::kOnceInProgress;
  struct ResetIfCancelled {  // POSIX: a cancelled init leaves the once control untouched
    pthread_once_t* once;
    rt::AddressWaiters& waiters;
    ~ResetIfCancelled() {
      if (*once != shim::kOnceDone) *once = 0;
      waiters.wake(once, ~std::size_t{0});
    }
  } guard{once, waiters};
  init();
  rt::return_to_scheduler();
  *once = shim::kOnceDone;
  return 0;
}

GREENRUN_EXPORT int pthread_setattr_default_np(const pthread_attr_t* attr) noexcept {
  int rc = real::pthread_setattr_default_np(attr);
  if (rc == 0) shim::cached_default_stack_size = 0;  // the next thread asks glibc again
  return rc;
}
