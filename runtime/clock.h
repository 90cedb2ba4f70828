// Monotonic time in nanoseconds: the one clock deadlines are kept in.
#pragma once
#include <time.h>

#include <cstdint>
#include <limits>

namespace greenrun::rt {

using Nanos = std::int64_t;
inline constexpr Nanos kNever = std::numeric_limits<Nanos>::max();

inline Nanos monotonic_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Nanos{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// now + seconds, saturating at kNever (so huge timeouts mean "forever", not overflow).
inline Nanos deadline_after(double seconds) {
  if (!(seconds < 9.0e9)) return kNever;  // also catches NaN and +inf
  if (seconds <= 0) return monotonic_now();
  return monotonic_now() + static_cast<Nanos>(seconds * 1e9);
}

}  // namespace greenrun::rt
