// The launcher's command line: `greenrun [options] [--] program args...`. Options stop at the
// first argument that is not one (so `greenrun prog --stats` passes --stats to prog); each takes
// its value as `--opt VALUE` or `--opt=VALUE` (--stats only the second). A value is checked by
// the very reader the preload uses (settings.h), before anything starts.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace greenrun::launcher {

struct Launch {
  enum class Action { run, help, version };
  Action action = Action::run;
  // GREENRUN_* variables to set for the program, in the order given (a later one wins).
  std::vector<std::pair<std::string, std::string>> settings;
  std::string library;  // --library: the libgreenrun.so to preload; empty: look for it
  int workers = 0;      // --workers: copies to run and supervise; 0: the program replaces us
  int program = 0;      // where the program and its arguments start in argv
};

// Reads argv into `launch`. On a mistake returns false with `error` set to one line (without
// the "greenrun: " prefix) that names the option and the fix.
bool parse_options(int argc, char** argv, Launch& launch, std::string& error);

// The --help text: usage, then every option with the variable it sets.
std::string usage_text();

}  // namespace greenrun::launcher
