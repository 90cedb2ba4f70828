#include "config.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "stack_pool.h"

namespace greenrun::preload {
namespace {

constexpr std::size_t kMaxStackSize = std::size_t{1} << 30;  // 1 GiB: beyond is surely a typo

[[noreturn]] void refuse(const char* name, const char* value, const char* why) {
  std::fprintf(stderr, "greenrun: %s=%s %s\n", name, value, why);
  std::fflush(stderr);
  _exit(2);
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

const Config& config() {
  static const Config c = load();
  return c;
}

}  // namespace greenrun::preload
