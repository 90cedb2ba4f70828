// The fd table. Descriptors are registered in the runtime's epoll instance when a thread parks
// and unregistered lazily: only when an event arrives that nobody waits for (level-triggered,
// it would otherwise repeat). A keep-alive connection whose reader parks again after every
// request therefore costs no epoll_ctl at all.
#include "fd_table.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "diagnostics.h"
#include "hub.h"
#include "real_calls.h"

namespace greenrun::rt {
namespace {

constexpr std::uint32_t kReadEvents = EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
constexpr std::uint32_t kWriteEvents = EPOLLOUT | EPOLLERR | EPOLLHUP;

FdKind classify(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return FdKind::always_ready;  // EBADF: the call itself will say so
  if (S_ISSOCK(st.st_mode)) return FdKind::socket;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode)) return FdKind::always_ready;
  return FdKind::pollable;  // FIFOs, character devices, anon inodes; refined on first park
}

// Sockets take MSG_DONTWAIT; everything else tries RWF_NOWAIT first and learns on EOPNOTSUPP.
IoMode mode_for(FdKind kind) { return kind == FdKind::socket ? IoMode::dontwait : IoMode::nowait; }

Nanos socket_timeout(int fd, int option) {
  timeval tv{};
  socklen_t length = sizeof tv;
  if (getsockopt(fd, SOL_SOCKET, option, &tv, &length) != 0) return 0;
  return Nanos{tv.tv_sec} * 1'000'000'000 + Nanos{tv.tv_usec} * 1000;
}

// What the epoll instance hands back for an entry: its number and generation, so that an event
// for a number since closed and reused is recognised and dropped.
std::uint64_t key_of(const FdEntry& e) {
  return (std::uint64_t{e.generation} << 32) | static_cast<std::uint32_t>(e.fd);
}

std::uint32_t event_of(Want want) { return want == Want::read ? EPOLLIN : EPOLLOUT; }

// The descriptors open at start-up, sorted; unknown (no /proc): count every one as inherited.
std::vector<int> inherited_fds;
bool inherited_known = false;

bool inherited(int fd) {
  return !inherited_known || std::binary_search(inherited_fds.begin(), inherited_fds.end(), fd);
}

}  // namespace

void FdTable::note_inherited() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  const int own = dirfd(dir);
  while (dirent* d = readdir(dir)) {
    if (d->d_name[0] < '0' || d->d_name[0] > '9') continue;
    int fd = std::atoi(d->d_name);
    if (fd != own) inherited_fds.push_back(fd);
  }
  closedir(dir);
  std::sort(inherited_fds.begin(), inherited_fds.end());
  inherited_known = true;
}

FdEntry& FdTable::slot(int fd) {
  if (static_cast<std::size_t>(fd) >= entries_.size()) entries_.resize(fd + 1);
  auto& slot = entries_[fd];
  if (!slot) {
    slot = std::make_unique<FdEntry>();
    slot->fd = fd;
  }
  return *slot;
}

FdEntry* FdTable::classify_entry(int fd) {
  if (fd < 0) return nullptr;
  FdEntry& e = slot(fd);
  if (!e.known) {
    e.known = true;
    e.description = next_description_++;
    e.kind = classify(fd);
    e.mode = mode_for(e.kind);
    // Made before the hub existed by this process, unless open at start-up; from before any
    // child was started, unless one has been since (epoch 0 is the process's start).
    e.made_here = !inherited(fd);
    e.children_epoch = 0;
    int flags = real_fcntl_getfl(fd);
    e.nonblocking = flags >= 0 && (flags & O_NONBLOCK);
    // Timeouts set before we knew the socket (before the hub existed, or in a parent
    // process) live only in the kernel; we wait ourselves, so we need them.
    e.recv_timeout = e.kind == FdKind::socket ? socket_timeout(fd, SO_RCVTIMEO) : 0;
    e.send_timeout = e.kind == FdKind::socket ? socket_timeout(fd, SO_SNDTIMEO) : 0;
  }
  return &e;
}

