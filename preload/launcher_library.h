// Which libgreenrun.so the launcher preloads: --library, else $GREENRUN_LIBRARY, else the one
// next to the launcher (the build tree: build/preload/greenrun beside libgreenrun.so), else the
// one in the install's libdir, found from the launcher's own location (/proc/self/exe) so that
// an installed tree works wherever it is copied or moved.
#pragma once
#include <string>

namespace greenrun::launcher {

// The absolute path of the library to preload, given --library's value (empty when not given).
// Empty when there is none, with `error` set to one line that says where it looked.
std::string find_library(const std::string& option, std::string& error);

}  // namespace greenrun::launcher
