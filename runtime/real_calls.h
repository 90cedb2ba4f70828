// The few system calls the runtime makes whose libc wrappers the preload interposes with a
// different meaning (fcntl, epoll_ctl and epoll_wait are the program's there): made as raw
// system calls, so the runtime always sees and sets the kernel's state, and its own epoll
// instance never goes through the shims.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace greenrun::rt {

inline int real_fcntl_getfl(int fd) { return static_cast<int>(::syscall(SYS_fcntl, fd, F_GETFL)); }
inline int real_fcntl_setfl(int fd, int flags) {
  return static_cast<int>(::syscall(SYS_fcntl, fd, F_SETFL, flags));
}
inline int real_epoll_create(int flags) { return static_cast<int>(::syscall(SYS_epoll_create1, flags)); }
inline int real_epoll_ctl(int epfd, int op, int fd, epoll_event* event) {
  return static_cast<int>(::syscall(SYS_epoll_ctl, epfd, op, fd, event));
}
// epoll_pwait with no mask: SYS_epoll_wait does not exist on every architecture.
inline int real_epoll_poll(int epfd, epoll_event* events, int max) {
  return static_cast<int>(::syscall(SYS_epoll_pwait, epfd, events, max, 0, nullptr, _NSIG / 8));
}
inline int real_dup3(int from, int to, int flags) {
  return static_cast<int>(::syscall(SYS_dup3, from, to, flags));
}
inline int real_close(int fd) { return static_cast<int>(::syscall(SYS_close, fd)); }

}  // namespace greenrun::rt
