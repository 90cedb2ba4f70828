// The launcher's one way to speak: a line "greenrun: ..." on stderr, written whole by a single
// write, so the lines of several processes (the launcher and its workers) never interleave.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace greenrun::launcher {

inline void say(std::string_view text) {
  std::string line = "greenrun: ";
  line += text;
  line += '\n';
  for (std::size_t done = 0; done < line.size();) {
    ssize_t n = write(2, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report to
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace greenrun::launcher
