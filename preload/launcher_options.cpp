#include "launcher_options.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "launcher_workers.h"
#include "settings.h"

namespace greenrun::launcher {
namespace {

enum class Kind { setting, library, workers, help, version };
enum class Value { none, required, attached_only };  // attached_only: only as --opt=VALUE

struct OptionSpec {
  const char* name;      // "--stack-size"
  const char* alias;     // "-h", or nullptr
  Kind kind;
  Value value;
  const char* metavar;   // how --help shows the value
  const char* variable;  // what it sets, shown by --help
  const char* fixed;     // the value it sets when none is given (--stats, --no-inherit)
  const char* example;   // a good value, for the message when it is missing
  const char* help;
};

constexpr OptionSpec kOptions[] = {
    {"--stack-size", nullptr, Kind::setting, Value::required, " SIZE", "GREENRUN_STACK_SIZE",
     nullptr, "256K", "stack of a thread made without a size, 16K to 1G (K, M, G suffixes)"},
    {"--stats", nullptr, Kind::setting, Value::attached_only, "[=FILE]", "GREENRUN_STATS", "1",
     "/tmp/stats.%p", "statistics at exit, on stderr or to FILE (%p: the process id)"},
    {"--dump-signal", nullptr, Kind::setting, Value::required, " SIG", "GREENRUN_DUMP_SIGNAL",
     nullptr, "USR1", "signal that dumps every green thread to stderr (QUIT), or none"},
    {"--blocking-ms", nullptr, Kind::setting, Value::required, " MS", "GREENRUN_BLOCKING_MS",
     nullptr, "100", "report a thread that keeps the loop longer than MS (1 to 3600000)"},
    {"--timeslice", nullptr, Kind::setting, Value::required, " MS", "GREENRUN_TIMESLICE",
     nullptr, "10", "preempt a thread after MS of running (10; 0: never)"},
    {"--handoff-ms", nullptr, Kind::setting, Value::required, " MS", "GREENRUN_HANDOFF_MS",
     nullptr, "2", "hand the loop on after MS in a foreign system call (2; 0: never)"},
    {"--tls", nullptr, Kind::setting, Value::required, " own|shared", "GREENRUN_TLS", nullptr,
     "shared", "thread-local storage per green thread (own) or the OS thread's"},
    {"--no-inherit", nullptr, Kind::setting, Value::none, "", "GREENRUN_INHERIT=0", "0", nullptr,
     "the programs it starts run natively"},
    {"--library", nullptr, Kind::library, Value::required, " PATH", "GREENRUN_LIBRARY", nullptr,
     "/usr/local/lib/libgreenrun.so",
     "the libgreenrun.so to preload (default: the one beside greenrun, else in its libdir)"},
    {"--workers", nullptr, Kind::workers, Value::required, " N|auto",
     "GREENRUN_REUSEPORT=1 in each", nullptr, "4",
     "runs N copies that share their TCP ports (auto: one per online CPU), stops all when one "
     "fails"},
    {"--help", "-h", Kind::help, Value::none, "", "", nullptr, nullptr, "this list"},
    {"--version", "-V", Kind::version, Value::none, "", "", nullptr, nullptr, "the version"},
};

// The variable an option sets: its `variable` up to any "=" or " ".
std::string variable_of(const OptionSpec& o) {
  return std::string(o.variable, std::strcspn(o.variable, "= "));
}

const OptionSpec* find(std::string_view name) {
  for (const OptionSpec& o : kOptions)
    if (name == o.name || (o.alias && name == o.alias)) return &o;
  return nullptr;
}

// Records one option with its value (nullptr: given without one). Returns nullptr, or why the
// value is refused.
const char* take(const OptionSpec& o, const char* value, Launch& launch) {
  switch (o.kind) {
    case Kind::help:
      launch.action = Launch::Action::help;
      return nullptr;
    case Kind::version:
      launch.action = Launch::Action::version;
      return nullptr;
    case Kind::library:
      if (!*value) return "is empty: name the libgreenrun.so to preload";
      launch.library = value;
      return nullptr;
    case Kind::workers:
      return read_workers(value, launch.workers);
    case Kind::setting:
      break;
  }
  const std::string variable = variable_of(o);
  if (!value) value = o.fixed;
  if (const char* why = preload::check_setting(variable, value)) return why;
  launch.settings.emplace_back(variable, value);
  return nullptr;
}

}  // namespace

bool parse_options(int argc, char** argv, Launch& launch, std::string& error) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the program ("-" alone is a name too)
    // Only a long option carries its value after "=" (-h=1 is no option).
    const std::size_t equals = arg.starts_with("--") ? arg.find('=') : std::string_view::npos;
    const std::string_view name = arg.substr(0, equals);
    const OptionSpec* o = find(name);
    if (!o) {
      error = "unknown option " + std::string(name) +
              ": greenrun --help lists them (a program whose name starts with - goes after --)";
      return false;
    }
    const char* value = nullptr;
    std::string as_written = o->name;
    if (equals != std::string_view::npos) {
      if (o->value == Value::none) {
        error = std::string(name) + " takes no value: write " + o->name + " alone";
        return false;
      }
      value = argv[i] + equals + 1;
      as_written = std::string(arg);
    } else if (o->value == Value::required) {
      if (i + 1 >= argc) {
        error = std::string(o->name) + " needs a value, e.g. " + o->name + " " + o->example;
        return false;
      }
      value = argv[++i];
      as_written = std::string(o->name) + " " + value;
    }
    if (const char* why = take(*o, value, launch)) {
      error = as_written + " " + why;
      return false;
    }
    if (launch.action != Launch::Action::run) return true;  // --help, --version: nothing else
  }
  if (i >= argc) {
    error = "no program to run: greenrun [options] [--] program [args...] (greenrun --help "
            "lists the options)";
    return false;
  }
  launch.program = i;
  return true;
}

std::string usage_text() {
  constexpr std::size_t kIndent = 22, kWidth = 80;
  std::string text =
      "usage: greenrun [options] [--] program [args...]\n"
      "Runs program with every pthread turned into a green thread (libgreenrun.so\n"
      "preloaded). Options end at the first argument that is not one. Each sets the\n"
      "variable named beside it, and its value is checked as the preload checks that\n"
      "variable; GREENRUN_* variables already set are honoured too.\n\n";
  for (const OptionSpec& o : kOptions) {
    std::string line = "  ";
    if (o.alias) line += std::string(o.alias) + ", ";
    line += std::string(o.name) + o.metavar;
    std::string words = *o.variable ? std::string(o.variable) + ": " + o.help : o.help;
    // The description from column kIndent (on a line of its own after a long option), wrapped
    // at kWidth.
    std::size_t column = line.size();
    bool first = true;
    for (std::size_t start = 0; start < words.size();) {
      std::size_t end = std::min(words.find(' ', start), words.size());
      const std::string word = words.substr(start, end - start);
      start = end + 1;
      if (first && column < kIndent) {
        line.append(kIndent - column, ' ');
        column = kIndent;
      } else if (first || column + 1 + word.size() > kWidth) {
        line += "\n" + std::string(kIndent, ' ');
        column = kIndent;
      } else {
        line += ' ';
        ++column;
      }
      line += word;
      column += word.size();
      first = false;
    }
    text += line + "\n";
  }
  return text;
}

}  // namespace greenrun::launcher
