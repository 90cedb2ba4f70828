// Reading and writing descriptors. Every call tries the operation first and parks only on
// EAGAIN (rt::retry_io). Descriptors we created are non-blocking in the kernel; on sockets we
// did not create, each call adds MSG_DONTWAIT instead; on inherited pipes and terminals, which
// take no such flag, we wait for readiness first. A blocking write keeps blocking semantics:
// it returns only when everything is written (or an error or timeout comes after a part).
// Defines: read readv write writev recv recvfrom recvmsg recvmmsg send sendto sendmsg sendmmsg
//          sendfile sendfile64 splice
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "export.h"
#include "fd_shim.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {

constexpr struct timespec kZero = {0, 0};  // ppoll exists on every architecture; poll does not

int wait_ready(rt::FdEntry& e, rt::Want want, rt::Nanos deadline) {
  const int saved_errno = errno;  // a wait that ends in readiness leaves errno alone
  for (;;) {
    pollfd p{e.fd, static_cast<short>(want == rt::Want::read ? POLLIN : POLLOUT), 0};
    if (real::syscall(SYS_ppoll, &p, 1, &kZero, nullptr, 0) > 0) {  // ready, or an error the call reports
      errno = saved_errno;
      return 0;
    }
    int rc = rt::current()->hub->fds().wait(e, want, deadline);
    if (rc == -ETIMEDOUT) rc = -EAGAIN;
    if (rc < 0) return errno = -rc, -1;
  }
}

namespace {

// Input: `plain(flags)` does the call with extra recv flags (0, or MSG_DONTWAIT where the
// descriptor is a socket we must not make non-blocking).
template <class Call>
ssize_t input(int fd, Call plain) {
  rt::FdEntry* e = cooperative(fd);
  if (!e || blocking_alone(*e)) return plain(0);
  CancellationPoint cp;
  RestartableCall restartable;
  rt::Nanos deadline = rt::deadline_for_timeout(e->recv_timeout);
  ssize_t r;
  if (e->real_nonblocking) {
    r = rt::retry_io(*e, rt::Want::read, deadline, [&] { return plain(0); });
  } else if (e->kind == rt::FdKind::socket) {
    r = rt::retry_io(*e, rt::Want::read, deadline, [&] { return plain(MSG_DONTWAIT); });
  } else {
    r = wait_ready(*e, rt::Want::read, deadline) != 0 ? -1 : plain(0);
  }
  return r;  // (a pthread_cancel that interrupted the park acted inside the wait: the hub's hook)
}

// Output: `part(done, flags)` writes what is left after `done` bytes and returns the count.
template <class Call>
ssize_t output(int fd, std::size_t total, Call part) {
  rt::FdEntry* e = cooperative(fd);
  if (!e || blocking_alone(*e)) return part(0, 0);
  CancellationPoint cp;
  RestartableCall restartable;
  rt::Nanos deadline = rt::deadline_for_timeout(e->send_timeout);
  const bool dontwait_socket = !e->real_nonblocking && e->kind == rt::FdKind::socket;
  const int flags = dontwait_socket ? MSG_DONTWAIT : 0;
  std::size_t done = 0;
  const int saved_errno = errno;
  // A write that got something out reports its count and leaves errno as it found it.
  auto partial = [&] {
    errno = saved_errno;
    return static_cast<ssize_t>(done);
  };
  for (;;) {
    if (!e->real_nonblocking && !dontwait_socket) {
      if (wait_ready(*e, rt::Want::write, deadline) != 0) return done ? partial() : -1;
    }
    ssize_t r = part(done, flags);
    if (r >= 0) {
      done += static_cast<std::size_t>(r);
      if (done >= total || r == 0) return partial();
      continue;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK) return done ? partial() : -1;
    int rc = rt::current()->hub->fds().wait(*e, rt::Want::write, deadline);
    if (rc < 0) {
      if (done) return partial();
      errno = rc == -ETIMEDOUT ? EAGAIN : -rc;
      return -1;
    }
  }
}

std::size_t iov_total(const struct iovec* iov, int count) {
  std::size_t n = 0;
  for (int i = 0; i < count; ++i) n += iov[i].iov_len;
  return n;
}

// The part of an iovec array after `skip` bytes, in `out`.
void iov_advance(const struct iovec* iov, int count, std::size_t skip, std::vector<iovec>& out) {
  out.clear();
  for (int i = 0; i < count; ++i) {
    if (skip >= iov[i].iov_len) {
      skip -= iov[i].iov_len;
      continue;
    }
    out.push_back({static_cast<char*>(iov[i].iov_base) + skip, iov[i].iov_len - skip});
    skip = 0;
  }
}

bool is_socket(int fd) {
  rt::FdEntry* e = rt::on_green_thread() ? rt::current()->hub->fds().entry(fd) : nullptr;
  return e && e->kind == rt::FdKind::socket;
}

// recv with MSG_WAITALL on a stream: natively it blocks until all has come; ours may return a
// part from the non-blocking attempt, so gather the rest.
template <class Call>
ssize_t receive_all(int fd, std::size_t len, int flags, Call once) {
  if (!(flags & MSG_WAITALL) || (flags & MSG_DONTWAIT)) return input(fd, [&](int extra) { return once(0, flags | extra); });
  std::size_t done = 0;
  while (done < len) {
    ssize_t r = input(fd, [&](int extra) { return once(done, (flags & ~MSG_WAITALL) | extra); });
    if (r < 0) return done ? static_cast<ssize_t>(done) : -1;
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT ssize_t read(int fd, void* buf, size_t n) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::read(fd, buf, n);
  return shim::input(fd, [&](int extra) {
    return extra ? real::recv(fd, buf, n, extra) : real::read(fd, buf, n);
  });
}

GREENRUN_EXPORT ssize_t readv(int fd, const struct iovec* iov, int count) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::readv(fd, iov, count);
  return shim::input(fd, [&](int extra) -> ssize_t {
    if (!extra) return real::readv(fd, iov, count);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<std::size_t>(count);
    return real::recvmsg(fd, &m, extra);
  });
}

GREENRUN_EXPORT ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::recv(fd, buf, n, flags);
  return shim::receive_all(fd, n, flags, [&](std::size_t done, int f) {
    return real::recv(fd, static_cast<char*>(buf) + done, n - done, f);
  });
}

