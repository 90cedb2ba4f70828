// Polling with a growing pause, for conditions nothing can wake a green thread for (another
// process posting a semaphore, a child changing state, a descriptor epoll refuses). The one copy
// of that loop: every shim that polls parks through a Backoff. Invariant: a park never ends
// after the caller's deadline, and reports timed_out only once that deadline has passed.
#pragma once
#include <algorithm>

#include "clock.h"
#include "green_thread.h"

namespace greenrun::rt {

class Backoff {
 public:
  static constexpr Nanos kFirst = 1'000'000;  // 1 ms
  static constexpr Nanos kCap = 16'000'000;   // 16 ms: the most a poll adds to a wait's latency

  // Intervals of 1 ms, doubling up to 16 ms; `deadline` is the caller's (kNever: none).
  explicit Backoff(Nanos deadline = kNever) : Backoff(deadline, kFirst, kCap) {}
  // The same interval every time: for a caller that is also woken directly and polls only
  // for what may slip past (a sem_post from a signal handler).
  static Backoff every(Nanos interval, Nanos deadline = kNever) {
    return Backoff(deadline, interval, interval);
  }

  // Whether the caller's deadline has passed.
  bool expired() const { return deadline_ != kNever && monotonic_now() >= deadline_; }

  // When a park that starts at `now` ends: the current interval from now, never past the
  // deadline. Moves on to the next interval.
  Nanos next_wake(Nanos now) {
    Nanos until = now < deadline_ - interval_ ? now + interval_ : deadline_;
    interval_ = std::min(interval_ * 2, cap_);
    return until;
  }

  // Parks the current green thread under `reason` (on `on`, for the stack dump) until the next
  // interval ends or something readies it. Returns woken when the caller should look again,
  // timed_out once its deadline has passed, or interrupted (a pending exception or signal).
  Wake park(WaitReason reason, const void* on = nullptr);

  // The same through the caller's own park, park_until(Nanos until) -> Wake, e.g. on a wait
  // list so that an ordinary wake-up ends the pause early.
  template <class ParkUntil>
  Wake park_with(ParkUntil park_until) {
    const Nanos until = next_wake(monotonic_now());
    Wake why = park_until(until);
    // The interval ended before the deadline: not a timeout, only time to look again.
    return why == Wake::timed_out && until < deadline_ ? Wake::woken : why;
  }

 private:
  Backoff(Nanos deadline, Nanos first, Nanos cap)
      : deadline_(deadline), interval_(first), cap_(cap) {}

  Nanos deadline_;
  Nanos interval_;
  Nanos cap_;
};

}  // namespace greenrun::rt
