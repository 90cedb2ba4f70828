// Thread pointer where no register-level code is written: readable through the compiler, never
// written (tls::available() is false on these machines, so green threads share their OS
// thread's TLS and the switch never changes it).
#include <cstdlib>

#include "thread_pointer.h"

namespace greenrun::rt {

void* read_thread_pointer() { return __builtin_thread_pointer(); }

void write_thread_pointer(void*) { std::abort(); }

const char* thread_pointer_method() { return "none"; }

}  // namespace greenrun::rt
