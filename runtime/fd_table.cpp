// The fd table. Watchers are armed when a thread parks and disarmed lazily: only when an event
// arrives that nobody waits for (level-triggered, it would otherwise repeat). A keep-alive
// connection whose reader parks again after every request therefore costs no epoll_ctl at all.
// libuv's uv_poll_init makes the descriptor non-blocking; for a descriptor we do not own (its
// open file description may be shared with other processes: a shell's terminal, a parent's
// pipe) the flag is put back at once, and the shims then use MSG_DONTWAIT or
// readiness-then-operate instead.
#include "fd_table.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <cerrno>

#include "hub.h"
#include "real_calls.h"

namespace greenrun::rt {
namespace {

void free_handle(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

FdKind classify(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return FdKind::always_ready;  // EBADF: the call itself will say so
  if (S_ISSOCK(st.st_mode)) return FdKind::socket;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) return FdKind::always_ready;
  return FdKind::pollable;  // FIFOs, character devices, anon inodes; refined on first park
}

Nanos socket_timeout(int fd, int option) {
  timeval tv{};
  socklen_t length = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, option, &tv, &length) != 0) return 0;
  return Nanos{tv.tv_sec} * 1'000'000'000 + Nanos{tv.tv_usec} * 1000;
}

}  // namespace

FdEntry& FdTable::slot(int fd) {
  if (static_cast<std::size_t>(fd) >= entries_.size()) entries_.resize(fd + 1);
  auto& slot = entries_[fd];
  if (!slot) {
    slot = std::make_unique<FdEntry>();
    slot->fd = fd;
  }
  return *slot;
}

FdEntry* FdTable::entry(int fd) {
  if (fd < 0) return nullptr;
  FdEntry& e = slot(fd);
  if (!e.known) {
    e.known = true;
    e.description = next_description_++;
    e.kind = classify(fd);
    e.owned = false;
    int flags = real_fcntl_getfl(fd);
    e.app_nonblocking = e.real_nonblocking = flags >= 0 && (flags & O_NONBLOCK);
    // Timeouts set before we knew the socket (before the hub existed, or in a parent
    // process) live only in the kernel; we wait ourselves, so we need them.
    e.recv_timeout = e.kind == FdKind::socket ? socket_timeout(fd, SO_RCVTIMEO) : 0;
    e.send_timeout = e.kind == FdKind::socket ? socket_timeout(fd, SO_SNDTIMEO) : 0;
  }
  return &e;
}

FdEntry& FdTable::adopt_new(int fd, FdKind kind, bool app_nonblocking, bool real_nonblocking) {
  forget(fd);  // a number the kernel reused: whatever we knew is stale
  FdEntry& e = slot(fd);
  e.known = true;
  e.description = next_description_++;
  e.kind = kind;
  e.owned = true;
  e.app_nonblocking = app_nonblocking;
  e.real_nonblocking = real_nonblocking;
  e.recv_timeout = e.send_timeout = 0;
  if (kind != FdKind::always_ready && !e.real_nonblocking) {
    int flags = real_fcntl_getfl(fd);
    if (flags >= 0 && real_fcntl_setfl(fd, flags | O_NONBLOCK) == 0) e.real_nonblocking = true;
  }
  return e;
}

void FdTable::duplicate(int from, int to) {
  FdEntry* source = find(from);
  if (!source || !source->known) return;  // unknown: `to` gets classified on first use
  FdEntry& e = slot(to);
  e.known = true;
  e.description = source->description;
  e.kind = source->kind;
  e.owned = source->owned;
  e.app_nonblocking = source->app_nonblocking;
  e.real_nonblocking = source->real_nonblocking;
  e.recv_timeout = source->recv_timeout;  // socket options belong to the socket, too
  e.send_timeout = source->send_timeout;
}

void FdTable::set_nonblocking(FdEntry& e, bool app, bool real) {
  for (auto& other : entries_) {  // rare (F_SETFL, FIONBIO): a scan is fine
    if (other && other->known && other->description == e.description) {
      other->app_nonblocking = app;
      other->real_nonblocking = real;
    }
  }
}

void FdTable::arm(FdEntry& e, int events) {
  if (e.armed == events) return;
  RuntimeCall runtime;
  if (events == 0) {
    uv_poll_stop(e.poll);
  } else {
    uv_poll_start(e.poll, events, &on_poll);
  }
  e.armed = events;
}

int FdTable::ensure_watcher(FdEntry& e) {
  if (!e.poll) {
    auto* poll = new uv_poll_t;
    int rc;
    {
      RuntimeCall runtime;
      rc = uv_poll_init(hub_.loop(), poll, e.fd);
    }
    if (rc != 0) {
      delete poll;
      if (rc == UV_EPERM) {  // epoll refuses it: the descriptor is always ready
        e.kind = FdKind::always_ready;
        return 0;
      }
      return rc == UV_EBADF ? -EBADF : rc;  // libuv errors are negative errno values
    }
    if (!e.owned && !e.real_nonblocking) {
      // uv_poll_init set O_NONBLOCK on a description that may be shared: put it back.
      int flags = real_fcntl_getfl(e.fd);
      if (flags >= 0) real_fcntl_setfl(e.fd, flags & ~O_NONBLOCK);
    } else {
      e.real_nonblocking = true;
    }
    poll->data = &e;
    e.poll = poll;
    e.armed = 0;
  }
  return 1;
}

