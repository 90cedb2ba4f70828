// A green thread: a context, the stack it runs on, and what the scheduler and the dump need
// to know about it. Invariant: only the OS thread that owns `hub` ever touches a GreenThread,
// so nothing here is atomic; the thread that is running is the one `current()` returns.
#pragma once
#include <any>
#include <cstdint>
#include <exception>

#include "clock.h"
#include "context.h"
#include "stack_pool.h"
#include "timer_heap.h"
#include "wait_list.h"

namespace greenrun::rt {

class Hub;

enum class ThreadState : std::uint8_t { created, ready, running, parked, dead };

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

struct GreenThread {
  Context context;
  Stack stack;
  Hub* hub = nullptr;
  GreenThread* parent = nullptr;    // where control and the result go when the body ends
  GreenThread* run_next = nullptr;  // run-queue link
  GreenThread* all_prev = nullptr;  // the hub's list of every thread not yet freed
  GreenThread* all_next = nullptr;
  std::uint64_t id = 0;
  ThreadState state = ThreadState::created;
  WaitReason wait_reason = WaitReason::none;
  Wake wake = Wake::woken;
  bool is_root = false;       // an OS thread's original context, adopted
  bool is_hub = false;        // runs the libuv loop
  bool keeps_itself = false;  // holds a reference to itself until it dies (spawned threads)
  bool in_runtime = false;    // inside a RuntimeCall: shims pass through
  int refs = 0;               // handles held by the API; freed when 0 and dead
  const void* wait_object = nullptr;
  Nanos state_since = 0;
  int saved_errno = 0;
  ExceptionState saved_exceptions;
  TimerNode park_timer;
  WaitList joiners;
  std::exception_ptr pending_throw;   // raised at the thread's next park or resumption
  std::any transfer_value;            // greenlet switch: the value handed to this thread
  std::exception_ptr transfer_error;  // greenlet switch: an exception handed to this thread
  void (*body)(GreenThread*) = nullptr;
  void* user = nullptr;               // the body's argument / the API object behind the thread
  void* posix = nullptr;              // the preload's pthread record, when there is one
  void (*on_free)(GreenThread*) = nullptr;  // API cleanup before the struct is deleted
  char name[32] = {};

  bool started() const { return state != ThreadState::created; }
  bool dead() const { return state == ThreadState::dead; }
};

// The green thread running on this OS thread, or nullptr if this OS thread has no hub yet.
GreenThread* current();
void set_current(GreenThread* thread);

// True when the caller runs on a green thread that may park: there is a hub on this OS thread,
// we are not in the hub's own context, and the runtime is not calling out on its own behalf
// (RuntimeCall). Shims pass every other call straight to libc.
bool on_green_thread();

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
// running. Saves and restores errno and the exception state; the caller has already set the
// current thread's state. Returns when someone switches back.
void switch_to(GreenThread* target);

// Reference counting for API handles: the struct is deleted when it is dead and unreferenced.
void retain(GreenThread* thread);
void release(GreenThread* thread);

void set_name(GreenThread* thread, const char* name);

}  // namespace greenrun::rt