GREENRUN_EXPORT ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* from,
                                 socklen_t* from_len) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::recvfrom(fd, buf, n, flags, from, from_len);
  return shim::receive_all(fd, n, flags, [&](std::size_t done, int f) {
    return real::recvfrom(fd, static_cast<char*>(buf) + done, n - done, f, from, from_len);
  });
}

GREENRUN_EXPORT ssize_t recvmsg(int fd, struct msghdr* m, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::recvmsg(fd, m, flags);
  return shim::input(fd, [&](int extra) { return real::recvmsg(fd, m, flags | extra); });
}

GREENRUN_EXPORT int recvmmsg(int fd, struct mmsghdr* vec, unsigned int n, int flags,
                             struct timespec* timeout) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::recvmmsg(fd, vec, n, flags, timeout);
  return static_cast<int>(
      shim::input(fd, [&](int extra) { return real::recvmmsg(fd, vec, n, flags | extra, timeout); }));
}

GREENRUN_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::write(fd, buf, n);
  return shim::output(fd, n, [&](std::size_t done, int flags) {
    const char* from = static_cast<const char*>(buf) + done;
    return flags ? real::send(fd, from, n - done, flags) : real::write(fd, from, n - done);
  });
}

GREENRUN_EXPORT ssize_t writev(int fd, const struct iovec* iov, int count) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::writev(fd, iov, count);
  std::vector<iovec> rest;
  return shim::output(fd, shim::iov_total(iov, count), [&](std::size_t done, int flags) -> ssize_t {
    const iovec* v = iov;
    int c = count;
    if (done) {
      shim::iov_advance(iov, count, done, rest);
      v = rest.data();
      c = static_cast<int>(rest.size());
    }
    if (!flags) return real::writev(fd, v, c);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(v);
    m.msg_iovlen = static_cast<std::size_t>(c);
    return real::sendmsg(fd, &m, flags);
  });
}

