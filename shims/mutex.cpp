// Defines: pthread_mutex_lock pthread_mutex_trylock pthread_mutex_timedlock
//          pthread_mutex_clocklock pthread_mutex_unlock
// Process-shared and robust mutexes go to shims/mutex_shared.cpp. Priority-inheritance and
// priority-protect mutexes behave as their base type between green threads (all of them run on
// one OS thread, so priorities do not apply).
#include "mutex.h"

#include <errno.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <unordered_set>

#include "diagnostics.h"
#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "readiness.h"
#include "real.h"

namespace greenrun::shim {
namespace {

constexpr int kKindMask = 3;           // PTHREAD_MUTEX_KIND_MASK_NP
constexpr int kProcessSharedBit = 128;  // PTHREAD_MUTEX_PSHARED_BIT
constexpr int kUnlocked = 0, kLocked = 1, kLockedWithWaiters = 2;  // glibc's __lock values

// What glibc stores in __owner: the owner's thread id, as gettid() gives it (the main thread's
// is its kernel tid, which it may have locked mutexes with before the hub existed).
int owner_id(const rt::GreenThread* t) {
  static const int main_tid = getpid();
  return t->is_root ? main_tid : green_tid(t);
}

void take(pthread_mutex_t* m, int owner) {
  m->__data.__owner = owner;
  m->__data.__count = 1;
}

// A thread that exits holding a mutex leaves it locked for good (natively too): say so once
// per mutex when someone starts waiting for it, rather than leaving a silent hang.
void warn_if_owner_exited(const pthread_mutex_t* m, const rt::GreenThread* self) {
  const int owner = m->__data.__owner;
  if (owner < kFirstGreenTid) return;  // unlocked, or the main thread (which cannot have exited)
  if (!green_thread_finished(static_cast<std::uint64_t>(owner - kFirstGreenTid))) return;
  static auto* warned = new std::unordered_set<const void*>();  // leaked on purpose
  if (!warned->insert(m).second) return;
  char message[160];
  std::snprintf(message, sizeof message,
                "blocked forever (natively too) on the mutex at %p: its owner, green thread #%d, "
                "exited without unlocking it; the waiter is",
                static_cast<const void*>(m), owner - kFirstGreenTid);
  rt::warn(self, message, "unlock it before the thread ends, or use a robust mutex");
}

// Locks; `count_user` says whether this is a lock by the program (which glibc counts in
// __nusers) or a condvar re-taking its mutex (which does not).
int lock(pthread_mutex_t* m, rt::Nanos deadline, bool try_only, bool count_user) {
  if (m->__data.__kind & kProcessSharedBit) return shared_mutex_lock(m, deadline, try_only);
  rt::GreenThread* self = rt::current();
  const int me = owner_id(self);
  const int type = m->__data.__kind & kKindMask;
  if (m->__data.__lock != kUnlocked && m->__data.__owner == me) {
    if (type == PTHREAD_MUTEX_RECURSIVE) {
      if (m->__data.__count == UINT_MAX) return EAGAIN;
      ++m->__data.__count;
      return 0;
    }
    if (try_only) return EBUSY;  // glibc: trylock says busy even to the owner
    if (type == PTHREAD_MUTEX_ERRORCHECK) return EDEADLK;
    // A normal mutex relocked by its owner blocks forever, as natively.
  }
  if (m->__data.__lock == kUnlocked) {
    m->__data.__lock = kLocked;
    take(m, me);
    if (count_user) ++m->__data.__nusers;
    return 0;
  }
  if (try_only) return EBUSY;
  warn_if_owner_exited(m, self);
  rt::AddressWaiters& waiters = self->hub->address_waiters();
  for (;;) {
    m->__data.__lock = kLockedWithWaiters;
    rt::Waiter w;
    rt::Wake why = waiters.wait(m, w, rt::WaitReason::mutex, deadline);
    if (why == rt::Wake::woken) {  // mutex_unlock handed it to us
      if (count_user) ++m->__data.__nusers;
      return 0;
    }
    if (m->__data.__lock == kLockedWithWaiters && !waiters.has_waiters(m))
      m->__data.__lock = kLocked;
    if (why == rt::Wake::timed_out) return ETIMEDOUT;
    if (m->__data.__lock == kUnlocked) {  // released while we were being interrupted
      m->__data.__lock = kLocked;
      take(m, me);
      if (count_user) ++m->__data.__nusers;
      return 0;
    }
  }
}

int unlock(pthread_mutex_t* m, bool count_user) {
  if (m->__data.__kind & kProcessSharedBit) return shared_mutex_unlock(m);
  rt::GreenThread* self = rt::current();
  const int type = m->__data.__kind & kKindMask;
  if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
    if (m->__data.__lock == kUnlocked || m->__data.__owner != owner_id(self)) return EPERM;
    if (type == PTHREAD_MUTEX_RECURSIVE && --m->__data.__count != 0) return 0;
  }
  if (count_user && m->__data.__nusers > 0) --m->__data.__nusers;
  if (m->__data.__lock == kLockedWithWaiters) {
    rt::AddressWaiters& waiters = self->hub->address_waiters();
    if (rt::GreenThread* next = waiters.wake_first(m)) {
      take(m, owner_id(next));
      m->__data.__lock = waiters.has_waiters(m) ? kLockedWithWaiters : kLocked;
      return 0;
    }
  }
  m->__data.__lock = kUnlocked;
  m->__data.__owner = 0;
  m->__data.__count = 0;
  return 0;
}

}  // namespace

int mutex_lock(pthread_mutex_t* m, rt::Nanos deadline, bool try_only) {
  return lock(m, deadline, try_only, true);
}
int mutex_unlock(pthread_mutex_t* m) { return unlock(m, true); }
int mutex_release_for_wait(pthread_mutex_t* m) { return unlock(m, false); }
int mutex_retake_after_wait(pthread_mutex_t* m) { return lock(m, rt::kNever, false, false); }
bool mutex_is_process_shared(const pthread_mutex_t* m) {
  return m->__data.__kind & kProcessSharedBit;
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_mutex_lock(pthread_mutex_t* m) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_mutex_lock(m);
  return shim::mutex_lock(m, rt::kNever, false);
}

GREENRUN_EXPORT int pthread_mutex_trylock(pthread_mutex_t* m) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_mutex_trylock(m);
  int rc = shim::mutex_lock(m, rt::kNever, true);
  return rc == EBUSY ? shim::declined_at_once(rc) : rc;  // (mtx_trylock comes here too)
}

namespace {
// Like glibc: the time is looked at only if the mutex cannot be had at once.
int timed_lock(pthread_mutex_t* m, clockid_t clock, const struct timespec* abstime) {
  int rc = shim::mutex_lock(m, rt::kNever, true);
  if (rc != EBUSY) return rc;
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
  rt::Nanos deadline;
  if (int bad = rt::deadline_from_abstime(clock, abstime, deadline)) return bad;
  return shim::mutex_lock(m, deadline, false);
}
}  // namespace

GREENRUN_EXPORT int pthread_mutex_timedlock(pthread_mutex_t* m,
                                            const struct timespec* abstime) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_mutex_timedlock(m, abstime);
  return timed_lock(m, CLOCK_REALTIME, abstime);
}

GREENRUN_EXPORT int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock,
                                            const struct timespec* abstime) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_mutex_clocklock(m, clock, abstime);
  return timed_lock(m, clock, abstime);
}

GREENRUN_EXPORT int pthread_mutex_unlock(pthread_mutex_t* m) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_mutex_unlock(m);
  return shim::mutex_unlock(m);
}
