// Shared by the stdio shims: which FILEs are our own (shims/stdio.cpp).
#pragma once
#include <stdio.h>

namespace greenrun::shim {

// True if our fdopen made `f`: its reads and writes park by themselves (through read() and
// write()), so input calls need no wait before the real function. Callable on any OS thread.
bool own_file(FILE* f);

}  // namespace greenrun::shim