FdEntry& FdTable::adopt_new(int fd, FdKind kind, bool nonblocking) {
  forget(fd);  // a number the kernel reused: whatever we knew is stale
  FdEntry& e = slot(fd);
  e.known = true;
  e.description = next_description_++;
  e.kind = kind;
  e.mode = mode_for(kind);
  e.nonblocking = nonblocking;
  e.made_here = true;
  e.children_epoch = children_epoch.load(std::memory_order_relaxed);
  e.recv_timeout = e.send_timeout = 0;
  return e;
}

void FdTable::duplicate(int from, int to) {
  FdEntry* source = find(from);
  if (!source || !source->known) return;  // unknown: `to` gets classified on first use
  FdEntry& e = slot(to);
  e.known = true;
  e.description = source->description;
  e.kind = source->kind;
  e.mode = source->mode;
  e.nonblocking = source->nonblocking;
  e.made_here = source->made_here;
  e.children_epoch = source->children_epoch;
  e.recv_timeout = source->recv_timeout;  // socket options belong to the socket, too
  e.send_timeout = source->send_timeout;
}

template <class Change>
void FdTable::for_each_duplicate(const FdEntry& e, Change change) {
  const std::uint64_t description = e.description;  // `e` is one of them
  for (auto& other : entries_)  // rare (F_SETFL, FIONBIO, a mode learned once): a scan is fine
    if (other && other->known && other->description == description) change(*other);
}

void FdTable::set_nonblocking(FdEntry& e, bool nonblocking) {
  for_each_duplicate(e, [&](FdEntry& d) { d.nonblocking = nonblocking; });
}

void FdTable::set_mode(FdEntry& e, IoMode mode) {
  for_each_duplicate(e, [&](FdEntry& d) { d.mode = mode; });
}

void FdTable::sent_away(int fd) {
  FdEntry* e = find(fd);
  if (e && e->known) for_each_duplicate(*e, [](FdEntry& d) { d.made_here = false; });
}

int FdTable::ensure_epoll() {
  if (epoll_fd_ >= 0) return 0;
  int fd = real_epoll_create(EPOLL_CLOEXEC);
  if (fd < 0) return -errno;
  RuntimeCall runtime;
  int rc = uv_poll_init(hub_.loop(), &epoll_watcher_, fd);  // our own descriptor: its flags are ours
  if (rc == 0) rc = uv_poll_start(&epoll_watcher_, UV_READABLE, &on_epoll_ready);
  if (rc != 0) {
    real_close(fd);
    return rc;
  }
  epoll_watcher_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&epoll_watcher_));
  epoll_fd_ = fd;
  return 0;
}

void FdTable::count_registered(int delta) {
  registered_ += delta;
  // The loop stays alive for parked descriptor waits only while something is registered
  // (libuv's uv_ref is a flag, not a count).
  auto* handle = reinterpret_cast<uv_handle_t*>(&epoll_watcher_);
  if (registered_ == 0) uv_unref(handle);
  else if (registered_ == 1 && delta > 0) uv_ref(handle);
}

void FdTable::rearm(FdEntry& e, std::uint32_t events) {
  if (e.armed == events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = key_of(e);
  if (events == 0) {
    real_epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, e.fd, &ev);
    count_registered(-1);
  } else if (e.armed == 0) {
    if (real_epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, e.fd, &ev) != 0 &&
        (errno != EEXIST || real_epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.fd, &ev) != 0))
      return;  // arm() reports the failure; here (an event's aftermath) there is nobody to tell
    count_registered(+1);
  } else {
    real_epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.fd, &ev);
  }
  e.armed = events;
}

