// Socket life: creation, connect, accept, shutdown and the timeouts set with setsockopt.
// Sockets keep the O_NONBLOCK the program gave them. A blocking accept waits for readiness,
// then accepts; a blocking connect is made non-blocking for the one call, then waits for
// writability and reports SO_ERROR. Both are exact only while no other process holds the
// socket: once one may (inherited, a child started since, sent away), the accept or connect
// itself runs on a pool thread, where losing a race to the other process blocks nobody else.
// Defines: socket socketpair accept accept4 connect shutdown setsockopt
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "export.h"
#include "fd_shim.h"
#include "posix_thread.h"
#include "real.h"
#include "reuseport.h"
#include "threadpool.h"

namespace greenrun::shim {
namespace {

rt::FdTable& table() { return rt::current()->hub->fds(); }

int accept_on(int fd, sockaddr* address, socklen_t* length, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::accept4(fd, address, length, flags);
  rt::FdEntry* e = cooperative(fd);
  int s;
  if (!e || alone_on_hub()) {
    s = as_the_program_asked(real::accept4(fd, address, length, flags));
  } else {
    CancellationPoint cp;
    RestartableCall restartable;
    if (wait_ready(*e, rt::Want::read, deadline_for_timeout(e->recv_timeout)) != 0) return -1;
    if (table().may_be_shared(*e)) {
      s = rt::call_in_threadpool([&] { return real::accept4(fd, address, length, flags); });
    } else {
      s = real::accept4(fd, address, length, flags);  // nobody else can take what poll saw
    }
  }
  if (s >= 0) table().adopt_new(s, rt::FdKind::socket, flags & SOCK_NONBLOCK);
  return s;
}

// A blocking connect on a socket no other process holds: non-blocking for this one call (no
// one can observe the flag meanwhile), then parked until the handshake ends.
int connect_privately(rt::FdEntry& e, const sockaddr* address, socklen_t length) {
  const int fd = e.fd;
  const int saved_errno = errno;  // a connect that completes leaves errno alone
  const int flags = real::fcntl(fd, F_GETFL);
  if (flags < 0) return -1;
  if (real::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return -1;
  int rc = real::connect(fd, address, length);
  const int error = errno;
  real::fcntl(fd, F_SETFL, flags);
  if (rc == 0) return errno = saved_errno, 0;
  if (error == EAGAIN) {
    // A Unix socket whose listener's backlog is full: the blocking call waits for room,
    // which no poll reports. Let a pool thread wait.
    errno = saved_errno;
    return rt::call_in_threadpool([&] { return real::connect(fd, address, length); });
  }
  if (error != EINPROGRESS) return errno = error, -1;
  int w = table().wait(e, rt::Want::write, deadline_for_timeout(e.send_timeout));
  if (w == -ETIMEDOUT) return errno = EINPROGRESS, -1;  // Linux: SO_SNDTIMEO ends connect so
  if (w < 0) return errno = -w, -1;  // EINTR: the handshake goes on, as natively
  int result = 0;
  socklen_t size = sizeof result;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &size) != 0) return -1;
  if (result != 0) return errno = result, -1;
  errno = saved_errno;
  return 0;
}

int connect_on(int fd, const sockaddr* address, socklen_t length) {
  rt::FdEntry* e = cooperative(fd);
  if (!e || alone_on_hub()) return real::connect(fd, address, length);
  CancellationPoint cp;
  RestartableCall restartable;
  if (table().may_be_shared(*e))
    return rt::call_in_threadpool([&] { return real::connect(fd, address, length); });
  return connect_privately(*e, address, length);
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
  int s = real::socket(domain, type, protocol);
  if (s >= 0) shim::table().adopt_new(s, rt::FdKind::socket, type & SOCK_NONBLOCK);
  return s;
}

GREENRUN_EXPORT int socketpair(int domain, int type, int protocol, int fds[2]) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::io))
    return real::socketpair(domain, type, protocol, fds);
  int rc = real::socketpair(domain, type, protocol, fds);
  if (rc == 0)
    for (int i = 0; i < 2; ++i) shim::table().adopt_new(fds[i], rt::FdKind::socket, type & SOCK_NONBLOCK);
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
  if (rc == 0 && level == SOL_SOCKET && name == SO_REUSEPORT) shim::program_set_reuseport(fd);
  if (rc == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
      rt::on_green_thread(rt::CallFamily::io)) {
    rt::FdEntry* e = shim::table().entry(fd);
    if (e) (name == SO_RCVTIMEO ? e->recv_timeout : e->send_timeout) = shim::to_nanos(value, length);
  }
  return rc;
}
