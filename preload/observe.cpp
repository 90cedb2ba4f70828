// Observability wiring, done once when the hub is made: the dump signal (GREENRUN_DUMP_SIGNAL,
// handled on the loop through a uv_signal, so the dump never runs inside a raw handler), the
// statistics table at exit (GREENRUN_STATS) and the blocking monitor (GREENRUN_BLOCKING_MS).
// A handler the program installed for the dump signal wins: we never replace one.
#include "observe.h"

#include <signal.h>
#include <uv.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "blocking_monitor.h"
#include "config.h"
#include "diagnostics.h"
#include "hub.h"
#include "stack_dump.h"

namespace greenrun::preload {
namespace {

// SIGURG: ignored by default, so a sample that arrives without our handler does nothing.
constexpr int kSampleSignal = SIGURG;

rt::Hub* g_hub = nullptr;  // the main thread's hub, for the exit handler (any thread may exit)

void on_dump_signal(uv_signal_t* handle, int) {
  rt::dump_threads(*static_cast<rt::Hub*>(handle->data), 2);
}

void start_dump_signal(rt::Hub& hub, int signal) {
  rt::RuntimeCall runtime;  // sigaction and libuv's signal lock and pipe must stay real
  struct sigaction existing {};
  if (::sigaction(signal, nullptr, &existing) != 0) return;
  if ((existing.sa_flags & SA_SIGINFO) || existing.sa_handler != SIG_DFL) return;
  static uv_signal_t handle;  // lives as long as the loop
  if (uv_signal_init(hub.loop(), &handle) != 0) return;
  handle.data = &hub;
  if (uv_signal_start(&handle, &on_dump_signal, signal) != 0) return;
  // Not a reason for the loop to stay alive: the deadlock report must still fire.
  uv_unref(reinterpret_cast<uv_handle_t*>(&handle));
}

void print_stats_at_exit() {
  if (!g_hub) return;
  rt::GreenThread* self = rt::current();
  bool was = self && self->in_runtime;
  if (self) self->in_runtime = true;  // our write(2)s go straight to libc
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
  if (c.dump_signal) start_dump_signal(hub, c.dump_signal);
  if (c.stats) {
    hub.stats().timing = true;
    std::atexit(&print_stats_at_exit);
  }
  if (c.blocking_ms) {
    int rc = rt::start_blocking_monitor(hub, c.blocking_ms, kSampleSignal);
    if (rc != 0)
      rt::warn(hub.root(), "cannot start the blocking monitor (GREENRUN_BLOCKING_MS)",
               "check the limit on threads (ulimit -u)");
  }
}

}  // namespace greenrun::preload
