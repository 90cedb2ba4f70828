// greenrun's own native OS threads (the lookup pool's workers, the blocking watchdog, the
// preemption monitor): detached, and born with every signal blocked, so that none of the
// program's process-directed signals is ever delivered to them.
#pragma once

namespace greenrun::rt {

// Starts body(arg) on a new detached OS thread with every signal blocked. Call inside a
// RuntimeCall (pthread_create and pthread_sigmask must be libc's). 0 or a positive errno.
int start_service_thread(void* (*body)(void*), void* arg);

}  // namespace greenrun::rt
