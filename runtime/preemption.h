// Asynchronous preemption (Go 1.14's, for C programs): a green thread that runs longer than a
// time slice without switching is interrupted by a signal on the hub's OS thread and made to
// yield, at a safe point only. A native monitor thread watches the hub's switch counter; when
// the same thread has run a whole slice it signals the hub's OS thread. The handler (entered
// through the signal shims' trampoline, which owns dispositions) checks that the interrupted
// instruction is in code that holds no lock greenrun or libc needs — not in libc, the loader,
// libgcc's unwinder, libunwind, libuv or greenrun, not in a program signal handler, not in a
// runtime call — and then redirects the thread into an entry that saves every register and
// yields through the hub; otherwise the monitor tries again half a slice later.
// Invariant: the monitor only reads the hub's counters and sends a signal; the handler only
// edits the interrupted context; the yield itself runs in the thread's normal context.
#pragma once
#include <signal.h>

#include "clock.h"

namespace greenrun::rt {

class Hub;

// Whether this machine can preempt (x86-64 with XSAVE); `why` says why not.
bool preemption_available(const char** why);

// Starts the monitor for `hub` with time slice `slice`, signalling with `signal`; with slice 0
// nothing is preempted and the monitor only hands the loop off (enable_handoff first), or
// without a hand-off either, only looks for threads made by raw clones (foreign_threads.h),
// which it does in every mode. Call once, on the hub's OS thread; the caller has routed
// `signal` to on_preemption_signal(). Returns 0 or a negative errno.
int start_preemption(Hub& hub, Nanos slice, int signal);

// In the child of fork, on the surviving thread: a monitor for the child's own hub.
void restart_preemption_after_fork();

// The signal's handler body: preempts the running green thread if it is at a safe point.
void on_preemption_signal(siginfo_t* info, void* context);

// Preemptions made so far (for GREENRUN_STATS).
unsigned long long preemptions();

// Whether start_preemption() has succeeded with a slice (its signal is then routed here).
bool preemption_running();

}  // namespace greenrun::rt
