// Observability wiring, done once when the hub is made: the dump signal (GREENRUN_DUMP_SIGNAL,
// watched by the signal shims, whose trampoline wakes the hub, so the dump never runs inside a
// raw handler), the statistics table at exit (GREENRUN_STATS) and the blocking monitor
// (GREENRUN_BLOCKING_MS). A handler the program installs for the dump signal wins: we never
// replace one, and the program sees its own action for that signal (SIG_DFL or SIG_IGN).
#include "observe.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "blocking_monitor.h"
#include "config.h"
#include "diagnostics.h"
#include "hub.h"
#include "preemption.h"
#include "signal_shim.h"
#include "stack_dump.h"

namespace greenrun::preload {
namespace {

// SIGURG: ignored by default, so a sample that arrives without our handler does nothing.
constexpr int kSampleSignal = SIGURG;

rt::Hub* g_hub = nullptr;  // the main thread's hub, for the exit handler (any thread may exit)

void on_dump_signal(rt::Hub& hub) { rt::dump_threads(hub, 2); }

// GREENRUN_STATS=1 is for the process it was given to: not a fork of it (config.h).
bool stats_are_ours() {
  const Config& c = config();
  return c.stats && (!c.stats_path.empty() || getpid() == c.stats_pid);
}

void print_stats_at_exit() {
  if (!g_hub || !stats_are_ours()) return;
  rt::GreenThread* self = rt::current();
  bool was = self && self->in_runtime;
  if (self) self->in_runtime = true;  // open and close of the file go straight to libc
  const std::string& path = config().stats_path;
  if (path.empty()) {
    rt::print_stats(*g_hub, 2);
  } else {
    // %p becomes the process id, so that the processes of a tree each write their own.
    std::string name;
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (path[i] == '%' && i + 1 < path.size() && path[i + 1] == 'p') {
        name += std::to_string(getpid());
        ++i;
      } else {
        name += path[i];
      }
    }
    int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      rt::print_stats(*g_hub, fd);
      ::close(fd);
    } else {
      rt::warn(self, "cannot write the statistics (GREENRUN_STATS) to the file it names",
               "give a path in a writable directory");
    }
  }
  if (self) self->in_runtime = was;
}

}  // namespace

void start_observers(rt::Hub& hub) {
  const Config& c = config();
  g_hub = &hub;
  if (c.dump_signal) shim::watch_signal(hub, c.dump_signal, &on_dump_signal);
  if (stats_are_ours()) {
    hub.stats().timing = true;
    std::atexit(&print_stats_at_exit);
  }
  if (c.blocking_ms) {
    int rc = rt::start_blocking_monitor(hub, c.blocking_ms, kSampleSignal, rt::preemption_running());
    if (rc != 0)
      rt::warn(hub.root(), "cannot start the blocking monitor (GREENRUN_BLOCKING_MS)",
               "check the limit on threads (ulimit -u)");
  }
}

}  // namespace greenrun::preload
