// Shared by the descriptor shims: whether a call on `fd` is ours to make cooperative.
#pragma once
#include "fd_table.h"
#include "hub.h"
#include "io_wait.h"

namespace greenrun::shim {

// The descriptor's entry when a blocking call on it should park instead of blocking the hub;
// nullptr when the call should go straight to libc: off green threads, on descriptors that are
// always ready, and on descriptors the program made non-blocking (it expects EAGAIN).
inline rt::FdEntry* cooperative(int fd) {
  if (!rt::on_green_thread()) return nullptr;
  rt::FdEntry* e = rt::current()->hub->fds().entry(fd);
  if (!e || !e->parkable() || e->app_nonblocking) return nullptr;
  return e;
}

// True when the kernel would block on this descriptor (one we did not create and so never made
// non-blocking) and nothing else could run meanwhile: the plain blocking call is then exact.
inline bool blocking_alone(const rt::FdEntry& e) {
  return !e.real_nonblocking && rt::current()->hub->alone();
}

// Waits until `fd` (whose kernel flag is blocking) is ready, so that the blocking call that
// follows returns at once: for descriptors we must not make non-blocking and that take no
// MSG_DONTWAIT (inherited pipes and terminals). 0, or -1 with errno.
int wait_ready(rt::FdEntry& e, rt::Want want, rt::Nanos deadline);

}  // namespace greenrun::shim
