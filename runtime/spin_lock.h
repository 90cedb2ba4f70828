// A lock for the few tables that any OS thread may touch (thread keys, barriers, the preload's
// own FILEs and popen children). A spin lock, because pthread_mutex_lock is what the preload
// interposes and must not be used to implement itself; it is held for a few instructions and
// never across a park. Use with std::lock_guard.
#pragma once
#include <atomic>

namespace greenrun::rt {

class SpinLock {
 public:
  void lock() {
    while (flag_.test_and_set(std::memory_order_acquire)) {
    }
  }
  void unlock() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

}  // namespace greenrun::rt
