// Which greenrun process a setting meant for "the program" applies to. GREENRUN_STATS=1 (and
// GREENRUN_REUSEPORT=1) is inherited by every process the program starts (they run greenrun
// too); it belongs to the top one only, so that nothing lands in a child's stderr (git forwards
// that to its client) and no helper shares a port by surprise. A process is not the top when
// its parent runs greenrun and was itself started with the same setting. This is read from
// /proc at start-up, so nothing is added to the environment that the program and its children
// see.
#pragma once

namespace greenrun::preload {

// True when the parent process maps our library (/proc/PPID/maps) and its initial environment
// (/proc/PPID/environ) holds GREENRUN_STATS=1. False when either cannot be read: a parent of
// another user, or one that has already exited (this process then counts as the top).
bool parent_prints_stats();

// The same test for any `assignment` ("GREENRUN_REUSEPORT=1") in the parent's initial
// environment.
bool parent_started_with(const char* assignment);

}  // namespace greenrun::preload
