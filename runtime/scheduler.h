// The run queue and the park/ready protocol every blocking operation goes through.
// Invariant: a thread is in the run queue iff its state is `ready`; it is parked iff it waits
// for exactly one ready() (from a wait list, its timer, an interruption or the deadlock check).
#pragma once
#include <cstddef>

#include "clock.h"
#include "green_thread.h"
#include "timer_heap.h"

namespace greenrun::rt {

class Hub;

class RunQueue {
 public:
  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }
  void push(GreenThread* t) {
    t->run_next = nullptr;
    if (tail_) tail_->run_next = t; else head_ = t;
    tail_ = t;
    ++size_;
  }
  GreenThread* pop() {
    GreenThread* t = head_;
    head_ = t->run_next;
    if (!head_) tail_ = nullptr;
    t->run_next = nullptr;
    --size_;
    return t;
  }

 private:
  GreenThread* head_ = nullptr;
  GreenThread* tail_ = nullptr;
  std::size_t size_ = 0;
};

class Scheduler {
 public:
  // Threads may switch to each other directly at least this many times (and at most one round
  // of the run queue) before the hub gets a turn to poll for I/O and timers, so a ring of
  // yielding threads cannot starve the loop.
  static constexpr unsigned kDirectSwitchBudget = 64;

  explicit Scheduler(Hub& hub) : hub_(hub) {}

  // Makes a parked or new thread runnable; `why` is what its park() returns. A thread that is
  // not parked (already woken, running, dead) is left alone, so late wake-ups are harmless.
  void ready(GreenThread* t, Wake why = Wake::woken);

  // Parks the current thread until ready() or `deadline`. Returns at once with
  // Wake::interrupted when an exception is already pending for it.
  Wake park(WaitReason reason, const void* on = nullptr, Nanos deadline = kNever);

  // Parks on a wait list: links a Waiter on this stack, parks, and unlinks it again unless the
  // waker did. `w` may carry an item for direct hand-over.
  Wake wait_on(WaitList& list, Waiter& w, WaitReason reason, const void* on, Nanos deadline);
  // Pops the first waiter (if any), hands it `item`, and readies it. Returns whether one was woken.
  bool wake_one(WaitList& list, void* item = nullptr);
  std::size_t wake_all(WaitList& list);

  // Lets every other ready thread run once, then continues (sleep(0)).
  void yield();

  // For a call that could have waited but did not: a zero-timeout or already-ready poll or
  // epoll_wait, a failed trylock or sem_trywait, EAGAIN the program asked for (O_NONBLOCK,
  // MSG_DONTWAIT). Once the caller has run for kProbeBudget since it was last resumed, the hub
  // polls and the other ready threads run before it continues. A thread that spins on such
  // probes (waiting for another thread's work) would otherwise never let that thread run.
  // Costs one clock read per probe.
  static constexpr Nanos kProbeBudget = 1'000'000;
  void probe();
  // The running thread was preempted (preemption.cpp): through the hub, queued behind
  // whatever its poll wakes.
  void preempted() { requeue(current(), true); }

  // Arranges for `error` to be raised in `t` at its next resumption (kill, Timeout, throw).
  void interrupt(GreenThread* t, std::exception_ptr error);

  // Leaves the current thread for good (it is dead) and runs the next one.
  [[noreturn]] void exit_current();

  // Used by the hub's loop body.
  bool has_ready() const { return !runq_.empty(); }
  // A thread that yielded through the hub waits for the hub's poll (and its timers), so that
  // what they wake is queued ahead of it; then the hub queues it with release_after_poll().
  bool has_held() const { return held_ != nullptr; }
  void release_after_poll() {
    if (held_) runq_.push(held_);
    held_ = nullptr;
  }
  GreenThread* next_ready() { return runq_.pop(); }
  // The hub starts a round: threads may switch to each other directly until everything ready
  // now has had a turn (at least kDirectSwitchBudget switches), then the hub polls again.
  void start_round() {
    direct_switches_ = 0;
    direct_budget_ = runq_.size() > kDirectSwitchBudget ? runq_.size() : kDirectSwitchBudget;
  }
  TimerHeap& timers() { return timers_; }
  std::size_t ready_count() const { return runq_.size(); }

 private:
  void switch_away();  // to the next ready thread, or the hub
  // Puts the caller at the back of the run queue and runs the others; when `through_hub`, the
  // hub first, and the caller is queued only after the hub's poll (yield(), probe(),
  // preempted()).
  void requeue(GreenThread* self, bool through_hub);
  static void park_timer_fired(TimerNode* node);

  Hub& hub_;
  RunQueue runq_;
  TimerHeap timers_;
  std::size_t direct_switches_ = 0;
  std::size_t direct_budget_ = kDirectSwitchBudget;
  GreenThread* held_ = nullptr;  // yielded through the hub, queued after its next poll
};

}  // namespace greenrun::rt
