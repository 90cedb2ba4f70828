// The diagnostic writer (see diagnostic_output.h).
#include "diagnostic_output.h"

#include <errno.h>
#include <sys/types.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

// glibc's exported alias of write(2). The preload interposes `write` (a green thread's write
// may park) but never this name, so calling it reaches the kernel from any context: a raw
// signal handler, the hub, a green thread, another OS thread.
extern "C" ssize_t __write(int fd, const void* buf, size_t count);

namespace greenrun::rt {

void write_diagnostic(int fd, const char* text, std::size_t size) {
  const int saved_errno = errno;
  while (size > 0) {
    ssize_t n = __write(fd, text, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text += n;
    size -= static_cast<std::size_t>(n);
  }
  errno = saved_errno;
}

void write_diagnostic(int fd, std::initializer_list<const char*> parts) {
  char buffer[1024];
  std::size_t used = 0;
  for (const char* part : parts) {
    for (std::size_t left = std::strlen(part); left > 0;) {
      if (used == sizeof buffer) {
        write_diagnostic(fd, buffer, used);
        used = 0;
      }
      std::size_t n = left < sizeof buffer - used ? left : sizeof buffer - used;
      std::memcpy(buffer + used, part, n);
      used += n;
      part += n;
      left -= n;
    }
  }
  write_diagnostic(fd, buffer, used);
}

void print_diagnostic(int fd, const char* format, ...) {
  const int saved_errno = errno;
  char line[512];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  if (n > 0)
    write_diagnostic(fd, line, n < static_cast<int>(sizeof line) ? static_cast<std::size_t>(n)
                                                                 : sizeof line - 1);
  errno = saved_errno;
}

}  // namespace greenrun::rt
