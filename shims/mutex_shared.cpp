// Process-shared and robust mutexes (glibc marks every robust mutex process-shared). Another
// process may hold one, so the kernel-level lock must stay glibc's; but glibc tells owners
// apart by thread id, and all green threads share one. So the lock is taken from glibc once per
// process (trylock, polled with a Backoff while another process holds it) and, between
// green threads, ownership is tracked here and handed over directly, glibc's lock staying held.
// A robust mutex whose green owner died is taken over with EOWNERDEAD, as glibc does.
// Defines: pthread_mutex_consistent
#include <errno.h>

#include <climits>
#include <unordered_map>

#include "backoff.h"
#include "export.h"
#include "hub.h"
#include "mutex.h"
#include "real.h"

namespace greenrun::shim {
namespace {

constexpr int kKindMask = 3;
constexpr int kRobustBit = 16;  // PTHREAD_MUTEX_ROBUST_NORMAL_NP

struct Ownership {
  rt::GreenThread* owner = nullptr;  // retained while it owns the mutex
  unsigned count = 0;                // recursion depth
  bool inconsistent = false;         // taken over from a dead owner, not yet made consistent
  bool unrecoverable = false;        // unlocked while inconsistent: ENOTRECOVERABLE from now on
};

std::unordered_map<const void*, Ownership>& owners() {
  static auto* t = new std::unordered_map<const void*, Ownership>();  // leaked on purpose
  return *t;
}

void own(Ownership& o, rt::GreenThread* t) {
  if (o.owner) rt::release(o.owner);
  rt::retain(t);
  o.owner = t;
  o.count = 1;
}

}  // namespace

int shared_mutex_lock(pthread_mutex_t* m, rt::Nanos deadline, bool try_only) {
  rt::GreenThread* self = rt::current();
  const int type = m->__data.__kind & kKindMask;
  const bool robust = m->__data.__kind & kRobustBit;
  Ownership& o = owners()[m];  // element references survive rehashing
  if (o.unrecoverable) return ENOTRECOVERABLE;
  if (o.owner == self) {
    if (type == PTHREAD_MUTEX_RECURSIVE) {
      if (o.count == UINT_MAX) return EAGAIN;
      ++o.count;
      return 0;
    }
    if (try_only) return EBUSY;
    if (type == PTHREAD_MUTEX_ERRORCHECK || robust) return EDEADLK;
  }
  rt::Backoff backoff(deadline);
  for (;;) {
    if (o.owner && o.owner != self) {
      if (o.owner->dead() && robust) {  // its owner ended without unlocking
        own(o, self);
        o.inconsistent = true;
        return EOWNERDEAD;
      }
      if (try_only) return EBUSY;
      rt::Waiter w;
      rt::Wake why = self->hub->address_waiters().wait(m, w, rt::WaitReason::mutex, deadline);
      if (why == rt::Wake::woken && o.owner == self) return 0;  // handed over by unlock
      if (why == rt::Wake::timed_out) return ETIMEDOUT;
      continue;
    }
    if (!o.owner) {
      int rc = real::pthread_mutex_trylock(m);
      if (rc == 0 || rc == EOWNERDEAD) {
        own(o, self);
        return rc;
      }
      if (rc != EBUSY) return rc;
    }
    // Held by another process (or, relocking a normal mutex, by ourselves: blocks, as natively).
    if (try_only) return EBUSY;
    if (backoff.expired()) return ETIMEDOUT;
    backoff.park(rt::WaitReason::mutex, m);  // mutexes are never interrupted: look again
  }
}

int shared_mutex_unlock(pthread_mutex_t* m) {
  rt::GreenThread* self = rt::current();
  const int type = m->__data.__kind & kKindMask;
  const bool robust = m->__data.__kind & kRobustBit;
  auto it = owners().find(m);
  if (it == owners().end() || it->second.owner != self) {
    if (type != PTHREAD_MUTEX_NORMAL || robust) return EPERM;
    return real::pthread_mutex_unlock(m);
  }
  Ownership& o = it->second;
  if (type == PTHREAD_MUTEX_RECURSIVE && --o.count > 0) return 0;
  if (o.inconsistent) {  // POSIX: unlocking without pthread_mutex_consistent poisons it
    o.unrecoverable = true;
    o.inconsistent = false;
  }
  if (!o.unrecoverable) {
    if (rt::GreenThread* next = self->hub->address_waiters().wake_first(m)) {
      own(o, next);  // glibc's lock stays held: the process still owns it
      return 0;
    }
  }
  rt::release(o.owner);
  o.owner = nullptr;
  o.count = 0;
  if (o.unrecoverable) {
    self->hub->address_waiters().wake(m, ~std::size_t{0});  // they will see ENOTRECOVERABLE
  } else {
    owners().erase(it);
  }
  return real::pthread_mutex_unlock(m);
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_mutex_consistent(pthread_mutex_t* m) noexcept {
  if (rt::on_green_thread(rt::CallFamily::sync)) {
    auto it = shim::owners().find(m);
    if (it != shim::owners().end() && it->second.owner == rt::current()) {
      if (!it->second.inconsistent) return EINVAL;
      it->second.inconsistent = false;
      return 0;
    }
  }
  return real::pthread_mutex_consistent(m);
}
