// One-line diagnostics for broken invariants and misuse. Every line starts "greenrun:", names
// the green thread involved and says what to do about it.
#pragma once

namespace greenrun::rt {

struct GreenThread;

// Writes "greenrun: <message>" with the thread's name and id, then aborts. Safe to call from a
// signal handler: it formats into a stack buffer and writes with write_diagnostic().
[[noreturn]] void fatal(const GreenThread* thread, const char* message, const char* fix);

// Same line without aborting, for warnings (deadlock reports, refused input).
void warn(const GreenThread* thread, const char* message, const char* fix);

// "name (id N)" into buf; for diagnostics that build their own lines.
void describe(const GreenThread* thread, char* buf, unsigned long size);

}  // namespace greenrun::rt
