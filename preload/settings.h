// What each GREENRUN_* setting accepts, and why a value is refused. One copy, compiled into
// both the preload (which reads the environment before main) and the launcher (which checks its
// options before it starts anything), so the two can never disagree about a value.
// Invariant: nothing here reads the environment, writes output or touches the runtime; a reader
// returns nullptr or a reason phrase that follows "NAME=VALUE " (or "--option VALUE ") and ends
// with the fix.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace greenrun::preload {

// GREENRUN_STATS: off, the table on stderr, or the table to a file.
struct StatsChoice {
  bool on = false;
  std::string path;  // empty: stderr; may hold %p for the process id
};

// One reader per setting: parses `text` into the out-parameter, which is left alone on refusal.
const char* read_stack_size(const char* text, std::size_t& bytes);  // GREENRUN_STACK_SIZE
const char* read_inherit(const char* text, bool& inherit);           // GREENRUN_INHERIT
const char* read_dump_signal(const char* text, int& signal);         // GREENRUN_DUMP_SIGNAL
const char* read_blocking_ms(const char* text, int& ms);             // GREENRUN_BLOCKING_MS
const char* read_timeslice(const char* text, int& ms);               // GREENRUN_TIMESLICE
const char* read_handoff_ms(const char* text, int& ms);              // GREENRUN_HANDOFF_MS
const char* read_tls(const char* text, bool& own);                   // GREENRUN_TLS
const char* read_stats(const char* text, StatsChoice& stats);        // GREENRUN_STATS
const char* read_reuseport(const char* text, bool& reuseport);       // GREENRUN_REUSEPORT

// The reason `value` is refused for the variable `name` (e.g. "GREENRUN_TLS"), or nullptr when
// it is accepted or `name` is not one of the settings above.
const char* check_setting(std::string_view name, const char* value);

// Parses "<digits>[K|M|G][i][B]" (case-insensitive, powers of 1024) into bytes; false when it
// is not a size or overflows.
bool parse_size(const char* text, std::size_t& bytes);

// Parses "QUIT", "SIGQUIT", "sigusr1", "RTMIN+2" or a number into a signal number that can be
// caught, and "none" into 0; false for anything else (KILL and STOP cannot be caught).
bool parse_signal(const char* text, int& signal);

}  // namespace greenrun::preload
