#include "config.h"

#include <signal.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "diagnostic_output.h"
#include "lineage.h"
#include "stack_pool.h"

namespace greenrun::preload {
namespace {

constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;  // 1 GiB: beyond is surely a typo

[[noreturn]] void refuse(const char* name, const char* value, const char* why) {
  rt::write_diagnostic(2, {"greenrun: ", name, "=", value, " ", why, "\n"});
  _exit(2);
}

// A whole number of milliseconds from `low` to `high` in variable `name`, if it is set; else
// refuses with `why` (which names the range and gives an example).
void read_ms(const char* name, long low, long high, const char* why, int& ms) {
  const char* v = std::getenv(name);
  if (!v || !*v) return;
  char* end = nullptr;
  errno = 0;
  long n = std::isdigit(static_cast<unsigned char>(*v)) ? std::strtol(v, &end, 10) : -1;
  if (n < low || errno != 0 || *end != '\0' || n > high) refuse(name, v, why);
  ms = static_cast<int>(n);
}

Config load() {
  Config c;
  if (const char* v = std::getenv("GREENRUN_STACK_SIZE"); v && *v) {
    std::size_t bytes = 0;
    if (!parse_size(v, bytes))
      refuse("GREENRUN_STACK_SIZE", v,
             "is not a size: use bytes or a K, M or G suffix, e.g. GREENRUN_STACK_SIZE=256K");
    if (bytes < rt::StackPool::kMinimumSize)
      refuse("GREENRUN_STACK_SIZE", v, "is below the minimum stack size of 16K");
    if (bytes > kMaxStackSize)
      refuse("GREENRUN_STACK_SIZE", v, "is above the maximum stack size of 1G");
    c.stack_size = bytes;
  }
  if (const char* v = std::getenv("GREENRUN_INHERIT"); v && *v) {
    if (std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0)
      refuse("GREENRUN_INHERIT", v,
             "is not 0 or 1: use GREENRUN_INHERIT=0 to keep children native");
    c.inherit = v[0] == '1';
  }
  if (const char* v = std::getenv("GREENRUN_DUMP_SIGNAL"); v && *v) {
    if (!parse_signal(v, c.dump_signal))
      refuse("GREENRUN_DUMP_SIGNAL", v,
             "is not a signal that can be caught: use a name (QUIT, SIGUSR1), a number, or none");
    if (c.dump_signal == SIGCHLD)  // its SIG_IGN reaps children: it cannot stay the program's
      refuse("GREENRUN_DUMP_SIGNAL", v,
             "cannot be the dump signal: ignoring SIGCHLD changes how children are reaped");
  }
  read_ms("GREENRUN_BLOCKING_MS", 1, 3'600'000,
          "is not a number of milliseconds from 1 to 3600000, e.g. GREENRUN_BLOCKING_MS=100",
          c.blocking_ms);
  read_ms("GREENRUN_TIMESLICE", 0, 60'000,
          "is not a number of milliseconds from 0 (no preemption) to 60000, e.g. "
          "GREENRUN_TIMESLICE=10",
          c.timeslice_ms);
  read_ms("GREENRUN_HANDOFF_MS", 0, 60'000,
          "is not a number of milliseconds from 0 (no hand-off) to 60000, e.g. "
          "GREENRUN_HANDOFF_MS=2",
          c.handoff_ms);
  if (const char* v = std::getenv("GREENRUN_TLS"); v && *v) {
    if (std::strcmp(v, "own") != 0 && std::strcmp(v, "shared") != 0)
      refuse("GREENRUN_TLS", v,
             "is not own or shared: GREENRUN_TLS=shared trades each thread's own TLS for memory");
    c.own_tls = v[0] == 'o';
  }
  if (const char* v = std::getenv("GREENRUN_STATS"); v && *v) {
    if (std::strchr(v, '/')) {  // a file: each process writes its own with %p
      if (secure_execution()) {
        rt::write_diagnostic(2, {"greenrun: GREENRUN_STATS=", v,
                                 " is not honoured in secure execution (setuid/setgid): a setting "
                                 "that names a file is ignored\n"});
      } else {
        c.stats = true;
        c.stats_path = v;
      }
    } else if (std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0) {
      refuse("GREENRUN_STATS", v,
             "must be 0, 1 (the table on stderr) or a file path, e.g. GREENRUN_STATS=/tmp/stats.%p");
    } else if (v[0] == '1' && !parent_prints_stats()) {  // else a descendant: silent
      c.stats = true;
      c.stats_pid = getpid();
    }
  }
  return c;
}

}  // namespace

bool parse_size(const char* text, std::size_t& bytes) {
  const char* p = text;
  if (!std::isdigit(static_cast<unsigned char>(*p))) return false;
  unsigned long long value = 0;
  for (; std::isdigit(static_cast<unsigned char>(*p)); ++p) {
    if (value > (~0ull - 9) / 10) return false;
    value = value * 10 + static_cast<unsigned>(*p - '0');
  }
  unsigned shift = 0;
  switch (std::toupper(static_cast<unsigned char>(*p))) {
    case 'K': shift = 10; ++p; break;
    case 'M': shift = 20; ++p; break;
    case 'G': shift = 30; ++p; break;
    default: break;
  }
  if (shift && (*p == 'i' || *p == 'I')) ++p;
  if (*p == 'B' || *p == 'b') ++p;
  if (*p != '\0') return false;
  if (shift && value > (~0ull >> shift)) return false;
  bytes = static_cast<std::size_t>(value << shift);
  return true;
}

bool parse_signal(const char* text, int& signal) {
  if (strcasecmp(text, "none") == 0) {
    signal = 0;
    return true;
  }
  int found = 0;
  if (std::isdigit(static_cast<unsigned char>(*text))) {
    char* end = nullptr;
    long n = std::strtol(text, &end, 10);
    if (*end != '\0' || n <= 0 || n > SIGRTMAX) return false;
    found = static_cast<int>(n);
  } else {
    const char* name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (int s = 1; s < SIGRTMIN && !found; ++s)
      if (const char* abbrev = sigabbrev_np(s); abbrev && strcasecmp(name, abbrev) == 0) found = s;
    if (!found && strncasecmp(name, "RTMIN", 5) == 0) {
      char* end = nullptr;
      long k = name[5] == '\0' ? 0 : name[5] == '+' ? std::strtol(name + 6, &end, 10) : -1;
      if (k >= 0 && (!end || *end == '\0') && SIGRTMIN + k <= SIGRTMAX)
        found = SIGRTMIN + static_cast<int>(k);
    }
  }
  if (!found || found == SIGKILL || found == SIGSTOP) return false;
  signal = found;
  return true;
}

bool secure_execution() { return getauxval(AT_SECURE) != 0; }

const Config& config() {
  static const Config c = load();
  return c;
}

}  // namespace greenrun::preload
