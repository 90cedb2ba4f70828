// The few system calls the runtime makes whose libc wrappers the preload interposes with a
// different meaning (fcntl answers with the program's view of O_NONBLOCK): made as raw system
// calls, so the runtime always sees and sets the kernel's state.
#pragma once
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace greenrun::rt {

inline int real_fcntl_getfl(int fd) { return static_cast<int>(::syscall(SYS_fcntl, fd, F_GETFL)); }
inline int real_fcntl_setfl(int fd, int flags) {
  return static_cast<int>(::syscall(SYS_fcntl, fd, F_SETFL, flags));
}

}  // namespace greenrun::rt
