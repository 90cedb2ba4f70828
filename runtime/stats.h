// Counters for GREENRUN_STATS: what the runtime did, printed as one table at exit.
// Invariant: owned by the Hub and touched only from its OS thread, so plain integers; the
// counters that need a clock read (time parked, loop stalls) are kept only when `timing` is on.
#pragma once
#include <cstdint>

#include "clock.h"

namespace greenrun::rt {

class Hub;

// The libc families the shims intercept, one counter each.
enum class CallFamily : std::uint8_t { time, thread, sync, io, poll, dns, stdio };
inline constexpr int kCallFamilies = 7;
const char* to_string(CallFamily family);

struct Stats {
  bool timing = false;                     // measure park durations and loop stalls
  std::uint64_t calls[kCallFamilies] = {};  // intercepted calls made by green threads
  std::uint64_t switches = 0;
  std::uint64_t threadpool_jobs = 0;
  std::uint64_t peak_alive = 0;
  std::uint64_t probe_yields = 0;  // Scheduler::probe let the others run (its budget was spent)
  Nanos parked = 0;         // summed over every finished park, park to wake (timing only)
  Nanos longest_stall = 0;  // longest time the loop did not run while green code ran (timing only)
};

// Writes the table ("greenrun: statistics" and one line per figure) to `fd`. Time parked adds
// the threads parked at that moment, each up to now.
void print_stats(Hub& hub, int fd);

}  // namespace greenrun::rt
