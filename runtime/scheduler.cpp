// The scheduler: a FIFO run queue and park/ready.
//
// Model. Every green thread of an OS thread runs on that OS thread, one at a time. A thread
// runs until it parks (waits for something) or yields; it never is preempted. States:
//   created -> ready (spawn) or running (a greenlet switch)
//   running -> parked (park) -> ready (ready(): a waker, its timer, an interruption) -> running
//   running -> dead (its body returned or raised)
// Who wakes whom: wait lists (sync primitives) and the timer heap call ready(); the hub's libuv
// callbacks (I/O, threadpool, cross-thread posts) do too. ready() only queues; nothing runs
// until the current thread parks.
//
// Where control goes when a thread parks: straight to the next ready thread when there is one
// (no trip through the hub, which is what makes a park-and-wake cheap), else to the hub, which
// polls libuv until something is ready. The hub is also visited once per round: after every
// thread that was ready when it last polled has had a turn (at least kDirectSwitchBudget
// switches). Polling sooner finds the descriptors of threads that were woken but have not run
// yet still readable, and disarming and re-arming their watchers cost two epoll_ctl per request
// at 1,000 connections. The bound keeps I/O and timers polled even while threads keep each
// other busy forever (a ring of yielding threads).
//
// Rejected: switching through the hub on every park (twice the switches, like gevent), and a
// LIFO "run the woken thread next" slot (better cache locality, but breaks FIFO fairness that
// gevent programs rely on, e.g. the Semaphore interleaving example).
#include "scheduler.h"

#include "diagnostics.h"
#include "hub.h"

namespace greenrun::rt {

void Scheduler::ready(GreenThread* t, Wake why) {
  if (t->state != ThreadState::parked && t->state != ThreadState::created) return;
  if (t->park_timer.queued()) timers_.remove(&t->park_timer);
  t->wake = why;
  // From park() to here. A greenlet switched away is "parked" without a start time: not counted.
  if (hub_.stats().timing && t->state == ThreadState::parked && t->state_since) [[unlikely]]
    hub_.stats().parked += coarse_now() - t->state_since;
  t->state = ThreadState::ready;
  t->state_since = 0;
  runq_.push(t);
  // Readied from a libuv callback: uv_run(UV_RUN_ONCE) runs timers *before* it polls for I/O,
  // and would then block in epoll_wait with this thread waiting. uv_stop makes that poll's
  // timeout zero, so the loop returns to the hub at once.
  // (Only inside uv_run: a stop requested outside it would make the next uv_run skip its poll.)
  if (hub_.polling()) uv_stop(hub_.loop());
}

void Scheduler::park_timer_fired(TimerNode* node) {
  auto* t = reinterpret_cast<GreenThread*>(reinterpret_cast<char*>(node) -
                                           offsetof(GreenThread, park_timer));
  t->hub->scheduler().ready(t, Wake::timed_out);
}

Wake Scheduler::park(WaitReason reason, const void* on, Nanos deadline) {
  GreenThread* self = current();
  if (self->pending_throw) return Wake::interrupted;
  if (self->is_hub)
    fatal(self, "the hub tried to block", "do not call blocking operations from loop callbacks");
  self->state = ThreadState::parked;
  self->wait_reason = reason;
  self->wait_object = on;
  self->state_since = coarse_now();
  if (deadline != kNever) {
    self->park_timer.deadline = deadline;
    self->park_timer.fire = &park_timer_fired;
    timers_.add(&self->park_timer);
  }
  switch_away();
  self->wait_reason = WaitReason::none;
  self->wait_object = nullptr;
  Wake why = self->wake;
  if (self->resume_hook && !self->hooks_deferred) [[unlikely]] hub_.run_resume_hook(self);
  return why;
}

Wake Scheduler::wait_on(WaitList& list, Waiter& w, WaitReason reason, const void* on,
                        Nanos deadline) {
  GreenThread* self = current();
  w.thread = self;
  list.push_back(&w);
  ++self->hooks_deferred;
  Wake why = park(reason, on, deadline);
  --self->hooks_deferred;
  list.remove(&w);  // no-op when the waker already unlinked us
  if (self->resume_hook && !self->hooks_deferred) [[unlikely]] hub_.run_resume_hook(self);
  return why;
}

bool Scheduler::wake_one(WaitList& list, void* item) {
  Waiter* w = list.pop_front();
  while (w && w->thread->dead()) w = list.pop_front();  // a parent's thread, in a fork child
  if (!w) return false;
  w->item = item;
  ready(w->thread);
  return true;
}

std::size_t Scheduler::wake_all(WaitList& list) {
  std::size_t n = 0;
  while (wake_one(list)) ++n;
  return n;
}

void Scheduler::yield() { requeue(current(), false); }

void Scheduler::requeue(GreenThread* self, bool through_hub) {
  self->state = ThreadState::ready;
  self->wait_reason = WaitReason::yield;
  if (through_hub) {
    // Behind what the hub's poll and timers wake: else a thread woken there would wait for
    // this one's whole next turn (a preempted spinner's next slice).
    release_after_poll();  // (only ever one: the hub runs next and releases it)
    held_ = self;
    direct_switches_ = direct_budget_;  // switch_away then picks the hub
  } else {
    runq_.push(self);
  }
  switch_away();
  self->wait_reason = WaitReason::none;
  if (self->resume_hook && !self->hooks_deferred) [[unlikely]] hub_.run_resume_hook(self);
}

void Scheduler::probe() {
  GreenThread* self = current();
  const std::uint64_t epoch = hub_.stats().switches;  // changes whenever anything switched
  const Nanos now = monotonic_now();
  if (self->probe_epoch != epoch) {  // the first probe since it was resumed: start counting
    self->probe_epoch = epoch;
    self->probe_since = now;
    return;
  }
  if (now - self->probe_since < kProbeBudget) return;
  ++hub_.stats().probe_yields;
  // Through the hub, which polls first: what the others wait for may be an I/O event.
  requeue(self, true);
}

void Scheduler::interrupt(GreenThread* t, std::exception_ptr error) {
  if (t->dead()) return;
  t->pending_throw = std::move(error);
  if (t->state == ThreadState::parked) ready(t, Wake::interrupted);
}

void Scheduler::exit_current() {
  GreenThread* self = current();
  self->state = ThreadState::dead;
  hub_.bury(self);
  switch_away();
  fatal(self, "a dead green thread was resumed", "report this as a greenrun bug");
}

void Scheduler::switch_away() {
  GreenThread* self = current();
  GreenThread* next = hub_.hub_thread();
  if (!runq_.empty() && direct_switches_ < direct_budget_ && !self->is_hub) {
    next = runq_.pop();
    ++direct_switches_;
  }
  if (next == self) {  // yielded with nobody else ready
    self->state = ThreadState::running;
    return;
  }
  switch_to(next);
}

}  // namespace greenrun::rt
