// Socket life: creation, connect, accept, shutdown and the timeouts set with setsockopt.
// Sockets created here are non-blocking in the kernel from the start (SOCK_NONBLOCK, so no
// extra fcntl); the program's own choice is kept in the fd table. A blocking connect waits for
// writability and reports SO_ERROR; a non-blocking one keeps EINPROGRESS.
// Defines: socket socketpair accept accept4 connect shutdown setsockopt
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "export.h"
#include "fd_shim.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {
namespace {

rt::FdTable& table() { return rt::current()->hub->fds(); }

int accept_on(int fd, sockaddr* address, socklen_t* length, int flags) {
  rt::FdEntry* e = cooperative(fd);
  if (!e || blocking_alone(*e)) {
    int s = real::accept4(fd, address, length, flags);
    if (s >= 0 && rt::on_green_thread(rt::CallFamily::io)) table().forget(s);
    return s;
  }
  CancellationPoint cp;
  int s;
  if (e->real_nonblocking) {
    s = rt::retry_io(*e, rt::Want::read, rt::deadline_for_timeout(e->recv_timeout),
                     [&] { return real::accept4(fd, address, length, flags | SOCK_NONBLOCK); });
  } else {  // a listening socket we did not create: wait until a connection is there
    if (wait_ready(*e, rt::Want::read, rt::deadline_for_timeout(e->recv_timeout)) != 0) return -1;
    s = real::accept4(fd, address, length, flags | SOCK_NONBLOCK);
  }
  if (s >= 0) table().adopt_new(s, rt::FdKind::socket, flags & SOCK_NONBLOCK, true);
  return s;
}

int connect_on(int fd, const sockaddr* address, socklen_t length) {
  rt::FdEntry* e = cooperative(fd);
  if (!e || !e->real_nonblocking) return real::connect(fd, address, length);
  CancellationPoint cp;
  const int saved_errno = errno;  // a connect that completes leaves errno alone
  if (real::connect(fd, address, length) == 0) return 0;
  if (errno != EINPROGRESS) return -1;
  int rc = rt::current()->hub->fds().wait(*e, rt::Want::write,
                                          rt::deadline_for_timeout(e->send_timeout));
  if (rc == -ETIMEDOUT) return errno = EINPROGRESS, -1;  // Linux: SO_SNDTIMEO ends connect so
  if (rc < 0) return errno = -rc, -1;
  int error = 0;
  socklen_t size = sizeof error;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return -1;
  if (error != 0) return errno = error, -1;
  errno = saved_errno;
  return 0;
}

rt::Nanos to_nanos(const void* value, socklen_t length) {
  if (!value || length < sizeof(timeval)) return 0;
  auto* tv = static_cast<const timeval*>(value);
  return rt::Nanos{tv->tv_sec} * 1'000'000'000 + rt::Nanos{tv->tv_usec} * 1000;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int socket(int domain, int type, int protocol) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::socket(domain, type, protocol);
  int s = real::socket(domain, type | SOCK_NONBLOCK, protocol);
  if (s >= 0)
    shim::table().adopt_new(s, rt::FdKind::socket, type & SOCK_NONBLOCK, true);
  return s;
}

GREENRUN_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::io))
    return real::socketpair(domain, type, protocol, fds);
  int rc = real::socketpair(domain, type | SOCK_NONBLOCK, protocol, fds);
  if (rc == 0)
    for (int i = 0; i < 2; ++i)
      shim::table().adopt_new(fds[i], rt::FdKind::socket, type & SOCK_NONBLOCK, true);
  return rc;
}

GREENRUN_EXPORT int accept(int fd, struct sockaddr* address, socklen_t* length) {
  return shim::accept_on(fd, address, length, 0);
}

GREENRUN_EXPORT int accept4(int fd, struct sockaddr* address, socklen_t* length, int flags) {
  return shim::accept_on(fd, address, length, flags);
}

GREENRUN_EXPORT int connect(int fd, const struct sockaddr* address, socklen_t length) {
  return shim::connect_on(fd, address, length);
}

GREENRUN_EXPORT int shutdown(int fd, int how) noexcept {
  int rc = real::shutdown(fd, how);
  // Parked readers and writers see the end of the stream when the watcher reports it; nothing
  // to do here but let the call through.
  return rc;
}

GREENRUN_EXPORT int setsockopt(int fd, int level, int name, const void* value,
                               socklen_t length) noexcept {
  int rc = real::setsockopt(fd, level, name, value, length);
  if (rc == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
      rt::on_green_thread(rt::CallFamily::io)) {
    rt::FdEntry* e = shim::table().entry(fd);
    if (e) (name == SO_RCVTIMEO ? e->recv_timeout : e->send_timeout) = shim::to_nanos(value, length);
  }
  return rc;
}
