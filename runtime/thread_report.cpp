#include "thread_report.h"

#include <cstdio>

#include "diagnostic_output.h"
#include "diagnostics.h"
#include "hub.h"

namespace greenrun::rt {

void report_threads(Hub& hub, int fd, const char* heading) {
  write_diagnostic(fd, {heading});
  Nanos now = coarse_now();
  hub.for_each_thread([&](GreenThread* t) {
    if (t->is_hub || t->dead()) return;
    char who[96];
    describe(t, who, sizeof who);
    char line[256];
    int n;
    if (t->state == ThreadState::parked) {
      long long ms = t->state_since ? (now - t->state_since) / 1'000'000 : -1;
      n = std::snprintf(line, sizeof line, "  %s: %s", who, to_string(t->wait_reason));
      if (t->wait_object)
        n += std::snprintf(line + n, sizeof line - n, " at %p", t->wait_object);
      if (ms >= 0) n += std::snprintf(line + n, sizeof line - n, " for %lld ms", ms);
      n += std::snprintf(line + n, sizeof line - n, "\n");
    } else {
      n = std::snprintf(line, sizeof line, "  %s: %s\n", who, to_string(t->state));
    }
    write_diagnostic(fd, line, n < static_cast<int>(sizeof line) ? static_cast<std::size_t>(n)
                                                                 : sizeof line - 1);
  });
}

}  // namespace greenrun::rt
