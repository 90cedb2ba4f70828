// Hand-off of the loop (the Go scheduler's "retake" of a processor from a system call): when
// the OS thread running the hub has sat in one system call greenrun did not make for longer
// than a threshold while other green threads exist, the monitor thread moves the scheduler to
// another OS thread (a carrier, kept in a small pool) and leaves the blocked green thread to
// finish its call where it is. At its next intercepted call that thread comes back: its
// context goes to the scheduler and its OS thread becomes an idle carrier.
//
// When the loop may move: the system call is made by the program's own code or a library of its
// own (not libc, the loader, libstdc++, libuv or greenrun, which may be inside the runtime's
// work), or inside a BlockingCall that a shim made on the program's behalf; the thread is not in
// a RuntimeCall or a signal handler and has TLS of its own. The monitor marks the thread away,
// then checks that its OS thread is still in the very same system call (the kernel's
// /proc/self/task/<tid>/syscall line, stack pointer included): only then does the loop move.
// A thread that already came back by then (it saw the mark) makes the move happen all the same.
// Invariant: only one OS thread runs the hub at a time; a thread that is away touches nothing
// of the hub's until it is back.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "clock.h"
#include "green_thread.h"

namespace greenrun::rt {

class Hub;

// GreenThread::away.
inline constexpr std::uint8_t kAway = 2;
inline constexpr std::uint8_t kRejoining = 3;

// The start of /proc/self/task/<tid>/<file>, or an empty string (for the monitors).
void read_task_file(pid_t tid, const char* file, char* text, std::size_t size);

// The kernel signal mask of OS thread `tid` (SigBlk in its status file), one bit per signal.
std::uint64_t kernel_signal_mask(pid_t tid);

// What /proc/self/task/<tid>/syscall says an OS thread is doing.
struct SyscallSample {
  char text[192] = {};   // the whole line: equal lines mean "still the same call"
  bool running = false;  // on a CPU, in no system call
  bool in_call = false;  // blocked in system call `number`
  long number = -1;
  std::uintptr_t pc = 0;
};
SyscallSample sample_syscall(pid_t tid);

// On the hub's OS thread, once, at start-up: that OS thread becomes the first carrier, and the
// loop may be handed off after `threshold`. Needs TLS of their own for green threads
// (tls::available). 0 or a negative errno.
int enable_handoff(Hub& hub, Nanos threshold);
// The threshold (0: hand-off is off).
Nanos handoff_threshold();

// For the monitor: `sample` shows the hub's OS thread in one system call since the loop last
// switched, for at least the threshold; `program_code(pc)` says whether `pc` is in code that
// may be left in the middle of a call. True when the loop moved.
bool try_handoff(Hub& hub, const SyscallSample& sample, bool (*program_code)(std::uintptr_t));

// The OS thread that runs the hub now (the monitors signal it), or `fallback` before any
// hand-off.
pid_t loop_os_thread(pid_t fallback);

// Hand-offs so far, and the longest time from the monitor's decision to the new carrier
// running the loop (for GREENRUN_STATS and the benchmark).
unsigned long long handoffs();
Nanos longest_handoff();

// In the child of fork, on the surviving thread: it is the only carrier there.
void handoff_after_fork_child();

// Where the runtime gets control back from program code it called (a thread's body,
// pthread_once's init, a key destructor) without an intercepted call in between: a thread that
// is away comes back to the scheduler before the runtime goes on.
inline void return_to_scheduler() {
  GreenThread* t = current();
  if (t->away.load(std::memory_order_relaxed)) [[unlikely]] come_back(t);
}

// Around a call a shim makes for the program that may block for long in the kernel (a disk
// read, fsync): the monitor may hand the loop off meanwhile, and the thread comes back when
// the call returns. Never around a park.
class BlockingCall {
 public:
  BlockingCall() : self_(current()) { self_->in_blocking_call.store(true, std::memory_order_relaxed); }
  ~BlockingCall() {
    self_->in_blocking_call.store(false, std::memory_order_relaxed);
    if (self_->away.load(std::memory_order_relaxed)) [[unlikely]] come_back(self_);
  }
  BlockingCall(const BlockingCall&) = delete;
  BlockingCall& operator=(const BlockingCall&) = delete;

 private:
  GreenThread* self_;
};

// call() as a BlockingCall; the thread is back on the scheduler when it returns.
template <class Call>
auto in_blocking_call(Call call) {
  BlockingCall blocking;
  return call();
}

}  // namespace greenrun::rt
