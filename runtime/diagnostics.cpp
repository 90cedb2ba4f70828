// Diagnostics: async-signal-safe formatting, because the stack-overflow handler uses them.
#include "diagnostics.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "green_thread.h"

namespace greenrun::rt {
namespace {

void emit(const GreenThread* thread, const char* message, const char* fix) {
  char who[96];
  describe(thread, who, sizeof who);
  char line[512];
  int n = std::snprintf(line, sizeof line, "greenrun: %s in green thread %s; %s\n", message, who,
                        fix);
  if (n > static_cast<int>(sizeof line) - 1) n = sizeof line - 1;
  if (n > 0) {
    ssize_t ignored = ::write(2, line, static_cast<size_t>(n));
    (void)ignored;
  }
}

}  // namespace

void describe(const GreenThread* t, char* buf, unsigned long size) {
  if (!t) {
    std::snprintf(buf, size, "<none>");
  } else if (t->name[0]) {
    std::snprintf(buf, size, "'%s' (id %llu)", t->name, static_cast<unsigned long long>(t->id));
  } else {
    std::snprintf(buf, size, "#%llu", static_cast<unsigned long long>(t->id));
  }
}

void fatal(const GreenThread* thread, const char* message, const char* fix) {
  emit(thread, message, fix);
  std::abort();
}

void warn(const GreenThread* thread, const char* message, const char* fix) {
  emit(thread, message, fix);
}

}  // namespace greenrun::rt
