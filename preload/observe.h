// Observability wiring of the preload (the dump signal, the statistics at exit, the blocking
// monitor), as GREENRUN_DUMP_SIGNAL, GREENRUN_STATS and GREENRUN_BLOCKING_MS ask.
#pragma once

namespace greenrun::rt {
class Hub;
}

namespace greenrun::preload {

// Called once, on the main OS thread, right after the hub is made.
void start_observers(rt::Hub& hub);

}  // namespace greenrun::preload
