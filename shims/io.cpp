// Reading and writing descriptors. Every call tries the operation first and parks only on
// EAGAIN (without_blocking in fd_shim.h), and no descriptor's flags are ever changed: sockets
// take MSG_DONTWAIT, pipes and FIFOs RWF_NOWAIT (preadv2/pwritev2 at the current position), and
// terminals, which take neither, are asked poll first. A blocking write keeps blocking
// semantics: it returns only when everything is written (or an error or timeout comes after a
// part).
// Defines: read readv write writev recv recvfrom recvmsg recvmmsg send sendto sendmsg sendmmsg
//          sendfile sendfile64 splice
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "export.h"
#include "fd_shim.h"
#include "handoff.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {

constexpr struct timespec kZero = {0, 0};  // ppoll exists on every architecture; poll does not

int park_until_ready(rt::FdEntry& e, rt::Want want, rt::Nanos deadline) {
  int rc = rt::current()->hub->fds().wait(e, want, deadline);
  if (rc == 0) return 0;
  errno = rc == -ETIMEDOUT ? EAGAIN : -rc;
  return -1;
}

int wait_ready(rt::FdEntry& e, rt::Want want, rt::Nanos deadline) {
  const int saved_errno = errno;  // a wait that ends in readiness leaves errno alone
  for (;;) {
    pollfd p{e.fd, static_cast<short>(want == rt::Want::read ? POLLIN : POLLOUT), 0};
    if (real::syscall(SYS_ppoll, &p, 1, &kZero, nullptr, 0) > 0) {  // ready, or an error the call reports
      errno = saved_errno;
      return 0;
    }
    if (park_until_ready(e, want, deadline) != 0) return -1;
  }
}

