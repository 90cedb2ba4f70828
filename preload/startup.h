// Start-up of the preloaded object: the hub is created lazily, on the process's main OS thread
// only, by the first call that needs it (the first pthread_create). Until then every shim
// passes straight through, so a program that never starts a thread pays one TLS load per call.
#pragma once

namespace greenrun::rt {
class Hub;
}

namespace greenrun::preload {

// The main thread's hub, created on first call (adopting main as the root green thread).
// nullptr when called on any other OS thread: only main hosts green threads.
rt::Hub* ensure_hub();

// True on the process's main OS thread.
bool on_main_os_thread();

}  // namespace greenrun::preload
