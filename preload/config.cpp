#include "config.h"

#include <sys/auxv.h>
#include <unistd.h>

#include <cstdlib>

#include "diagnostic_output.h"
#include "lineage.h"
#include "settings.h"

namespace greenrun::preload {
namespace {

[[noreturn]] void refuse(const char* name, const char* value, const char* why) {
  rt::write_diagnostic(2, {"greenrun: ", name, "=", value, " ", why, "\n"});
  _exit(2);
}

// Reads the variable `name` with its settings.h reader into `into`, if it is set; refuses a
// value the reader does not accept.
template <class T>
void read_variable(const char* name, const char* (*reader)(const char*, T&), T& into) {
  const char* v = std::getenv(name);
  if (!v || !*v) return;
  if (const char* why = reader(v, into)) refuse(name, v, why);
}

Config load() {
  Config c;
  read_variable("GREENRUN_STACK_SIZE", read_stack_size, c.stack_size);
  read_variable("GREENRUN_INHERIT", read_inherit, c.inherit);
  read_variable("GREENRUN_DUMP_SIGNAL", read_dump_signal, c.dump_signal);
  read_variable("GREENRUN_BLOCKING_MS", read_blocking_ms, c.blocking_ms);
  read_variable("GREENRUN_TIMESLICE", read_timeslice, c.timeslice_ms);
  read_variable("GREENRUN_HANDOFF_MS", read_handoff_ms, c.handoff_ms);
  read_variable("GREENRUN_TLS", read_tls, c.own_tls);
  StatsChoice stats;
  read_variable("GREENRUN_STATS", read_stats, stats);
  if (!stats.path.empty()) {  // a file: each process writes its own with %p
    if (secure_execution()) {
      rt::write_diagnostic(2, {"greenrun: GREENRUN_STATS=", stats.path.c_str(),
                               " is not honoured in secure execution (setuid/setgid): a setting "
                               "that names a file is ignored\n"});
    } else {
      c.stats = true;
      c.stats_path = stats.path;
    }
  } else if (stats.on && !parent_prints_stats()) {  // else a descendant: silent
    c.stats = true;
    c.stats_pid = getpid();
  }
  // Only in the process greenrun --workers started (and what it execs in its place, the same
  // pid): a helper one of the copies starts and that binds a port of its own must still get
  // EADDRINUSE when another instance holds it, as it would natively.
  read_variable("GREENRUN_REUSEPORT", read_reuseport, c.reuseport);
  if (c.reuseport && parent_started_with("GREENRUN_REUSEPORT=1")) c.reuseport = false;
  return c;
}

}  // namespace

bool secure_execution() { return getauxval(AT_SECURE) != 0; }

const Config& config() {
  static const Config c = load();
  return c;
}

}  // namespace greenrun::preload
