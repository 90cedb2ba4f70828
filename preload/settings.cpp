#include "settings.h"

#include <signal.h>
#include <strings.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "stack_pool.h"

namespace greenrun::preload {
namespace {

constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;  // 1 GiB: beyond is surely a typo

// A whole number of milliseconds from `low` to `high`; else `why` (which names the range and
// gives an example).
const char* read_ms(const char* text, long low, long high, const char* why, int& ms) {
  char* end = nullptr;
  errno = 0;
  long n = std::isdigit(static_cast<unsigned char>(*text)) ? std::strtol(text, &end, 10) : -1;
  if (n < low || errno != 0 || *end != '\0' || n > high) return why;
  ms = static_cast<int>(n);
  return nullptr;
}

// "0" or "1"; else `why`.
const char* read_flag(const char* text, const char* why, bool& flag) {
  if (std::strcmp(text, "0") != 0 && std::strcmp(text, "1") != 0) return why;
  flag = text[0] == '1';
  return nullptr;
}

}  // namespace

const char* read_stack_size(const char* text, std::size_t& bytes) {
  std::size_t n = 0;
  if (!parse_size(text, n)) return "is not a size: use bytes or a K, M or G suffix, e.g. 256K";
  if (n < rt::StackPool::kMinimumSize) return "is below the minimum stack size of 16K";
  if (n > kMaxStackSize) return "is above the maximum stack size of 1G";
  bytes = n;
  return nullptr;
}

const char* read_inherit(const char* text, bool& inherit) {
  return read_flag(text, "is not 0 or 1: 0 keeps the programs it starts native", inherit);
}

const char* read_dump_signal(const char* text, int& signal) {
  int s = 0;
  if (!parse_signal(text, s))
    return "is not a signal that can be caught: use a name (QUIT, SIGUSR1), a number, or none";
  if (s == SIGCHLD)  // its SIG_IGN reaps children: it cannot stay the program's
    return "cannot be the dump signal: ignoring SIGCHLD changes how children are reaped";
  signal = s;
  return nullptr;
}

const char* read_blocking_ms(const char* text, int& ms) {
  return read_ms(text, 1, 3'600'000,
                 "is not a number of milliseconds from 1 to 3600000, e.g. 100", ms);
}

const char* read_timeslice(const char* text, int& ms) {
  return read_ms(text, 0, 60'000,
                 "is not a number of milliseconds from 0 (no preemption) to 60000, e.g. 10", ms);
}

const char* read_handoff_ms(const char* text, int& ms) {
  return read_ms(text, 0, 60'000,
                 "is not a number of milliseconds from 0 (no hand-off) to 60000, e.g. 2", ms);
}

const char* read_tls(const char* text, bool& own) {
  if (std::strcmp(text, "own") != 0 && std::strcmp(text, "shared") != 0)
    return "is not own or shared: shared trades each thread's own TLS for memory";
  own = text[0] == 'o';
  return nullptr;
}

const char* read_stats(const char* text, StatsChoice& stats) {
  if (std::strchr(text, '/')) {  // a file: each process writes its own with %p
    stats = {true, text};
    return nullptr;
  }
  bool on = false;
  if (read_flag(text, "", on))
    return "must be 0, 1 (the table on stderr) or a path with a / (the table to that file), "
           "e.g. /tmp/stats.%p";
  stats = {on, {}};
  return nullptr;
}

const char* read_reuseport(const char* text, bool& reuseport) {
  return read_flag(text,
                   "is not 0 or 1: 1 (what greenrun --workers sets) adds SO_REUSEPORT to the "
                   "TCP sockets the program binds",
                   reuseport);
}

const char* check_setting(std::string_view name, const char* value) {
  std::size_t size = 0;
  bool flag = false;
  int number = 0;
  StatsChoice stats;
  if (name == "GREENRUN_STACK_SIZE") return read_stack_size(value, size);
  if (name == "GREENRUN_INHERIT") return read_inherit(value, flag);
  if (name == "GREENRUN_DUMP_SIGNAL") return read_dump_signal(value, number);
  if (name == "GREENRUN_BLOCKING_MS") return read_blocking_ms(value, number);
  if (name == "GREENRUN_TIMESLICE") return read_timeslice(value, number);
  if (name == "GREENRUN_HANDOFF_MS") return read_handoff_ms(value, number);
  if (name == "GREENRUN_TLS") return read_tls(value, flag);
  if (name == "GREENRUN_STATS") return read_stats(value, stats);
  if (name == "GREENRUN_REUSEPORT") return read_reuseport(value, flag);
  return nullptr;
}

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

}  // namespace greenrun::preload
