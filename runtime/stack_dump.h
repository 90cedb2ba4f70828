// The stack dump: every green thread with its state, how long it has been in it, what it waits
// for and a symbolised backtrace (libunwind). Invariant: runs on the hub's own OS thread (from
// a green thread, the hub context or a loop callback), never inside a raw signal handler.
#pragma once

namespace greenrun::rt {

class Hub;

// Writes the dump to `fd` with write_diagnostic(). The calling context's own backtrace is taken live;
// every suspended thread's is walked from the registers its context saved.
void dump_threads(Hub& hub, int fd);

// One "    #N function+0xoff" line per frame of the calling context (skipping `skip` frames).
void write_backtrace_here(int fd, int skip);

}  // namespace greenrun::rt
