// Which greenrun process prints the statistics table on stderr. GREENRUN_STATS=1 is inherited
// by every process the program starts (they run greenrun too); the table belongs to the top
// one only, so that nothing lands in a child's stderr (git forwards that to its client). A
// process is not the top when its parent runs greenrun and was itself started with
// GREENRUN_STATS=1. This is read from /proc at start-up, so nothing is added to the
// environment that the program and its children see.
#pragma once

namespace greenrun::preload {

// True when the parent process maps our library (/proc/PPID/maps) and its initial environment
// (/proc/PPID/environ) holds GREENRUN_STATS=1. False when either cannot be read: a parent of
// another user, or one that has already exited (this process then counts as the top).
bool parent_prints_stats();

}  // namespace greenrun::preload
