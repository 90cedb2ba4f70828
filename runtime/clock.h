// Monotonic time in nanoseconds: the one clock deadlines are kept in.
#pragma once
#include <errno.h>
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

// A cheaper clock (a few ms of resolution) for bookkeeping such as "parked for 1203 ms".
inline Nanos coarse_now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Nanos{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// now + seconds, saturating at kNever (so huge timeouts mean "forever", not overflow).
inline Nanos deadline_after(double seconds) {
  if (!(seconds < 9.0e9)) return kNever;  // also catches NaN and +inf
  if (seconds <= 0) return monotonic_now();
  return monotonic_now() + static_cast<Nanos>(seconds * 1e9);
}

// Converts an absolute time on `clock` into a monotonic deadline. 0, or EINVAL for a malformed
// timespec (tv_nsec outside [0, 1e9)) or a clock we cannot wait on. A time in the past gives a
// deadline that has passed.
inline int deadline_from_abstime(clockid_t clock, const timespec* abstime, Nanos& deadline) {
  if (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1'000'000'000) return EINVAL;
  if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME &&
      clock != CLOCK_TAI)
    return EINVAL;
  timespec now_on_clock;
  clock_gettime(clock, &now_on_clock);
  Nanos now_mono = monotonic_now();
  __int128 target = static_cast<__int128>(abstime->tv_sec) * 1'000'000'000 + abstime->tv_nsec;
  __int128 now = static_cast<__int128>(now_on_clock.tv_sec) * 1'000'000'000 + now_on_clock.tv_nsec;
  __int128 d = now_mono + (target - now);
  deadline = d >= kNever ? kNever : d < 0 ? 0 : static_cast<Nanos>(d);
  return 0;
}

// A relative timespec as a deadline from now. 0, or EINVAL for a malformed or negative one.
inline int deadline_from_relative(const timespec* rel, Nanos& deadline) {
  if (rel->tv_nsec < 0 || rel->tv_nsec >= 1'000'000'000 || rel->tv_sec < 0) return EINVAL;
  __int128 d = static_cast<__int128>(monotonic_now()) +
               static_cast<__int128>(rel->tv_sec) * 1'000'000'000 + rel->tv_nsec;
  deadline = d >= kNever ? kNever : static_cast<Nanos>(d);
  return 0;
}

}  // namespace greenrun::rt
