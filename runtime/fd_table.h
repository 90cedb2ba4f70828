// What the runtime knows about each file descriptor a green thread blocks on: its kind, the
// program's and the kernel's view of O_NONBLOCK, socket timeouts, and one libuv poll watcher
// shared by every green thread waiting on it (libuv allows one per descriptor).
// Invariant: an FdEntry's generation changes whenever its descriptor number is closed or
// replaced (close, dup2, dup3), so a waiter that wakes on a recycled number sees EBADF.
#pragma once
#include <uv.h>

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
  always_ready,  // regular files, directories, block devices, /dev/null: never park
  socket,
  pollable,      // pipes, FIFOs, terminals, eventfd, epoll instances...
};

struct FdEntry {
  int fd = -1;
  std::uint32_t generation = 0;
  std::uint64_t description = 0;  // shared by dups: O_NONBLOCK belongs to the open description
  bool known = false;             // classified since it was last opened
  FdKind kind = FdKind::always_ready;
  bool owned = false;             // created through the shims: the kernel flag is ours to set
  bool app_nonblocking = false;   // O_NONBLOCK as the program set it
  bool real_nonblocking = false;  // O_NONBLOCK as the kernel has it
  Nanos recv_timeout = 0;         // SO_RCVTIMEO / SO_SNDTIMEO; 0: none
  Nanos send_timeout = 0;
  uv_poll_t* poll = nullptr;      // created on the first park, closed with the descriptor
  int armed = 0;                  // UV_READABLE | UV_WRITABLE the watcher is started for
  WaitList readers;
  WaitList writers;

  bool parkable() const { return kind != FdKind::always_ready; }
};

class FdTable {
 public:
  explicit FdTable(Hub& hub) : hub_(hub) {}

  // The entry for `fd`, classified on first use (fstat and F_GETFL; an existing descriptor we
  // did not create counts as inherited: its O_NONBLOCK is never changed). nullptr if fd < 0.
  FdEntry* entry(int fd);
  FdEntry* find(int fd) { return fd >= 0 && static_cast<std::size_t>(fd) < entries_.size() ? entries_[fd].get() : nullptr; }

  // Records a descriptor the program just created through a shim: we own its kernel flags
  // and make it non-blocking (unless `real_nonblocking` says it was created so, which saves
  // the fcntl), keeping the program's view as `app_nonblocking`.
  FdEntry& adopt_new(int fd, FdKind kind, bool app_nonblocking, bool real_nonblocking);

  // Makes `to` a duplicate of `from` (dup, dup2, dup3, F_DUPFD): same description, so the
  // same kind, ownership and O_NONBLOCK views.
  void duplicate(int from, int to);
  // Records a change of O_NONBLOCK on the entry's open description: every duplicate sees it.
  void set_nonblocking(FdEntry& e, bool app, bool real);

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

  // The descriptor is about to be closed or replaced: waiters wake with EBADF, the watcher is
  // stopped while the descriptor is still valid, and the entry is forgotten.
  void forget(int fd);

 private:
  FdEntry& slot(int fd);
  // Creates the libuv watcher on first use. 1: ready to arm; 0: the descriptor turned out to be
  // always ready; negative errno otherwise.
  int ensure_watcher(FdEntry& e);
  static void on_poll(uv_poll_t* handle, int status, int events);
  void arm(FdEntry& e, int events);

  Hub& hub_;
  std::vector<std::unique_ptr<FdEntry>> entries_;
  std::uint64_t next_description_ = 1;
};

}  // namespace greenrun::rt
