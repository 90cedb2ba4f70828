// What shims/signal.cpp shares with shims/signal_wait.cpp: signal bits, per-thread masks, the
// OS mask derived from them, and the count of handlers the running green thread took itself;
// with the exec and spawn shims and the preload: the program's view of its actions, and the
// watched signal.
#pragma once
#include <signal.h>

#include <atomic>
#include <cstdint>

#include "posix_thread.h"

namespace greenrun::rt {
class Hub;
}

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

// sigaction(sig, nullptr, old) as the program sees it: its own action where the kernel runs our
// trampoline for it. 0 or -1 with errno. For 1 <= sig <= kTrackedSignals.
int query(int sig, struct sigaction* old);

// Watches `sig` (GREENRUN_DUMP_SIGNAL): whenever it arrives while the program's action for it
// is SIG_DFL or SIG_IGN, `on_arrival` runs on the hub (a loop callback, never inside the
// handler). The program's action is kept, reported and inherited as it is; a handler it
// installs takes the signal instead, for as long as it stays. Called once, on the hub's OS
// thread. False when `sig` cannot be watched (SIGCHLD, whose SIG_IGN reaps children).
bool watch_signal(rt::Hub& hub, int sig, void (*on_arrival)(rt::Hub&));

// Routes `sig` to `handler` (run inside the kernel's handler) while the program has no handler
// for it; the program sees its own action throughout. False if the program already handles
// `sig` (or it cannot be taken: SIGCHLD, the watched signal).
bool preempt_with(int sig, void (*handler)(siginfo_t*, void*));

// True when the program sees `sig` as SIG_IGN while the kernel runs our trampoline for it.
bool hides_ignore(int sig);

// While alive, every signal hides_ignore() names is SIG_IGN in the kernel too, so a program
// started by exec or posix_spawn meanwhile inherits it ignored, as natively (a handler would
// become SIG_DFL). Such a signal arriving meanwhile is dropped, as the program asked. Keeps errno.
class ExecDispositions {
 public:
  ExecDispositions();
  ~ExecDispositions();
  ExecDispositions(const ExecDispositions&) = delete;
  ExecDispositions& operator=(const ExecDispositions&) = delete;

 private:
  std::uint64_t bits_;
};

}  // namespace greenrun::shim
