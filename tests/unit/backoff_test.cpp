// The polling back-off every shim that polls goes through: how its intervals grow, that no
// park ends past the caller's deadline, and what a park reports.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "backoff.h"
#include "hub.h"

using namespace greenrun;
using rt::Backoff;
using rt::Nanos;

namespace {
constexpr Nanos kMs = 1'000'000;
}  // namespace

TEST_CASE("backoff: intervals start at 1 ms, double, and stop at 16 ms") {
  Backoff b;
  const Nanos now = 1'000 * kMs;
  const Nanos expected[] = {1, 2, 4, 8, 16, 16, 16};
  for (Nanos ms : expected) CHECK(b.next_wake(now) - now == ms * kMs);
}

TEST_CASE("backoff: a fixed interval stays fixed") {
  Backoff b = Backoff::every(10 * kMs);
  for (int i = 0; i < 6; ++i) CHECK(b.next_wake(i * kMs) == i * kMs + 10 * kMs);
}

TEST_CASE("backoff: no wake is later than the deadline") {
  const Nanos deadline = 20 * kMs;
  Backoff b(deadline);
  Nanos now = 0;
  Nanos wakes[8];
  for (Nanos& w : wakes) {
    w = b.next_wake(now);
    CHECK(w <= deadline);
    now = w;
  }
  // 1, 3, 7, 15 ms, then clipped to the deadline however long the interval has grown.
  CHECK(wakes[3] == 15 * kMs);
  CHECK(wakes[4] == deadline);
  CHECK(wakes[7] == deadline);
  // A deadline already passed, or kNever (no overflow near the top of the range).
  CHECK(Backoff(5 * kMs).next_wake(9 * kMs) == 5 * kMs);
  Backoff forever;
  CHECK(forever.next_wake(rt::kNever - kMs / 2) == rt::kNever);
}

TEST_CASE("backoff: expired() says whether the deadline has passed") {
  CHECK_FALSE(Backoff().expired());
  CHECK(Backoff(rt::monotonic_now()).expired());
  CHECK_FALSE(Backoff(rt::monotonic_now() + 1'000 * kMs).expired());
}

TEST_CASE("backoff: a park that ends an interval is woken; one that reaches the deadline timed out") {
  rt::Hub::get();
  const Nanos start = rt::monotonic_now();
  const Nanos deadline = start + 5 * kMs;
  Backoff b(deadline);
  int woken = 0;
  rt::Wake why;
  while ((why = b.park(rt::WaitReason::semaphore)) == rt::Wake::woken) ++woken;
  CHECK(why == rt::Wake::timed_out);
  CHECK(rt::monotonic_now() >= deadline);  // a wait may end late, never early
  // 1 + 2 ms end before the 5 ms deadline; the third (4 ms, clipped) is the timeout. A slow
  // machine may overshoot an interval, never skip one: the count depends on wakes, not time.
  CHECK(woken >= 1);
  CHECK(woken <= 2);
}

TEST_CASE("backoff: park_with reports the caller's own park, and its wake-ups") {
  rt::Hub::get();
  Backoff b(rt::monotonic_now() + 1'000 * kMs);
  Nanos asked = 0;
  CHECK(b.park_with([&](Nanos until) {
          asked = until;
          return rt::Wake::interrupted;
        }) == rt::Wake::interrupted);
  CHECK(asked > 0);
  // An interval that ended (timed_out before the deadline) is reported as time to look again.
  CHECK(b.park_with([](Nanos) { return rt::Wake::timed_out; }) == rt::Wake::woken);
}
