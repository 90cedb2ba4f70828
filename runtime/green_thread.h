// A green thread: a context, the stack it runs on, and what the scheduler and the dump need
// to know about it. Invariant: only the OS thread that owns `hub` ever touches a GreenThread,
// so nothing here is atomic; the thread that is running is the one `current()` returns.
#pragma once
#include <any>
#include <atomic>
#include <cstdint>
#include <exception>

#include "clock.h"
#include "context.h"
#include "stack_pool.h"
#include "timer_heap.h"
#include "wait_list.h"

namespace greenrun::rt {

class Hub;

// away: running on an OS thread of its own, outside the scheduler, since the loop was handed
// off while it was in a system call (handoff.h); it comes back at its next intercepted call.
enum class ThreadState : std::uint8_t { created, ready, running, parked, dead, away };

// Why a thread is parked: printed by the stack dump and the deadlock report.
enum class WaitReason : std::uint8_t {
  none, sleep, yield, join, switched_away, event, async_result, semaphore, lock, queue_get,
  queue_put, pool_slot, mutex, condition, rwlock, barrier, fd_readable, fd_writable, threadpool,
  child_process, signal,
};
const char* to_string(WaitReason reason);
const char* to_string(ThreadState state);

// How a park ended.
enum class Wake : std::uint8_t {
  woken,        // the thing waited for happened
  timed_out,    // the deadline passed first
  interrupted,  // an exception is pending for this thread (kill, Timeout, throw)
  deadlock,     // nothing left can wake anyone: only ever given to the root thread
};

// libstdc++'s per-OS-thread exception state (__cxa_eh_globals): which exceptions are being
// handled and how many are in flight. A catch block that parks must find it as it left it.
struct ExceptionState {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

// Greenlet switch hand-over: which of GreenThread's transfer_* slots hold something.
enum Handed : std::uint8_t {
  kHandedValue = 1,    // transfer_value (C++ API)
  kHandedPointer = 2,  // transfer_pointer (C API: a void*, kept out of std::any)
  kHandedError = 4,    // transfer_error (throw_into, or what escaped a greenlet)
};

// Work handed to a hub from another OS thread (a threadpool completion, a native thread
// signalling a green one, a thread coming back after a hand-off). Runs on the hub's OS thread,
// in the hub context.
struct RemoteTask {
  RemoteTask* next = nullptr;
  void (*run)(RemoteTask*) = nullptr;
};

// The fields a switch touches come first, so that they share as few cache lines as possible.
struct Carrier;

// A thread preempted this many times in a row within kSpinLoopBytes of code is spin-waiting for
// another (redis's I/O threads spin on atomics): it gets a short slice, so that the thread it
// waits for runs sooner (preemption.cpp).
constexpr std::uint8_t kSpinLooks = 2;
constexpr std::uintptr_t kSpinLoopBytes = 256;

struct GreenThread {
  Context context;
  Hub* hub = nullptr;
  GreenThread* parent = nullptr;    // where control and the result go when the body ends
  ThreadState state = ThreadState::created;
  WaitReason wait_reason = WaitReason::none;
  Wake wake = Wake::woken;
  std::uint8_t handed = 0;    // Handed bits: 0 except from a hand-over to its taking (greenlet.cpp)
  bool is_root = false;       // an OS thread's original context, adopted
  bool is_hub = false;        // runs the libuv loop
  bool keeps_itself = false;  // holds a reference to itself until it dies (spawned threads)
  bool in_runtime = false;    // inside a RuntimeCall: shims pass through
  // Hand-off (handoff.h), written by the monitor thread: 0 attached, kAway when the loop was
  // handed to another OS thread while this one was in a system call, kRejoining once it noticed.
  // Next to in_runtime: every intercepted call reads both.
  std::atomic<std::uint8_t> away{0};
  bool resume_hook = false;   // run the hub's resume hook when it next resumes from a park
  bool own_tls = false;       // runs with a TLS block of its own (tls_block.h)
  int handler_depth = 0;      // program signal handlers running on it: never preempted there
  int hooks_deferred = 0;     // > 0 inside wait_on/wait_any, until its waiters are unlinked
  int saved_errno = 0;
  ExceptionState saved_exceptions;
  void* transfer_pointer = nullptr;   // greenlet switch: a C API value handed to this thread
  std::any transfer_value;            // greenlet switch: the value handed to this thread
  std::exception_ptr transfer_error;  // greenlet switch: an exception handed to this thread
  Stack stack;
  void* tls = nullptr;        // the thread pointer it runs with (its own, or its OS thread's)
  GreenThread* run_next = nullptr;  // run-queue link
  GreenThread* all_prev = nullptr;  // the hub's list of every thread not yet freed
  GreenThread* all_next = nullptr;
  std::uint64_t id = 0;
  int refs = 0;               // handles held by the API; freed when 0 and dead
  const void* wait_object = nullptr;
  Nanos state_since = 0;
  std::atomic<bool> in_blocking_call{false};  // a BlockingCall: the monitor may hand off
  Carrier* away_on = nullptr;   // the OS thread it was left on (set before `away`)
  RemoteTask rejoin_task;       // how it is handed back to the hub
  std::uint64_t probe_epoch = 0;  // Scheduler::probe: the switch count when it started counting
  Nanos probe_since = 0;
  TimerNode park_timer;
  WaitList joiners;
  std::exception_ptr pending_throw;   // raised at the thread's next park or resumption
  void (*body)(GreenThread*) = nullptr;
  void* user = nullptr;               // the body's argument / the API object behind the thread
  void* posix = nullptr;              // the preload's pthread record, when there is one
  void (*on_free)(GreenThread*) = nullptr;  // API cleanup before the struct is deleted
  char name[32] = {};
  // Preemption (preemption.cpp), on the loop's OS thread only: where it was last preempted, and
  // how many preemptions in a row found it in the same few bytes of code (a spin-wait).
  std::uintptr_t preempted_pc = 0;
  std::uint8_t spin_looks = 0;

