// GREENRUN_* settings, read once before main (what each accepts is settings.h's, shared with the
// launcher). A malformed value stops the program with one line and exit status 2: a silent
// default would hide the mistake. In secure execution (setuid, AT_SECURE) no setting that opens
// or names a file is honoured (GREENRUN_STATS=/path is ignored with one line); a new one that
// does must check secure_execution().
// GREENRUN_STATS=1 and GREENRUN_REUSEPORT=1 belong to the top greenrun process only, not to one
// whose parent runs greenrun with the same setting (lineage.h): a program's children print no
// table and bind as natively. A fork of the top one binds as it does, but prints no table.
#pragma once
#include <cstddef>
#include <string>

namespace greenrun::preload {

struct Config {
  std::size_t stack_size = 0;  // GREENRUN_STACK_SIZE: default for pthread_create; 0: glibc's
  bool inherit = true;                  // GREENRUN_INHERIT: exec'd children keep the preload
  int dump_signal = 3;                  // GREENRUN_DUMP_SIGNAL: SIGQUIT (3); 0 for none
  int blocking_ms = 0;                  // GREENRUN_BLOCKING_MS: 0 for off
  int timeslice_ms = 10;                // GREENRUN_TIMESLICE: preemption after this; 0 for off
  int handoff_ms = 2;                   // GREENRUN_HANDOFF_MS: loop hand-off after this; 0: off
  bool stats = false;                   // GREENRUN_STATS: the table at exit (not a descendant's)
  std::string stats_path;               // GREENRUN_STATS=/path: to this file (%p: the pid)
  int stats_pid = 0;                    // GREENRUN_STATS=1: the one process that prints it
  bool own_tls = true;                  // GREENRUN_TLS: own (exact) or shared (opt-in)
  bool reuseport = false;               // GREENRUN_REUSEPORT: SO_REUSEPORT at bind (--workers)
};

// True when the kernel asks for secure execution (getauxval(AT_SECURE)): setuid/setgid and
// file capabilities. Settings that open or name files are ignored then.
bool secure_execution();

// Parsed on first use (our constructor makes that happen before main).
const Config& config();

}  // namespace greenrun::preload
