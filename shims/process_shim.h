// Shared by the process shims: the cooperative wait for a child (shims/process.cpp), which
// system() and pclose() (shims/process_shell.cpp) use after spawning their child.
#pragma once
#include <sys/types.h>

namespace greenrun::shim {

// waitpid(pid, status, options) that parks the calling green thread instead of blocking the
// hub. A cancellation point when `cancellable`. Returns what waitpid returns, errno set.
pid_t wait_child(pid_t pid, int* status, int options, bool cancellable);

// Before main (the preload's constructor): registers the runtime's fork child handler ahead of
// any the program registers.
void note_forks();

}  // namespace greenrun::shim