namespace {

// Input: `once(attempt)` makes the call once, with the attempt's flags (added to the program's
// `flags`, whose MSG_DONTWAIT asks for the call as it is).
template <class Call>
ssize_t input(int fd, int flags, Call once) {
  rt::FdEntry* e = (flags & MSG_DONTWAIT) ? nullptr : cooperative(fd);
  // A file may wait for the disk: the loop may be handed off meanwhile.
  if (!e || alone_on_hub())
    return as_the_program_asked(rt::in_blocking_call([&] { return once(Attempt{}); }));
  CancellationPoint cp;
  RestartableCall restartable;
  return without_blocking(*e, rt::Want::read, deadline_for_timeout(e->recv_timeout), once);
  // (a pthread_cancel that interrupted the park acted inside the wait: the hub's hook)
}

// Output: `part(done, attempt)` writes what is left after `done` bytes and returns the count;
// `flags` as for input.
template <class Call>
ssize_t output(int fd, int flags, std::size_t total, Call part) {
  rt::FdEntry* e = (flags & MSG_DONTWAIT) ? nullptr : cooperative(fd);
  if (!e || alone_on_hub())
    return as_the_program_asked(rt::in_blocking_call([&] { return part(0, Attempt{}); }));
  CancellationPoint cp;
  RestartableCall restartable;
  const rt::Nanos deadline = deadline_for_timeout(e->send_timeout);
  const int saved_errno = errno;
  std::size_t done = 0;
  for (;;) {
    ssize_t r = without_blocking(*e, rt::Want::write, deadline,
                                 [&](const Attempt& attempt) { return part(done, attempt); });
    if (r < 0) {
      if (!done) return -1;
      break;  // a write that got something out reports its count and leaves errno alone
    }
    done += static_cast<std::size_t>(r);
    if (done >= total || r == 0) break;
  }
  errno = saved_errno;
  return static_cast<ssize_t>(done);
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

// How much a write to `e` can take without blocking, as near as the kernel tells: a socket's
// send buffer less what is queued in it, a pipe's capacity less what is unread. At least a
// page: readiness said some room is there.
std::size_t room_for_output(const rt::FdEntry& e) {
  constexpr long kPage = 4096;
  long room = 64 * 1024;  // other kinds: a modest slice per call
  int queued = 0;
  if (e.kind == rt::FdKind::socket) {
    int buffer = 0;
    socklen_t size = sizeof buffer;
    // The kernel doubles SO_SNDBUF to cover its bookkeeping; half of it is payload.
    if (getsockopt(e.fd, SOL_SOCKET, SO_SNDBUF, &buffer, &size) == 0 &&
        real::ioctl(e.fd, SIOCOUTQ, &queued) == 0)
      room = buffer / 2 - queued;
  } else if (int capacity = real::fcntl(e.fd, F_GETPIPE_SZ); capacity > 0 &&
                                                                real::ioctl(e.fd, FIONREAD, &queued) == 0) {
    room = capacity - queued - kPage;  // a part-filled page may not take more
  }
  return static_cast<std::size_t>(std::max(room, kPage));
}

// Descriptors passed in SCM_RIGHTS go to another process, which may read or accept on them.
void note_sent_descriptors(const msghdr* m) {
  if (!m || !m->msg_control || m->msg_controllen == 0) return;
  rt::FdTable& table = rt::current()->hub->fds();
  for (const cmsghdr* c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(const_cast<msghdr*>(m), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const auto* fds = reinterpret_cast<const int*>(CMSG_DATA(c));
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      memcpy(&fd, fds + i, sizeof fd);  // control data need not be aligned for int
      table.sent_away(fd);
    }
  }
}

// recv with MSG_WAITALL on a stream: natively it blocks until all has come; ours may return a
// part from the non-blocking attempt, so gather the rest.
template <class Call>
ssize_t receive_all(int fd, std::size_t len, int flags, Call once) {
  if (!(flags & MSG_WAITALL) || (flags & MSG_DONTWAIT))
    return input(fd, flags, [&](const Attempt& a) { return once(0, flags | a.msg_flags); });
  std::size_t done = 0;
  while (done < len) {
    ssize_t r = input(fd, flags, [&](const Attempt& a) {
      return once(done, (flags & ~MSG_WAITALL) | a.msg_flags);
    });
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
  return shim::input(fd, 0, [&](const shim::Attempt& a) -> ssize_t {
    if (a.msg_flags) return real::recv(fd, buf, n, a.msg_flags);
    if (a.rwf_flags) {
      iovec one{buf, n};
      return real::preadv2(fd, &one, 1, -1, a.rwf_flags);
    }
    return real::read(fd, buf, n);
  });
}

GREENRUN_EXPORT ssize_t readv(int fd, const struct iovec* iov, int count) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::readv(fd, iov, count);
  return shim::input(fd, 0, [&](const shim::Attempt& a) -> ssize_t {
    if (a.rwf_flags) return real::preadv2(fd, iov, count, -1, a.rwf_flags);
    if (!a.msg_flags) return real::readv(fd, iov, count);
    if (count < 0) return errno = EINVAL, -1;  // readv's check; recvmsg would say EMSGSIZE
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(iov);
    m.msg_iovlen = static_cast<std::size_t>(count);
    return real::recvmsg(fd, &m, a.msg_flags);
  });
}

GREENRUN_EXPORT ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::recv(fd, buf, n, flags);
  return shim::receive_all(fd, n, flags, [&](std::size_t done, int f) {
    return real::recv(fd, static_cast<char*>(buf) + done, n - done, f);
  });
}

GREENRUN_EXPORT ssize_t recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* from,
                                 socklen_t* from_len) {
  if (!rt::on_green_thread(rt::CallFamily::io))
    return real::recvfrom(fd, buf, n, flags, from, from_len);
  return shim::receive_all(fd, n, flags, [&](std::size_t done, int f) {
    return real::recvfrom(fd, static_cast<char*>(buf) + done, n - done, f, from, from_len);
  });
}

GREENRUN_EXPORT ssize_t recvmsg(int fd, struct msghdr* m, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::recvmsg(fd, m, flags);
  return shim::input(fd, flags,
                     [&](const shim::Attempt& a) { return real::recvmsg(fd, m, flags | a.msg_flags); });
}

