// Turns a fault in a green thread's stack guard into a one-line diagnostic naming the thread
// and its stack size. Faults elsewhere go to whatever handler the program had before.
#pragma once

namespace greenrun::rt {

// Installs the SIGSEGV/SIGBUS handler (once per process) and an alternate signal stack for the
// calling OS thread (a handler cannot run on the stack that just overflowed).
void install_overflow_handler();

}  // namespace greenrun::rt
