// Descriptor life and flags: pipes, close, dup, fcntl and ioctl(FIONBIO).
// For descriptors the program creates through us, the kernel's O_NONBLOCK is ours (always on)
// and the program's view is kept apart: F_GETFL and FIONBIO report and change only that view,
// so a program that made a descriptor non-blocking gets EAGAIN exactly as natively. Closing or
// replacing a descriptor wakes its waiters with EBADF before the number can be reused.
// Defines: pipe pipe2 close dup dup2 dup3 fcntl fcntl64 ioctl
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "export.h"
#include "fd_shim.h"
#include "real.h"

namespace greenrun::shim {
namespace {

rt::FdTable* table() { return rt::on_green_thread() ? &rt::current()->hub->fds() : nullptr; }

// Anything that closes or replaces `fd` from the hub's OS thread must tell the table first.
rt::FdTable* table_for_close() {
  return rt::current() ? &rt::current()->hub->fds() : nullptr;
}

int make_pipe(int fds[2], int flags) {
  int rc = real::pipe2(fds, flags | O_NONBLOCK);
  if (rc != 0) return rc;
  rt::FdTable& t = *table();
  for (int i = 0; i < 2; ++i) t.adopt_new(fds[i], rt::FdKind::pollable, flags & O_NONBLOCK, true);
  return 0;
}

int get_flags(int fd) {
  int flags = real::fcntl(fd, F_GETFL);
  rt::FdTable* t = table();
  if (flags < 0 || !t) return flags;
  rt::FdEntry* e = t->find(fd);
  if (!e || !e->known || !e->owned) return flags;
  return e->app_nonblocking ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
}

int set_flags(int fd, int flags) {
  rt::FdTable* t = table();
  rt::FdEntry* e = t ? t->entry(fd) : nullptr;
  const bool nonblocking = flags & O_NONBLOCK;
  if (!e || !e->owned) {
    int rc = real::fcntl(fd, F_SETFL, flags);
    if (rc == 0 && e) t->set_nonblocking(*e, nonblocking, nonblocking);
    return rc;
  }
  int rc = real::fcntl(fd, F_SETFL, flags | O_NONBLOCK);  // ours stays non-blocking
  if (rc == 0) t->set_nonblocking(*e, nonblocking, e->real_nonblocking);
  return rc;
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
    case F_GETFL:
      return shim::get_flags(fd);
    case F_SETFL:
      return shim::set_flags(fd, static_cast<int>(arg));
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
  if (request == FIONBIO && arg && rt::on_green_thread(rt::CallFamily::io)) {
    rt::FdEntry* e = rt::current()->hub->fds().entry(fd);
    rt::FdTable& t = rt::current()->hub->fds();
    const bool nonblocking = *static_cast<int*>(arg) != 0;
    if (e && e->owned) {
      int dummy = 1;  // the kernel keeps O_NONBLOCK; validate the descriptor the same way
      int rc = real::ioctl(fd, request, &dummy);
      if (rc == 0) t.set_nonblocking(*e, nonblocking, true);
      return rc;
    }
    int rc = real::ioctl(fd, request, arg);
    if (rc == 0 && e) t.set_nonblocking(*e, nonblocking, nonblocking);
    return rc;
  }
  return real::ioctl(fd, request, arg);
}
