// The one writer of greenrun's own output: diagnostics, deadlock reports, the stack dump, the
// blocking monitor's reports and the statistics table. Invariant: async-signal-safe (no
// allocation, no lock, errno left as it was), because the stack-overflow and sampling handlers
// use it; and it never enters greenrun's own write shim, which could park a green thread.
#pragma once
#include <cstddef>
#include <initializer_list>

namespace greenrun::rt {

// Writes all `size` bytes of `text` to `fd`, retrying after EINTR and short writes. Gives up
// silently on any other error (a closed stderr has nobody left to tell).
void write_diagnostic(int fd, const char* text, std::size_t size);

// The concatenation of `parts` (NUL-terminated strings), gathered in a stack buffer so that a
// message of usual length is one write(2) and cannot interleave with another writer's.
void write_diagnostic(int fd, std::initializer_list<const char*> parts);

// printf-style into a 512-byte stack buffer (longer output is cut there), then written.
[[gnu::format(printf, 2, 3)]] void print_diagnostic(int fd, const char* format, ...);

}  // namespace greenrun::rt
