#include "real.h"

#include <dlfcn.h>

#include <cstring>

namespace greenrun::real {

void* resolve(const char* name, const char* version) {
  void* fn = version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
  if (!fn && version) fn = dlsym(RTLD_NEXT, name);
  if (!fn) {
    // No stdio here: this may run before libc's own start-up is complete.
    const char* head = "greenrun: libc has no symbol ";
    const char* tail = "; this libc is not supported (glibc 2.34 or later is needed)\n";
    ssize_t ignored = ::write(2, head, std::strlen(head));
    ignored = ::write(2, name, std::strlen(name));
    ignored = ::write(2, tail, std::strlen(tail));
    (void)ignored;
    ::_exit(127);
  }
  return fn;
}

}  // namespace greenrun::real