int FdTable::arm(FdEntry& e, Want want) {
  const std::uint32_t event = event_of(want);
  if (e.armed & event) return 1;
  if (int rc = ensure_epoll(); rc < 0) return rc;
  epoll_event ev{};
  ev.events = e.armed | event;
  ev.data.u64 = key_of(e);
  if (e.armed == 0) {
    int rc = real_epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, e.fd, &ev);
    if (rc != 0 && errno == EEXIST) rc = real_epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.fd, &ev);
    if (rc != 0) {
      if (errno == EPERM) {  // epoll refuses it: the descriptor is always ready
        e.kind = FdKind::always_ready;
        return 0;
      }
      return -errno;
    }
    count_registered(+1);
  } else if (real_epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, e.fd, &ev) != 0) {
    return -errno;
  }
  e.armed = ev.events;
  return 1;
}

int FdTable::wait(FdEntry& e, Want want, Nanos deadline) {
  return wait(e, want, deadline,
              want == Want::read ? WaitReason::fd_readable : WaitReason::fd_writable);
}

int FdTable::wait(FdEntry& e, Want want, Nanos deadline, WaitReason reason) {
  int rc = arm(e, want);
  if (rc <= 0) return rc;
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
    int rc = arm(e, interests[i].want);
    if (rc <= 0) {  // always ready (0) or an error: let the caller look again
      // The waiters linked so far live in `waiters`, which dies with this frame.
      for (std::size_t j = 0; j < i; ++j)
        (interests[j].want == Want::read ? interests[j].entry->readers
                                         : interests[j].entry->writers).remove(&waiters[j]);
      return rc;
    }
    waiters[i].thread = self;
    (interests[i].want == Want::read ? e.readers : e.writers).push_back(&waiters[i]);
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

void FdTable::on_epoll_ready(uv_poll_t* handle, int, int) {
  auto* table = static_cast<FdTable*>(handle->data);
  constexpr int kBatch = 256;
  epoll_event events[kBatch];
  for (int round = 0; round < 4; ++round) {  // then let the loop run timers and others
    int n = real_epoll_poll(table->epoll_fd_, events, kBatch);
    for (int i = 0; i < n; ++i) table->dispatch(events[i].data.u64, events[i].events);
    if (n < kBatch) break;
  }
}

void FdTable::dispatch(std::uint64_t key, std::uint32_t events) {
  FdEntry* e = find(static_cast<int>(key & 0xffffffffu));
  if (!e || !e->known || e->armed == 0 || key_of(*e) != key) return;  // closed behind our back
  Scheduler& s = hub_.scheduler();
  std::uint32_t keep = e->armed;
  // A direction that fired with nobody waiting is unregistered; one that fired for waiters
  // stays, since they usually park again right after their read or write. (Keeping it for
  // woken threads that have not run yet was measured: with 10,000 connections every poll then
  // re-reported thousands of level-triggered descriptors, 15x slower than the epoll_ctl that
  // unregistering costs.)
  if ((events & kReadEvents) && (e->armed & EPOLLIN)) {
    if (e->readers.empty()) keep &= ~EPOLLIN;
    else s.wake_all(e->readers);
  }
  if ((events & kWriteEvents) && (e->armed & EPOLLOUT)) {
    if (e->writers.empty()) keep &= ~EPOLLOUT;
    else s.wake_all(e->writers);
  }
  rearm(*e, keep);
}

void FdTable::forget(int fd) {
  FdEntry* e = find(fd);
  if (!e || !e->known) return;
  if (e->armed) rearm(*e, 0);  // leaves the set while the number is still this descriptor
  ++e->generation;
  e->known = false;
  Scheduler& s = hub_.scheduler();
  s.wake_all(e->readers);
  s.wake_all(e->writers);
}

void FdTable::after_fork_child() {
  if (epoll_fd_ < 0) return;
  int fresh = real_epoll_create(EPOLL_CLOEXEC);
  if (fresh < 0 || real_dup3(fresh, epoll_fd_, O_CLOEXEC) < 0) {
    fatal(current(), "cannot make the fd table's epoll instance in a forked child",
          "raise the open-files limit (ulimit -n)");
  }
  real_close(fresh);
  for (auto& e : entries_) {
    if (!e || !e->armed) continue;
    std::uint32_t events = e->armed;
    e->armed = 0;
    count_registered(-1);  // rearm counts it again
    rearm(*e, events);
  }
}

}  // namespace greenrun::rt
