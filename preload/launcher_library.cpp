#include "launcher_library.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace greenrun::launcher {
namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A path the loader can take in LD_PRELOAD, which splits on spaces and colons.
bool preloadable(const std::string& path) { return path.find_first_of(" :") == std::string::npos; }

std::string given(const char* what, const std::string& path, std::string& error) {
  if (!is_file(path)) {
    error = "cannot find libgreenrun.so: " + std::string(what) + " names " + path +
            ", which is not a file";
    return {};
  }
  std::error_code ignored;
  std::string absolute = fs::absolute(path, ignored).lexically_normal().string();
  if (!preloadable(absolute)) {
    error = "cannot preload " + absolute + " (from " + what +
            "): LD_PRELOAD cannot carry a path with a space or a colon; use a link without one";
    return {};
  }
  return absolute;
}

}  // namespace

std::string find_library(const std::string& option, std::string& error) {
  if (!option.empty()) return given("--library", option, error);
  if (const char* env = std::getenv("GREENRUN_LIBRARY"); env && *env)
    return given("GREENRUN_LIBRARY", env, error);
  std::error_code failed;
  const fs::path here = fs::read_symlink("/proc/self/exe", failed).parent_path();
  const fs::path beside = here / "libgreenrun.so";
  const fs::path installed =
      (here / GREENRUN_BINDIR_TO_LIBDIR / "libgreenrun.so").lexically_normal();
  for (const fs::path& candidate : {beside, installed})
    if (!failed && is_file(candidate) && preloadable(candidate.string())) return candidate.string();
  error = "cannot find libgreenrun.so beside the launcher nor in " +
          installed.parent_path().string() +
          " (build it with ./scripts/build, reinstall, or give --library PATH or GREENRUN_LIBRARY)";
  return {};
}

}  // namespace greenrun::launcher