GREENRUN_EXPORT int recvmmsg(int fd, struct mmsghdr* vec, unsigned int n, int flags,
                             struct timespec* timeout) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::recvmmsg(fd, vec, n, flags, timeout);
  return static_cast<int>(shim::input(fd, flags, [&](const shim::Attempt& a) {
    return real::recvmmsg(fd, vec, n, flags | a.msg_flags, timeout);
  }));
}

GREENRUN_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::write(fd, buf, n);
  return shim::output(fd, 0, n, [&](std::size_t done, const shim::Attempt& a) -> ssize_t {
    const char* from = static_cast<const char*>(buf) + done;
    if (a.msg_flags) return real::send(fd, from, n - done, a.msg_flags);
    if (a.rwf_flags) {
      iovec one{const_cast<char*>(from), n - done};
      return real::pwritev2(fd, &one, 1, -1, a.rwf_flags);
    }
    return real::write(fd, from, n - done);
  });
}

GREENRUN_EXPORT ssize_t writev(int fd, const struct iovec* iov, int count) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::writev(fd, iov, count);
  if (count < 0) return real::writev(fd, iov, count);  // EINVAL, as libc says it
  std::vector<iovec> rest;
  return shim::output(fd, 0, shim::iov_total(iov, count), [&](std::size_t done, const shim::Attempt& a) -> ssize_t {
    const iovec* v = iov;
    int c = count;
    if (done) {
      shim::iov_advance(iov, count, done, rest);
      v = rest.data();
      c = static_cast<int>(rest.size());
    }
    if (a.rwf_flags) return real::pwritev2(fd, v, c, -1, a.rwf_flags);
    if (!a.msg_flags) return real::writev(fd, v, c);
    msghdr m{};
    m.msg_iov = const_cast<iovec*>(v);
    m.msg_iovlen = static_cast<std::size_t>(c);
    return real::sendmsg(fd, &m, a.msg_flags);
  });
}

GREENRUN_EXPORT ssize_t send(int fd, const void* buf, size_t n, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::send(fd, buf, n, flags);
  return shim::output(fd, flags, n, [&](std::size_t done, const shim::Attempt& a) {
    return real::send(fd, static_cast<const char*>(buf) + done, n - done, flags | a.msg_flags);
  });
}

GREENRUN_EXPORT ssize_t sendto(int fd, const void* buf, size_t n, int flags,
                               const struct sockaddr* to, socklen_t to_len) {
  if (!rt::on_green_thread(rt::CallFamily::io))
    return real::sendto(fd, buf, n, flags, to, to_len);
  return shim::output(fd, flags, n, [&](std::size_t done, const shim::Attempt& a) {
    return real::sendto(fd, static_cast<const char*>(buf) + done, n - done, flags | a.msg_flags, to, to_len);
  });
}

GREENRUN_EXPORT ssize_t sendmsg(int fd, const struct msghdr* m, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::sendmsg(fd, m, flags);
  shim::note_sent_descriptors(m);
  std::vector<iovec> rest;
  return shim::output(fd, flags, shim::iov_total(m->msg_iov, static_cast<int>(m->msg_iovlen)),
                      [&](std::size_t done, const shim::Attempt& a) {
                        if (!done) return real::sendmsg(fd, m, flags | a.msg_flags);
                        msghdr tail = *m;  // the control data went with the first part
                        shim::iov_advance(m->msg_iov, static_cast<int>(m->msg_iovlen), done, rest);
                        tail.msg_iov = rest.data();
                        tail.msg_iovlen = rest.size();
                        tail.msg_control = nullptr;
                        tail.msg_controllen = 0;
                        return real::sendmsg(fd, &tail, flags | a.msg_flags);
                      });
}

GREENRUN_EXPORT int sendmmsg(int fd, struct mmsghdr* vec, unsigned int n, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::io)) return real::sendmmsg(fd, vec, n, flags);
  for (unsigned int i = 0; i < n; ++i) shim::note_sent_descriptors(&vec[i].msg_hdr);
  rt::FdEntry* e = shim::cooperative(fd);
  if ((flags & MSG_DONTWAIT) || !e || shim::alone_on_hub())
    return shim::as_the_program_asked(real::sendmmsg(fd, vec, n, flags));
  shim::CancellationPoint cp;
  return shim::without_blocking(*e, rt::Want::write, shim::deadline_for_timeout(e->send_timeout),
                                [&](const shim::Attempt& a) {
                                  return real::sendmmsg(fd, vec, n, flags | a.msg_flags);
                                });
}