int FdTable::wait(FdEntry& e, Want want, Nanos deadline) {
  return wait(e, want, deadline,
              want == Want::read ? WaitReason::fd_readable : WaitReason::fd_writable);
}

int FdTable::wait(FdEntry& e, Want want, Nanos deadline, WaitReason reason) {
  int rc = ensure_watcher(e);
  if (rc <= 0) return rc;
  const int event = want == Want::read ? UV_READABLE : UV_WRITABLE;
  arm(e, e.armed | event);
  const std::uint32_t generation = e.generation;
  Waiter w;
  Wake why = hub_.scheduler().wait_on(want == Want::read ? e.readers : e.writers, w, reason,
                                      reinterpret_cast<const void*>(static_cast<std::intptr_t>(e.fd)),
                                      deadline);
  if (e.generation != generation) return -EBADF;
  if (why == Wake::timed_out) return -ETIMEDOUT;
  if (why == Wake::interrupted) {
    hub_.interrupted();
    return -EINTR;
  }
  return 0;
}

int FdTable::wait_any(const Interest* interests, std::size_t count, Nanos deadline) {
  // One Waiter per descriptor, all for this thread: whichever becomes ready readies it. They
  // live on this stack for the usual handful of descriptors; only large sets allocate.
  constexpr std::size_t kOnStack = 8;
  Waiter on_stack[kOnStack];
  std::uint32_t generations_on_stack[kOnStack];
  std::vector<Waiter> waiters_on_heap;
  std::vector<std::uint32_t> generations_on_heap;
  Waiter* waiters = on_stack;
  std::uint32_t* generations = generations_on_stack;
  if (count > kOnStack) {
    waiters_on_heap.resize(count);
    generations_on_heap.resize(count);
    waiters = waiters_on_heap.data();
    generations = generations_on_heap.data();
  }
  GreenThread* self = current();
  for (std::size_t i = 0; i < count; ++i) {
    FdEntry& e = *interests[i].entry;
    int rc = ensure_watcher(e);
    if (rc <= 0) {  // always ready (0) or an error: let the caller look again
      // The waiters linked so far live in `waiters`, which dies with this frame.
      for (std::size_t j = 0; j < i; ++j)
        (interests[j].want == Want::read ? interests[j].entry->readers
                                         : interests[j].entry->writers).remove(&waiters[j]);
      return rc;
    }
    const bool read = interests[i].want == Want::read;
    arm(e, e.armed | (read ? UV_READABLE : UV_WRITABLE));
    waiters[i].thread = self;
    (read ? e.readers : e.writers).push_back(&waiters[i]);
    generations[i] = e.generation;
  }
  ++self->hooks_deferred;  // its waiters stay linked until the loop below
  Wake why = hub_.scheduler().park(WaitReason::fd_readable, nullptr, deadline);
  --self->hooks_deferred;
  bool closed = false;
  for (std::size_t i = 0; i < count; ++i) {
    FdEntry& e = *interests[i].entry;
    (interests[i].want == Want::read ? e.readers : e.writers).remove(&waiters[i]);
    closed = closed || e.generation != generations[i];
  }
  if (self->resume_hook && !self->hooks_deferred) [[unlikely]] hub_.run_resume_hook(self);
  if (closed) return -EBADF;
  if (why == Wake::timed_out) return -ETIMEDOUT;
  if (why == Wake::interrupted) {
    hub_.interrupted();
    return -EINTR;
  }
  return 0;
}

void FdTable::on_poll(uv_poll_t* handle, int status, int events) {
  auto* e = static_cast<FdEntry*>(handle->data);
  Hub* hub = current()->hub;
  int keep = e->armed;
  if (status < 0) {  // an error (POLLERR): let every waiter retry
    events = UV_READABLE | UV_WRITABLE;
    e->armed = 0;  // libuv has stopped the watcher itself, so arm() below must restart it
  }
  // A direction that fired with nobody waiting is disarmed; one that fired for waiters stays
  // armed, since they usually park again right after their read or write.
  // A direction that fired with nobody waiting is disarmed; one that fired for waiters stays
  // armed, since they usually park again right after their read or write. (Keeping it armed
  // for woken threads that have not run yet was measured: with 10,000 connections every poll
  // then re-reported thousands of level-triggered descriptors, 15x slower than the epoll_ctl
  // that disarming costs.)
  if (events & UV_READABLE) {
    if (e->readers.empty()) keep &= ~UV_READABLE;
    else hub->scheduler().wake_all(e->readers);
  }
  if (events & UV_WRITABLE) {
    if (e->writers.empty()) keep &= ~UV_WRITABLE;
    else hub->scheduler().wake_all(e->writers);
  }
  hub->fds().arm(*e, keep);
}

void FdTable::forget(int fd) {
  FdEntry* e = find(fd);
  if (!e || !e->known) return;
  ++e->generation;
  e->known = false;
  Scheduler& s = hub_.scheduler();
  s.wake_all(e->readers);
  s.wake_all(e->writers);
  if (e->poll) {
    RuntimeCall runtime;
    uv_poll_stop(e->poll);  // removes it from epoll while the number is still this descriptor
    uv_close(reinterpret_cast<uv_handle_t*>(e->poll), &free_handle);
    e->poll = nullptr;
    e->armed = 0;
  }
}

}  // namespace greenrun::rt
