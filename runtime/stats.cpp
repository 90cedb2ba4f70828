// The GREENRUN_STATS table: one figure per line, aligned, written with write_diagnostic() at
// exit.
#include "stats.h"

#include <cstdio>

#include "diagnostic_output.h"
#include "handoff.h"
#include "hub.h"
#include "preemption.h"

namespace greenrun::rt {

const char* to_string(CallFamily family) {
  switch (family) {
    case CallFamily::time: return "time";
    case CallFamily::thread: return "thread";
    case CallFamily::sync: return "sync";
    case CallFamily::io: return "io";
    case CallFamily::poll: return "poll";
    case CallFamily::dns: return "dns";
    case CallFamily::stdio: return "stdio";
  }
  return "?";
}

namespace {

// Time parked so far: every finished park, and the threads still parked now up to now.
Nanos time_parked(Hub& hub) {
  Nanos total = hub.stats().parked;
  const Nanos now = coarse_now();
  hub.for_each_thread([&](GreenThread* t) {
    if (t->state == ThreadState::parked && t->state_since) total += now - t->state_since;
  });
  return total;
}

}  // namespace

void print_stats(Hub& hub, int fd) {
  const Stats& s = hub.stats();
  char text[1024];
  int n = std::snprintf(text, sizeof text,
                        "greenrun: statistics\n"
                        "  threads created     %llu (besides main)\n"
                        "  peak alive          %llu (main included)\n"
                        "  switches            %llu\n"
                        "  calls",
                        // The hub's own thread and the adopted main thread are not the program's.
                        static_cast<unsigned long long>(hub.threads_created() - 2),
                        static_cast<unsigned long long>(s.peak_alive - 1),
                        static_cast<unsigned long long>(s.switches));
  for (int f = 0; f < kCallFamilies && n < static_cast<int>(sizeof text); ++f)
    n += std::snprintf(text + n, sizeof text - n, " %s=%llu", to_string(static_cast<CallFamily>(f)),
                       static_cast<unsigned long long>(s.calls[f]));
  if (n < static_cast<int>(sizeof text))
    n += std::snprintf(text + n, sizeof text - n,
                       "\n"
                       "  threadpool jobs     %llu\n"
                       "  preemptions         %llu\n"
                       "  yields on probes    %llu\n"
                       "  hand-offs           %llu (longest %lld us)\n"
                       "  time parked         %lld ms\n"
                       "  longest loop stall  %lld ms\n",
                       static_cast<unsigned long long>(s.threadpool_jobs),
                       preemptions(),
                       static_cast<unsigned long long>(s.probe_yields),
                       handoffs(), static_cast<long long>(longest_handoff() / 1000),
                       static_cast<long long>(time_parked(hub) / 1'000'000),
                       static_cast<long long>(s.longest_stall / 1'000'000));
  if (n > static_cast<int>(sizeof text) - 1) n = sizeof text - 1;
  if (n > 0) write_diagnostic(fd, text, static_cast<std::size_t>(n));
}

}  // namespace greenrun::rt
