// The parent check for GREENRUN_STATS=1 and GREENRUN_REUSEPORT=1 (see lineage.h). Runs before
// main, on the real libc calls.
#include "lineage.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "real.h"

namespace greenrun::preload {
namespace {

// Whether the file at `path`, read as if it began with `lead`, contains `needle`. Read in
// pieces (a /proc file has no size); the window keeps the tail a match may straddle.
bool file_contains(const std::string& path, const std::string& needle, char lead) {
  int fd = real::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string window(1, lead);
  char piece[4096];
  bool found = false;
  for (;;) {
    ssize_t n = real::read(fd, piece, sizeof piece);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    window.append(piece, static_cast<std::size_t>(n));
    if (window.find(needle) != std::string::npos) {
      found = true;
      break;
    }
    if (window.size() >= needle.size()) window.erase(0, window.size() - needle.size() + 1);
  }
  real::close(fd);
  return found;
}

// "/libgreenrun.so\n": how a maps line that maps this library ends.
std::string our_maps_suffix() {
  Dl_info info{};
  std::string path = "libgreenrun.so";
  if (dladdr(reinterpret_cast<void*>(&our_maps_suffix), &info) && info.dli_fname)
    path = info.dli_fname;
  std::string suffix(1, '/');
  suffix.append(path, path.rfind('/') + 1);  // after the last slash (all of it when none)
  suffix += '\n';
  return suffix;
}

}  // namespace

bool parent_started_with(const char* assignment) {
  const int saved_errno = errno;
  const std::string parent = "/proc/" + std::to_string(getppid());
  std::string entry(1, '\0');
  entry += assignment;
  entry += '\0';
  bool started = file_contains(parent + "/maps", our_maps_suffix(), '\n') &&
                 file_contains(parent + "/environ", entry, '\0');
  errno = saved_errno;
  return started;
}

bool parent_prints_stats() { return parent_started_with("GREENRUN_STATS=1"); }

}  // namespace greenrun::preload
