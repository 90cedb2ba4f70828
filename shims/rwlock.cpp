// Reader-writer locks for green threads. The state lives in a table keyed by the lock's address
// (glibc's layout has no room for a waiter list); a lock first seen held, because the main
// thread took it natively before the hub existed, starts from glibc's own fields.
// Preference follows the lock's kind: glibc's default lets readers in while a writer waits;
// PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP holds new readers back.
// Defines: pthread_rwlock_rdlock pthread_rwlock_tryrdlock pthread_rwlock_timedrdlock
//          pthread_rwlock_clockrdlock pthread_rwlock_wrlock pthread_rwlock_trywrlock
//          pthread_rwlock_timedwrlock pthread_rwlock_clockwrlock pthread_rwlock_unlock
//          pthread_rwlock_destroy
#include <errno.h>
#include <pthread.h>

#include <unordered_map>

#include "export.h"
#include "hub.h"
#include "readiness.h"
#include "real.h"

namespace greenrun::shim {
namespace {

constexpr unsigned kReadersShift = 3;  // glibc's PTHREAD_RWLOCK_READER_SHIFT

struct RwLock {
  unsigned readers = 0;
  rt::GreenThread* writer = nullptr;
  bool prefer_writers = false;
  rt::WaitList waiting_readers;
  rt::WaitList waiting_writers;
};

std::unordered_map<const void*, RwLock>& table() {
  static auto* t = new std::unordered_map<const void*, RwLock>();  // leaked on purpose
  return *t;
}

RwLock& state(pthread_rwlock_t* l) {
  auto [it, added] = table().try_emplace(l);
  if (added) {
    // glibc treats PREFER_WRITER_NP like PREFER_READER_NP (recursive readers); only the
    // non-recursive kind holds readers back.
    it->second.prefer_writers =
        l->__data.__flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
    it->second.readers = l->__data.__readers >> kReadersShift;
    if (l->__data.__cur_writer != 0) it->second.writer = rt::Hub::get().root();
  }
  return it->second;
}

bool readers_may_enter(const RwLock& s) {
  return !s.writer && !(s.prefer_writers && !s.waiting_writers.empty());
}

// After a release: hand the lock on, writers or readers first as the kind says.
void pass_on(RwLock& s, rt::Scheduler& sched) {
  if (s.writer || s.readers > 0) return;
  bool writer_first = s.prefer_writers || s.waiting_readers.empty();
  if (writer_first && !s.waiting_writers.empty()) {
    rt::Waiter* w = s.waiting_writers.pop_front();
    s.writer = w->thread;
    sched.ready(w->thread);
    return;
  }
  while (rt::Waiter* w = s.waiting_readers.pop_front()) {
    ++s.readers;
    sched.ready(w->thread);
  }
}

int lock(pthread_rwlock_t* l, bool write, bool try_only, clockid_t clock,
         const struct timespec* abstime) {
  RwLock& s = state(l);
  rt::GreenThread* self = rt::current();
  if (s.writer == self) return EDEADLK;
  if (write ? (!s.writer && s.readers == 0) : readers_may_enter(s)) {
    if (write) s.writer = self; else ++s.readers;
    return 0;
  }
  if (try_only) return declined_at_once(EBUSY);
  rt::Nanos deadline = rt::kNever;
  if (abstime) {
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) return EINVAL;
    if (int rc = rt::deadline_from_abstime(clock, abstime, deadline)) return rc;
  }
  rt::Scheduler& sched = self->hub->scheduler();
  for (;;) {
    rt::Waiter w;
    rt::Wake why = sched.wait_on(write ? s.waiting_writers : s.waiting_readers, w,
                                 rt::WaitReason::rwlock, l, deadline);
    if (why == rt::Wake::woken) return 0;  // pass_on made us an owner
    if (why == rt::Wake::timed_out) {
      pass_on(s, sched);  // a writer that gave up may have been holding readers back
      return ETIMEDOUT;
    }
  }
}

int unlock(pthread_rwlock_t* l) {
  RwLock& s = state(l);
  rt::GreenThread* self = rt::current();
  if (s.writer == self) s.writer = nullptr;
  else if (s.readers > 0) --s.readers;
  else return EPERM;
  pass_on(s, self->hub->scheduler());
  return 0;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t* l) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_rwlock_rdlock(l);
  return shim::lock(l, false, false, CLOCK_REALTIME, nullptr);
}
GREENRUN_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t* l) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_rwlock_tryrdlock(l);
  return shim::lock(l, false, true, CLOCK_REALTIME, nullptr);
}
GREENRUN_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t* l,
                                               const struct timespec* abstime) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_rwlock_timedrdlock(l, abstime);
  return shim::lock(l, false, false, CLOCK_REALTIME, abstime);
}
GREENRUN_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t clock,
                                               const struct timespec* abstime) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_rwlock_clockrdlock(l, clock, abstime);
  return shim::lock(l, false, false, clock, abstime);
}
GREENRUN_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t* l) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_rwlock_wrlock(l);
  return shim::lock(l, true, false, CLOCK_REALTIME, nullptr);
}
GREENRUN_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t* l) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_rwlock_trywrlock(l);
  return shim::lock(l, true, true, CLOCK_REALTIME, nullptr);
}
GREENRUN_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t* l,
                                               const struct timespec* abstime) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_rwlock_timedwrlock(l, abstime);
  return shim::lock(l, true, false, CLOCK_REALTIME, abstime);
}
GREENRUN_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t clock,
                                               const struct timespec* abstime) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync))
    return real::pthread_rwlock_clockwrlock(l, clock, abstime);
  return shim::lock(l, true, false, clock, abstime);
}
GREENRUN_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t* l) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_rwlock_unlock(l);
  return shim::unlock(l);
}
GREENRUN_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t* l) noexcept {
  if (rt::current()) {
    auto& t = shim::table();
    auto it = t.find(l);
    if (it != t.end()) {
      if (it->second.writer || it->second.readers) return EBUSY;
      t.erase(it);
    }
  }
  return real::pthread_rwlock_destroy(l);
}
