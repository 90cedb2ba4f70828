// The blocking monitor (GREENRUN_BLOCKING_MS): a native watchdog thread that reports a green
// thread keeping the loop from running for longer than a threshold, once per episode (gevent's
// monitor thread). Invariant: the watchdog only reads the hub's atomics and sends one signal;
// it never touches the scheduler.
#pragma once

namespace greenrun::rt {

class Hub;

// Starts the watchdog for `hub`; call once, on the hub's OS thread. `sample_signal` (0 for
// none) is sent to that OS thread to take the offender's backtrace; its handler is installed
// only if the program has none, unless `routed` says the signal already reaches
// take_blocking_sample() (preemption shares it). Returns 0 or a negative errno.
int start_blocking_monitor(Hub& hub, int threshold_ms, int sample_signal, bool routed = false);

// The sample's work, for a handler that shares the sample signal (preemption's): takes the
// backtrace if the watchdog asked for one. Async-signal-safe. True if it did.
bool take_blocking_sample();

}  // namespace greenrun::rt