  bool started() const { return state != ThreadState::created; }
  bool dead() const { return state == ThreadState::dead; }
};

namespace detail {
// initial-exec: read on every intercepted call, and the preload object is loaded at start-up,
// when static TLS space is guaranteed. constinit: no TLS wrapper call around each access.
[[gnu::tls_model("initial-exec")]] extern constinit thread_local GreenThread* t_current;
}  // namespace detail

// The green thread running on this OS thread, or nullptr if this OS thread has no hub yet.
inline GreenThread* current() { return detail::t_current; }
inline void set_current(GreenThread* thread) { detail::t_current = thread; }

// True when the caller runs on a green thread that may park: there is a hub on this OS thread,
// we are not in the hub's own context, and the runtime is not calling out on its own behalf
// (RuntimeCall). Shims pass every other call straight to libc. Inline: every intercepted call
// asks, including the pass-through of a program that never starts a thread.
// A thread whose loop was handed off (away) comes back to the scheduler here first, unless it
// is inside a signal handler: it then makes the call natively, as the OS thread it is.
void come_back(GreenThread* t);  // handoff.cpp
inline bool on_green_thread() {
  GreenThread* t = current();
  if (!t || t->is_hub || t->in_runtime) return false;
  if (t->away.load(std::memory_order_relaxed)) [[unlikely]] {
    if (t->handler_depth > 0) return false;
    come_back(t);
  }
  return true;
}

// While alive, calls made by the current green thread count as the runtime's own (libuv's
// mutexes, for example, are shared with its native threadpool and must stay real).
class RuntimeCall {
 public:
  RuntimeCall();
  ~RuntimeCall();
  RuntimeCall(const RuntimeCall&) = delete;
  RuntimeCall& operator=(const RuntimeCall&) = delete;

 private:
  bool previous_ = false;
};

// Suspends the current thread and resumes `target`, which must belong to the same hub and not be
// running. Points the thread pointer at the target's TLS when it has its own; a thread that
// shares its OS thread's TLS has errno and the exception state saved and restored around the
// switch instead. The caller has already set the current thread's state. Returns when someone switches back. Defined in hub.h (it needs the
// hub), inline: it is most of what a park or a greenlet switch costs.
inline void switch_to(GreenThread* target);

// For switch_to: dies with a report if `self` runs on a canary-guarded stack whose canary was
// overwritten.
void check_stack(const GreenThread* self);

// Reference counting for API handles: the struct is deleted when it is dead and unreferenced.
void retain(GreenThread* thread);
void release(GreenThread* thread);

void set_name(GreenThread* thread, const char* name);

}  // namespace greenrun::rt
