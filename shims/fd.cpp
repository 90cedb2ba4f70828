// Descriptor life and flags: pipes, close, dup, fcntl and ioctl(FIONBIO).
// The kernel's O_NONBLOCK is the program's alone; F_SETFL and FIONBIO go through unchanged and
// are only noted, so that a descriptor the program made non-blocking gets EAGAIN exactly as
// natively. Closing or replacing a descriptor wakes its waiters with EBADF before the number
// can be reused.
// Defines: pipe pipe2 close dup dup2 dup3 fcntl fcntl64 ioctl
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "export.h"
#include "fd_shim.h"
#include "handoff.h"
#include "real.h"

namespace greenrun::shim {
namespace {

rt::FdTable* table() { return rt::on_green_thread() ? &rt::current()->hub->fds() : nullptr; }

// Anything that closes or replaces `fd` from the hub's OS thread must tell the table first.
rt::FdTable* table_for_close() {
  return rt::current() ? &rt::current()->hub->fds() : nullptr;
}

int make_pipe(int fds[2], int flags) {
  int rc = real::pipe2(fds, flags);
  if (rc != 0) return rc;
  rt::FdTable& t = *table();
  for (int i = 0; i < 2; ++i) t.adopt_new(fds[i], rt::FdKind::pollable, flags & O_NONBLOCK);
  return 0;
}

// Notes a change of O_NONBLOCK the kernel accepted.
void note_nonblocking(int fd, bool nonblocking) {
  rt::FdTable* t = table();
  if (rt::FdEntry* e = t ? t->entry(fd) : nullptr) t->set_nonblocking(*e, nonblocking);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pipe(int fds[2]) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::pipe(fds);
  return shim::make_pipe(fds, 0);
}

GREENRUN_EXPORT int pipe2(int fds[2], int flags) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::pipe2(fds, flags);
  return shim::make_pipe(fds, flags);
}

GREENRUN_EXPORT int close(int fd) {
  if (rt::FdTable* t = shim::table_for_close()) t->forget(fd);
  return real::close(fd);
}

GREENRUN_EXPORT int dup(int fd) noexcept {
  int copy = real::dup(fd);
  if (copy >= 0) {
    if (rt::FdTable* t = shim::table_for_close()) {
      t->forget(copy);
      t->duplicate(fd, copy);
    }
  }
  return copy;
}

GREENRUN_EXPORT int dup2(int from, int to) noexcept {
  rt::FdTable* t = shim::table_for_close();
  if (t && from != to) t->forget(to);
  int rc = real::dup2(from, to);
  if (rc >= 0 && t && from != to) t->duplicate(from, to);
  return rc;
}

GREENRUN_EXPORT int dup3(int from, int to, int flags) noexcept {
  rt::FdTable* t = shim::table_for_close();
  if (t && from != to) t->forget(to);
  int rc = real::dup3(from, to, flags);
  if (rc >= 0 && t) t->duplicate(from, to);
  return rc;
}

GREENRUN_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);  // every fcntl argument fits a long (int or pointer)
  va_end(ap);
  switch (cmd) {
    case F_SETFL: {
      int rc = real::fcntl(fd, cmd, arg);
      if (rc == 0) shim::note_nonblocking(fd, arg & O_NONBLOCK);
      return rc;
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int copy = real::fcntl(fd, cmd, arg);
      if (copy >= 0) {
        if (rt::FdTable* t = shim::table_for_close()) {
          t->forget(copy);
          t->duplicate(fd, copy);
        }
      }
      return copy;
    }
    case F_SETLKW:
    case F_OFD_SETLKW:  // waits for another process's record lock
      if (rt::on_green_thread() && !rt::current()->hub->alone())
        return rt::in_blocking_call([&] { return real::fcntl(fd, cmd, arg); });
      return real::fcntl(fd, cmd, arg);
    default:
      return real::fcntl(fd, cmd, arg);
  }
}

// glibc's fcntl64 is the same function on 64-bit targets; programs built with
// _FILE_OFFSET_BITS=64 call it by that name.
GREENRUN_EXPORT int greenrun_fcntl64(int fd, int cmd, ...) __asm__("fcntl64");
GREENRUN_EXPORT int greenrun_fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return fcntl(fd, cmd, arg);
}

GREENRUN_EXPORT int ioctl(int fd, unsigned long request, ...) noexcept {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  int rc = real::ioctl(fd, request, arg);
  if (rc == 0 && request == FIONBIO && arg) shim::note_nonblocking(fd, *static_cast<int*>(arg) != 0);
  return rc;
}