GREENRUN_EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::send(fd, buf, n, flags);
  return shim::output(fd, n, [&](std::size_t done, int extra) {
    return real::send(fd, static_cast<const char*>(buf) + done, n - done, flags | extra);
  });
}

GREENRUN_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags,
                               const struct sockaddr* to, socklen_t to_len) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::sendto(fd, buf, n, flags, to, to_len);
  return shim::output(fd, n, [&](std::size_t done, int extra) {
    return real::sendto(fd, static_cast<const char*>(buf) + done, n - done, flags | extra, to, to_len);
  });
}

GREENRUN_EXPORT ssize_t sendmsg(int fd, const struct msghdr* m, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::sendmsg(fd, m, flags);
  std::vector<iovec> rest;
  return shim::output(fd, shim::iov_total(m->msg_iov, static_cast<int>(m->msg_iovlen)),
                      [&](std::size_t done, int extra) {
                        if (!done) return real::sendmsg(fd, m, flags | extra);
                        msghdr tail = *m;  // the control data went with the first part
                        shim::iov_advance(m->msg_iov, static_cast<int>(m->msg_iovlen), done, rest);
                        tail.msg_iov = rest.data();
                        tail.msg_iovlen = rest.size();
                        tail.msg_control = nullptr;
                        tail.msg_controllen = 0;
                        return real::sendmsg(fd, &tail, flags | extra);
                      });
}

GREENRUN_EXPORT int sendmmsg(int fd, struct mmsghdr* vec, unsigned int n, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io) || (flags & MSG_DONTWAIT))
    return real::sendmmsg(fd, vec, n, flags);
  rt::FdEntry* e = shim::cooperative(fd);
  if (!e || shim::blocking_alone(*e)) return real::sendmmsg(fd, vec, n, flags);
  shim::CancellationPoint cp;
  int extra = e->real_nonblocking ? 0 : MSG_DONTWAIT;
  return rt::retry_io(*e, rt::Want::write, rt::deadline_for_timeout(e->send_timeout),
                      [&] { return real::sendmmsg(fd, vec, n, flags | extra); });
}

GREENRUN_EXPORT ssize_t sendfile(int out, int in, off_t* offset, size_t count) noexcept {
  rt::FdEntry* e = shim::cooperative(out);
  if (!e || shim::blocking_alone(*e)) return real::sendfile(out, in, offset, count);
  if (!e->real_nonblocking) {
    if (shim::wait_ready(*e, rt::Want::write, rt::deadline_for_timeout(e->send_timeout)) != 0) return -1;
    return real::sendfile(out, in, offset, count);
  }
  return rt::retry_io(*e, rt::Want::write, rt::deadline_for_timeout(e->send_timeout),
                      [&] { return real::sendfile(out, in, offset, count); });
}

// Same function on 64-bit targets, exported under its other name.
GREENRUN_EXPORT ssize_t greenrun_sendfile64(int out, int in, off_t* offset, size_t count) noexcept
    __asm__("sendfile64");
GREENRUN_EXPORT ssize_t greenrun_sendfile64(int out, int in, off_t* offset, size_t count) noexcept {
  return sendfile(out, in, offset, count);
}

GREENRUN_EXPORT ssize_t splice(int in, loff_t* in_offset, int out, loff_t* out_offset, size_t len,
                               unsigned int flags) {
  rt::FdEntry* from = shim::cooperative(in);
  rt::FdEntry* to = shim::cooperative(out);
  if ((!from && !to) || (flags & SPLICE_F_NONBLOCK)) return real::splice(in, in_offset, out, out_offset, len, flags);
  shim::CancellationPoint cp;
  for (;;) {
    // Non-blocking on the pipe side; the other side is non-blocking if we own it.
    ssize_t r = real::splice(in, in_offset, out, out_offset, len, flags | SPLICE_F_NONBLOCK);
    if (r >= 0 || errno != EAGAIN) return r;
    rt::FdTable::Interest interests[2];
    std::size_t n = 0;
    if (from) interests[n++] = {from, rt::Want::read};
    if (to) interests[n++] = {to, rt::Want::write};
    int rc = rt::current()->hub->fds().wait_any(interests, n, rt::kNever);
    if (rc < 0) return errno = -rc, -1;
  }
}
