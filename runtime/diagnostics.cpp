// Diagnostics: async-signal-safe formatting, because the stack-overflow handler uses them.
#include "diagnostics.h"

#include <cstdio>
#include <cstdlib>

#include "diagnostic_output.h"
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
  if (n > 0) write_diagnostic(2, line, static_cast<std::size_t>(n));
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
