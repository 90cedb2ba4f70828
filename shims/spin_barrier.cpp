// Spinlocks and barriers. A green thread spinning would spin forever (the holder cannot run),
// so it yields between attempts, and a failed pthread_spin_trylock is a probe. Barrier state is
// kept by address: glibc's barrier blocks on a futex internally, out of our reach.
// Defines: pthread_spin_lock pthread_spin_trylock pthread_barrier_init pthread_barrier_wait
//          pthread_barrier_destroy
#include <errno.h>
#include <pthread.h>

#include <mutex>
#include <unordered_map>

#include "export.h"
#include "spin_lock.h"
#include "hub.h"
#include "readiness.h"
#include "real.h"

namespace greenrun::shim {
namespace {

struct Barrier {
  unsigned count = 0;
  unsigned arrived = 0;
  unsigned long generation = 0;
  rt::WaitList waiting;
};

// Barriers may be initialised on any OS thread, hence the lock around the table (a spin lock:
// pthread_mutex_lock is ours to interpose).
rt::SpinLock table_lock;
using TableGuard = std::lock_guard<rt::SpinLock>;
std::unordered_map<const void*, Barrier>& barriers() {
  static auto* t = new std::unordered_map<const void*, Barrier>();  // leaked on purpose
  return *t;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_spin_lock(pthread_spinlock_t* lock) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_spin_lock(lock);
  while (real::pthread_spin_trylock(lock) != 0) rt::current()->hub->scheduler().yield();
  return 0;
}

GREENRUN_EXPORT int pthread_spin_trylock(pthread_spinlock_t* lock) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_spin_trylock(lock);
  int rc = real::pthread_spin_trylock(lock);
  return rc == EBUSY ? shim::declined_at_once(rc) : rc;
}

GREENRUN_EXPORT int pthread_barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* attr,
                                         unsigned count) noexcept {
  int rc = real::pthread_barrier_init(b, attr, count);  // validates: EINVAL for count 0
  if (rc != 0) return rc;
  shim::TableGuard guard(shim::table_lock);
  shim::Barrier& s = shim::barriers()[b];
  s.count = count;
  s.arrived = 0;
  return 0;
}

GREENRUN_EXPORT int pthread_barrier_wait(pthread_barrier_t* b) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::sync)) return real::pthread_barrier_wait(b);
  shim::Barrier* s;
  {
    shim::TableGuard guard(shim::table_lock);
    auto it = shim::barriers().find(b);
    if (it == shim::barriers().end()) return EINVAL;  // never initialised
    s = &it->second;  // element addresses survive rehashing
  }
  rt::Scheduler& sched = rt::current()->hub->scheduler();
  if (++s->arrived == s->count) {
    s->arrived = 0;
    ++s->generation;
    sched.wake_all(s->waiting);
    return PTHREAD_BARRIER_SERIAL_THREAD;
  }
  // Not a cancellation point; only a new generation lets a waiter go.
  for (unsigned long generation = s->generation; generation == s->generation;) {
    rt::Waiter w;
    sched.wait_on(s->waiting, w, rt::WaitReason::barrier, b, rt::kNever);
  }
  return 0;
}

GREENRUN_EXPORT int pthread_barrier_destroy(pthread_barrier_t* b) noexcept {
  {
    shim::TableGuard guard(shim::table_lock);
    auto it = shim::barriers().find(b);
    if (it != shim::barriers().end()) {
      if (it->second.arrived != 0) return EBUSY;
      shim::barriers().erase(it);
    }
  }
  return real::pthread_barrier_destroy(b);
}
