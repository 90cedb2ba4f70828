// What shims/signal.cpp shares with shims/signal_wait.cpp: signal bits, per-thread masks, the
// OS mask derived from them, and the count of handlers the running green thread took itself.
#pragma once
#include <signal.h>

#include <atomic>
#include <cstdint>

#include "posix_thread.h"

namespace greenrun::shim {

inline constexpr int kTrackedSignals = 64;  // signals 1..64: one bit each in a std::uint64_t
inline std::uint64_t signal_bit(int sig) { return std::uint64_t{1} << (sig - 1); }

// The thread's mask (the process's original one until it sets its own).
const sigset_t& mask_of(const PosixThread* p);
inline bool blocks(const PosixThread* p, int sig) { return sigismember(&mask_of(p), sig) == 1; }

// Sets the OS thread's mask to the intersection of every green thread's mask. A signal this
// unblocks is delivered at once, to the caller, and counted in `taken`.
void apply_os_mask();

// While alive, the calling green thread's mask is `mask` (nullptr: unchanged), as inside
// pselect, ppoll, epoll_pwait and sigsuspend: the OS mask follows, a signal it unblocks that
// was left pending for the thread is taken, and the thread's own mask comes back at the end.
class TemporaryMask {
 public:
  explicit TemporaryMask(const sigset_t* mask);
  ~TemporaryMask();
  TemporaryMask(const TemporaryMask&) = delete;
  TemporaryMask& operator=(const TemporaryMask&) = delete;

 private:
  PosixThread* p_ = nullptr;
  sigset_t saved_{};
};

// Grows each time a handler runs for the running green thread itself (raise, pthread_kill to
// itself, or a signal its own mask change unblocked): sigsuspend checks it before parking.
extern std::atomic<std::uint64_t> taken;

}  // namespace greenrun::shim
