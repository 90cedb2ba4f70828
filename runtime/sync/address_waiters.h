// Wait lists keyed by address, for primitives whose memory belongs to the program (pthread
// mutexes and condition variables, semaphores, futex words): we cannot put a list inside them,
// so the list lives here, and only while someone waits. Invariant: an entry exists iff its
// list is non-empty (waiters that leave erase it when they were the last).
#pragma once
#include <cstddef>
#include <unordered_map>

#include "clock.h"
#include "green_thread.h"
#include "wait_list.h"

namespace greenrun::rt {

class AddressWaiters {
 public:
  // Parks the current thread on `address` until wake() picks it, the deadline, or an interruption.
  Wake wait(const void* address, Waiter& w, WaitReason reason, Nanos deadline = kNever);
  // Wakes up to `count` waiters of `address` whose bits intersect `bits`, oldest first, handing
  // each `item`. Returns how many were woken.
  std::size_t wake(const void* address, std::size_t count, unsigned bits = ~0u,
                   void* item = nullptr);
  // Wakes the oldest waiter of `address` and returns its thread (nullptr if none), so the
  // caller can hand it ownership before it runs.
  GreenThread* wake_first(const void* address);
  // In a fork child: every waiter belongs to a thread that did not survive the fork.
  void forget_all();
  // Moves up to `count` waiters (after the woken ones) from one address to another (requeue).
  std::size_t move(const void* from, const void* to, std::size_t count);
  bool has_waiters(const void* address) const { return lists_.count(address) != 0; }
  std::size_t waiter_count(const void* address) const;

 private:
  std::unordered_map<const void*, WaitList> lists_;
};

}  // namespace greenrun::rt
