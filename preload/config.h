// GREENRUN_* settings, read once before main. A malformed value stops the program with a
// one-line message and exit status 2: a silent default would hide the mistake. In secure
// execution (setuid, AT_SECURE) no setting that opens or names a file is honoured
// (GREENRUN_STATS=/path is ignored with one line there); a new one that does must check
// secure_execution().
// GREENRUN_STATS=1 prints the table on stderr in the top greenrun process only: not in a
// process whose parent runs greenrun with GREENRUN_STATS=1 (lineage.h), nor in a fork of the
// top one (a different pid). GREENRUN_STATS=/path/%p gives every process its own file.
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
};

// True when the kernel asks for secure execution (getauxval(AT_SECURE)): setuid/setgid and
// file capabilities. Settings that open or name files are ignored then.
bool secure_execution();

// Parsed on first use (our constructor makes that happen before main).
const Config& config();

// Parses "<digits>[K|M|G][i][B]" (case-insensitive, powers of 1024) into bytes; false when it
// is not a size or overflows.
bool parse_size(const char* text, std::size_t& bytes);

// Parses "QUIT", "SIGQUIT", "sigusr1", "RTMIN+2" or a number into a signal number that can be
// caught, and "none" into 0; false for anything else (KILL and STOP cannot be caught).
bool parse_signal(const char* text, int& signal);

}  // namespace greenrun::preload
