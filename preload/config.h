// GREENRUN_* settings, read once before main. A malformed value stops the program with a
// one-line message and exit status 2: a silent default would hide the mistake.
#pragma once
#include <cstddef>

namespace greenrun::preload {

struct Config {
  std::size_t stack_size = 256 * 1024;  // GREENRUN_STACK_SIZE: default for pthread_create
};

// Parsed on first use (our constructor makes that happen before main).
const Config& config();

// Parses "<digits>[K|M|G][i][B]" (case-insensitive, powers of 1024) into bytes; false when it
// is not a size or overflows.
bool parse_size(const char* text, std::size_t& bytes);

}  // namespace greenrun::preload