// No per-call flag reaches sendfile's output: wait until the socket or pipe takes data, then
// send no more than it has room for, so the call returns at once; repeat until all is sent, as
// the blocking call does.
GREENRUN_EXPORT ssize_t sendfile(int out, int in, off_t* offset, size_t count) noexcept {
  if (!rt::on_green_thread()) return real::sendfile(out, in, offset, count);
  rt::FdEntry* e = shim::cooperative(out);
  if (!e || shim::alone_on_hub())
    return shim::as_the_program_asked(real::sendfile(out, in, offset, count));
  shim::CancellationPoint cp;
  const rt::Nanos deadline = shim::deadline_for_timeout(e->send_timeout);
  const int saved_errno = errno;
  std::size_t done = 0;
  while (done < count) {
    if (shim::wait_ready(*e, rt::Want::write, deadline) != 0) {
      if (!done) return -1;
      break;
    }
    ssize_t r = real::sendfile(out, in, offset, std::min(count - done, shim::room_for_output(*e)));
    if (r < 0) {
      if (!done) return -1;
      break;
    }
    done += static_cast<std::size_t>(r);
    if (r == 0) break;  // the input ended
  }
  errno = saved_errno;
  return static_cast<ssize_t>(done);
}

// Same function on 64-bit targets, exported under its other name.
GREENRUN_EXPORT ssize_t greenrun_sendfile64(int out, int in, off_t* offset, size_t count) noexcept
    __asm__("sendfile64");
GREENRUN_EXPORT ssize_t greenrun_sendfile64(int out, int in, off_t* offset, size_t count) noexcept {
  return sendfile(out, in, offset, count);
}

// SPLICE_F_NONBLOCK makes the pipe side non-blocking; the other side gets the room check of
// sendfile when it is the output, readiness when it is the input.
GREENRUN_EXPORT ssize_t splice(int in, loff_t* in_offset, int out, loff_t* out_offset, size_t len,
                               unsigned int flags) {
  if (!rt::on_green_thread()) return real::splice(in, in_offset, out, out_offset, len, flags);
  rt::FdEntry* from = shim::cooperative(in);
  rt::FdEntry* to = shim::cooperative(out);
  if ((!from && !to) || (flags & SPLICE_F_NONBLOCK) || shim::alone_on_hub())
    return shim::as_the_program_asked(real::splice(in, in_offset, out, out_offset, len, flags));
  shim::CancellationPoint cp;
  const int saved_errno = errno;
  for (;;) {
    rt::FdTable::Interest interests[2];
    std::size_t n = 0;
    if (from) interests[n++] = {from, rt::Want::read};
    if (to) interests[n++] = {to, rt::Want::write};
    pollfd p[2];
    for (std::size_t i = 0; i < n; ++i)
      p[i] = {interests[i].entry->fd, static_cast<short>(interests[i].want == rt::Want::read ? POLLIN : POLLOUT), 0};
    const long ready = real::syscall(SYS_ppoll, p, n, &shim::kZero, nullptr, 0);
    if (ready == static_cast<long>(n)) {
      std::size_t part = to ? std::min(len, shim::room_for_output(*to)) : len;
      ssize_t r = real::splice(in, in_offset, out, out_offset, part, flags | SPLICE_F_NONBLOCK);
      if (r >= 0) {
        errno = saved_errno;
        return r;
      }
      if (errno != EAGAIN) return r;
    }
    // Park on the sides that are not ready (a ready one would wake us at once, over and over).
    std::size_t waiting = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (ready <= 0 || p[i].revents == 0) interests[waiting++] = interests[i];
    if (waiting == 0) waiting = n;  // both reported ready but splice said EAGAIN: wait for both
    int rc = rt::current()->hub->fds().wait_any(interests, waiting, rt::kNever);
    if (rc < 0) return errno = -rc, -1;
  }
}
