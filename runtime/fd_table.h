// What the runtime knows about each file descriptor a green thread blocks on: its kind, how a
// call on it is kept from blocking, whether another process may share it, socket timeouts, and
// the threads waiting on it. Readiness comes from one epoll instance of the runtime's own,
// itself watched by the libuv loop: registering there changes nothing on the descriptor (libuv's
// uv_poll_init would set O_NONBLOCK, which belongs to the open file description and so to every
// process sharing it).
// Invariants: the kernel's O_NONBLOCK is only ever what the program set; an FdEntry's
// generation changes whenever its descriptor number is closed or replaced (close, dup2, dup3),
// so a waiter that wakes on a recycled number sees EBADF.
#pragma once
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "clock.h"
#include "green_thread.h"
#include "wait_list.h"

namespace greenrun::rt {

class Hub;

enum class Want : std::uint8_t { read = 1, write = 2 };

enum class FdKind : std::uint8_t {
  always_ready,  // regular files, directories, block devices: never park
  socket,
  pollable,      // pipes, FIFOs, terminals, eventfd, epoll instances...
};

// How one attempt of a call on a blocking descriptor is made so that it cannot block, without
// touching the descriptor's flags.
enum class IoMode : std::uint8_t {
  dontwait,   // a socket: the call carries MSG_DONTWAIT
  nowait,     // preadv2/pwritev2 with RWF_NOWAIT (pipes and FIFOs)
  readiness,  // no per-call flag (terminals, most character devices): ask poll, then call
};

struct FdEntry {
  int fd = -1;
  std::uint32_t generation = 0;
  std::uint64_t description = 0;  // shared by dups: O_NONBLOCK belongs to the open description
  bool known = false;             // classified since it was last opened
  FdKind kind = FdKind::always_ready;
  IoMode mode = IoMode::readiness;
  bool nonblocking = false;       // O_NONBLOCK, as the program set it (the kernel's, unchanged)
  // Created in this process, by a shim, at children_epoch: until a child may have inherited it
  // (or it was sent over a socket), no other process can take what poll says is there.
  bool made_here = false;
  std::uint32_t children_epoch = 0;
  Nanos recv_timeout = 0;         // SO_RCVTIMEO / SO_SNDTIMEO; 0: none
  Nanos send_timeout = 0;
  std::uint32_t armed = 0;        // EPOLLIN | EPOLLOUT registered; 0: not in the epoll set
  WaitList readers;
  WaitList writers;

  bool parkable() const { return kind != FdKind::always_ready; }
};

class FdTable {
 public:
  explicit FdTable(Hub& hub) : hub_(hub) {}

  // The entry for `fd`, classified on first use (fstat and F_GETFL); one we did not see created
  // counts as possibly shared with other processes. nullptr if fd < 0.
  FdEntry* entry(int fd) {
    FdEntry* e = find(fd);
    return e && e->known ? e : classify_entry(fd);  // the known case inline: every call takes it
  }
  FdEntry* find(int fd) { return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() ? entries_[fd].get() : nullptr; }

  // Records a descriptor the program just created through a shim (socket, accept, pipe...),
  // with the O_NONBLOCK it was created with.
  FdEntry& adopt_new(int fd, FdKind kind, bool nonblocking);

  // Makes `to` a duplicate of `from` (dup, dup2, dup3, F_DUPFD): same description, so the
  // same kind, mode, sharing and O_NONBLOCK.
  void duplicate(int from, int to);
  // Records the program's change of O_NONBLOCK on the entry's open description (every duplicate
  // sees it).
  void set_nonblocking(FdEntry& e, bool nonblocking);
  // Records that a call on the entry's description cannot use its mode (RWF_NOWAIT refused):
  // it and its duplicates fall back to readiness.
  void set_mode(FdEntry& e, IoMode mode);

  // Whether another process may hold the entry's open file description, so that what poll
  // reports ready may be taken by it first.
  bool may_be_shared(const FdEntry& e) const {
    return !e.made_here || e.children_epoch != children_epoch.load(std::memory_order_relaxed);
  }
  // A child process is about to start (fork, posix_spawn...): every descriptor open now may be
  // shared from then on. Process-wide, callable before any hub exists.
  static void children_may_share() { children_epoch.fetch_add(1, std::memory_order_relaxed); }
  // Records the descriptors open when the process started (before main): they came from the
  // parent. A descriptor first seen later and not among them was made by this process.
  static void note_inherited();
  // The descriptor was sent to another process (SCM_RIGHTS): its description is shared.
  void sent_away(int fd);

  // Parks until `want` is ready on the entry's descriptor, `deadline` passes, or it is closed.
  // Returns 0 (ready, or maybe ready: retry the operation), -ETIMEDOUT, -EBADF (closed while
  // waiting) or -EINTR (interrupted).
  int wait(FdEntry& e, Want want, Nanos deadline);
  // The same, parked under `reason` instead of fd_readable/fd_writable: a descriptor that stands
  // for something else (a signalfd for sigwait) must not look like a read to whoever decides
  // whether to interrupt the thread.
  int wait(FdEntry& e, Want want, Nanos deadline, WaitReason reason);

  // Parks until any of `count` descriptors is ready for what it wants (poll, select), the
  // deadline passes or one of them is closed. Same results as wait(); on 0, retry the check.
  struct Interest {
    FdEntry* entry;
    Want want;
  };
  int wait_any(const Interest* interests, std::size_t count, Nanos deadline);

  // The descriptor is about to be closed or replaced: waiters wake with EBADF, it leaves the
  // epoll set while the number is still this descriptor, and the entry is forgotten.
  void forget(int fd);

  // In the child of fork: the epoll instance is the parent's too; make one of our own under the
  // same number (libuv's watcher on it stays valid) and register what is armed again.
  void after_fork_child();

 private:
  FdEntry& slot(int fd);
  FdEntry* classify_entry(int fd);
  // Applies change() to every entry sharing `e`'s open file description (itself included).
  template <class Change>
  void for_each_duplicate(const FdEntry& e, Change change);
  // Adds `want` to what the entry is registered for. 1: registered; 0: the descriptor turned
  // out to be always ready (epoll refuses regular files); negative errno otherwise.
  int arm(FdEntry& e, Want want);
  // Registers exactly `events` (0: leaves the set, so a hang-up nobody waits for stops firing).
  void rearm(FdEntry& e, std::uint32_t events);
  int ensure_epoll();
  void count_registered(int delta);
  static void on_epoll_ready(uv_poll_t* handle, int status, int events);
  void dispatch(std::uint64_t key, std::uint32_t events);

  Hub& hub_;
  std::vector<std::unique_ptr<FdEntry>> entries_;
  std::uint64_t next_description_ = 1;
  static inline std::atomic<std::uint32_t> children_epoch{0};
  int epoll_fd_ = -1;
  std::size_t registered_ = 0;  // entries in the epoll set
  uv_poll_t epoll_watcher_{};
};

}  // namespace greenrun::rt
