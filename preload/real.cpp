#include "real.h"

#include <dlfcn.h>
#include <unistd.h>

#include "diagnostic_output.h"

namespace greenrun::real {

void* resolve(const char* name, const char* version) {
  void* fn = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  if (!fn && version) fn = dlsym(RTLD_NEXT, name);
  if (!fn) {
    // No stdio here: this may run before libc's own start-up is complete.
    rt::write_diagnostic(2, {"greenrun: libc has no symbol ", name,
                             "; this libc is not supported (glibc 2.34 or later is needed)\n"});
    ::_exit(127);
  }
  return fn;
}

}  // namespace greenrun::real
