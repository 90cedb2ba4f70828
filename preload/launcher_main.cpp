// greenrun [options] [--] program args...: runs the program with libgreenrun.so preloaded. It
// checks everything first (options, GREENRUN_* variables already set, the library, the
// program), one line and exit status 2 (127, 126 as a shell has them) for the first mistake,
// nothing started. Then it sets the variables, puts the library first in LD_PRELOAD and
// replaces itself with the program (no fork: exit status and signals pass through untouched),
// or with --workers N starts N copies and supervises them. The launcher is never preloaded.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "launcher_elf.h"
#include "launcher_library.h"
#include "launcher_message.h"
#include "launcher_options.h"
#include "launcher_workers.h"
#include "settings.h"

extern char** environ;

namespace greenrun::launcher {
namespace {

// Refuses a malformed GREENRUN_* value already in the environment now, with the preload's very
// line, rather than in every copy after the start.
bool environment_is_valid() {
  for (char** e = environ; *e; ++e) {
    const char* equals = std::strchr(*e, '=');
    if (!equals || std::strncmp(*e, "GREENRUN_", 9) != 0 || !equals[1]) continue;
    const std::string name(*e, static_cast<std::size_t>(equals - *e));
    if (const char* why = preload::check_setting(name, equals + 1)) {
      say(std::string(*e) + " " + why);
      return false;
    }
  }
  return true;
}

// Ours first, so that our interposers win; what was preloaded before stays after.
void preload(const std::string& library) {
  const char* old = std::getenv("LD_PRELOAD");
  std::string value = library;
  if (old && *old) value += std::string(":") + old;
  setenv("LD_PRELOAD", value.c_str(), 1);
}

int launch(int argc, char** argv) {
  Launch options;
  std::string error;
  if (!parse_options(argc, argv, options, error)) {
    say(error);
    return 2;
  }
  if (options.action == Launch::Action::help) {
    std::fputs(usage_text().c_str(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  if (options.action == Launch::Action::version) {
    std::puts("greenrun " GREENRUN_VERSION);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  for (const auto& [variable, value] : options.settings) setenv(variable.c_str(), value.c_str(), 1);
  if (!environment_is_valid()) return 2;
  const std::string library = find_library(options.library, error);
  if (library.empty()) {
    say(error);
    return 127;
  }
  char** program = argv + options.program;
  if (int status = check_program(program[0], library); status != 0) return status;
  preload(library);
  if (options.workers > 0) run_workers(options.workers, program);
  execvp(program[0], program);
  const int failure = errno;
  say(std::string(program[0]) + ": " + std::strerror(failure));
  return failure == ENOENT ? 127 : 126;
}

}  // namespace
}  // namespace greenrun::launcher

int main(int argc, char** argv) { return greenrun::launcher::launch(argc, argv); }
