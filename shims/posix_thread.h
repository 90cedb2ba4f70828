// What POSIX says a thread has beyond a green thread: its start routine and result, detach
// state, thread-specific data, cancellation state and cleanup handlers. A green pthread_t is
// the address of its PosixThread; the main thread keeps its real pthread_t.
// Invariant: a pthread_t is honoured only if it is in the registry; anything else gets ESRCH
// (never passed to glibc, which would read it as its own thread descriptor).
#pragma once
#include <pthread.h>
#include <signal.h>
#include <unwind.h>

#include <cstdint>
#include <vector>

#include "green_thread.h"
#include "hub.h"

namespace greenrun::shim {

// One registered pthread_cleanup_push buffer (glibc's __pthread_unwind_buf_t, as far as we
// use it: the jump buffer is its first member).
struct CleanupBuffer;

struct PosixThread {
  // First, so that a pthread_t can be recognised as green from any OS thread by reading one
  // word (a glibc thread descriptor starts with a pointer to itself, never this value).
  static constexpr std::uint64_t kMagic = 0x677265656e707468ull;  // "greenpth"
  std::uint64_t magic = kMagic;
  rt::GreenThread* green = nullptr;
  pthread_t handle = 0;
  void* (*start)(void*) = nullptr;
  void* arg = nullptr;
  void* result = nullptr;
  bool detached = false;
  bool finished = false;         // start returned, exited or was cancelled
  bool join_claimed = false;     // a joiner is waiting: a second one gets EINVAL
  // Cancellation (deferred only; asynchronous requests are treated as deferred).
  bool cancel_enabled = true;
  bool cancel_asynchronous = false;
  bool cancel_pending = false;
  bool exiting = false;          // unwinding: further cancellation requests are ignored
  bool at_cancellation_point = false;
  CleanupBuffer* cleanup_top = nullptr;  // innermost pthread_cleanup_push of this thread
  void* exit_landing = nullptr;          // the jump buffer at the bottom of the thread's stack
  _Unwind_Exception unwind{};
  // Thread-specific data: (key generation, value) by key.
  std::vector<std::pair<std::uint64_t, const void*>> specific;
  bool fork_root = false;  // the thread fork() was called on, in the child: it ends the process
  // Its thread id, as gettid() gives it: the process id for the main thread, and for every
  // other green thread a number no kernel task can have (see green_tid()).
  pid_t tid = 0;
  int sched_policy = SCHED_OTHER;
  int sched_priority = 0;
  // Signals (shims/signal.cpp). The thread's own mask, meaningful once has_signal_mask is set
  // (before any pthread_sigmask every thread has the process's original mask); signals sent to
  // it with pthread_kill that it has not taken yet (bit sig-1); and whether it is in a call
  // that SA_RESTART restarts (read, write and friends), so such a signal does not interrupt it.
  sigset_t signal_mask{};
  bool has_signal_mask = false;
  bool restartable_call = false;
  std::uint64_t pending_signals = 0;
  // Program handlers that have run on this thread: a wait that must end with EINTR when one
  // runs (sem_*wait) compares it before and after, whatever woke it.
  std::uint32_t handlers_run = 0;
  // Identity (shims/thread_identity.cpp): what the kernel keeps per task and reports for the
  // thread's id. Until a thread sets its own nice value or CPU mask it has its OS thread's;
  // until it is named it has the OS thread's name (what a new task inherits).
  bool named = false;               // named by the program (perhaps ""), not inheriting
  bool sched_reset_on_fork = false;  // SCHED_RESET_ON_FORK, as sched_getscheduler reports it
  bool has_nice = false;
  int nice = 0;
  bool has_affinity = false;
  cpu_set_t affinity{};
  // Its alternate signal stack as sigaltstack set and reports it (shims/signal_stack.cpp);
  // a new thread starts with none, as natively.
  stack_t alt_stack{nullptr, SS_DISABLE, 0};
};

// Only the root and the hub's own thread exist (call on a green thread): nobody could use the
// time a park gives away, so a blocking call may go straight to libc.
inline bool alone() { return rt::current()->hub->alone(); }

// The record of the calling green thread (nullptr off green threads).
PosixThread* self();
// The record behind a pthread_t, or nullptr if it names no green thread we know.
PosixThread* find(pthread_t handle);
// The live green thread whose thread id is `tid` (the main thread's is the process id), or
// nullptr. Only on the hub's OS thread.
PosixThread* find_by_tid(pid_t tid);
// The thread id given to a green thread: kFirstGreenTid and above, beyond the kernel's
// PID_MAX_LIMIT, so it can never name a real task (a call that reaches the kernel with it
// gets ESRCH, as for a thread that has exited).
inline constexpr pid_t kFirstGreenTid = 4194304;  // PID_MAX_LIMIT on 64-bit Linux
pid_t green_tid(const rt::GreenThread* g);
// The root (main) thread's record, created with the hub.
PosixThread* adopt_root(rt::GreenThread* root);

// Ends the calling green thread with `result`: runs cleanup handlers and destructors by
// unwinding its stack, then key destructors, then wakes a joiner. Never returns.
[[noreturn]] void exit_thread(void* result);

// At a cancellation point: acts on a pending, enabled cancellation request.
void test_cancel();

// Signals (shims/signal.cpp): a new thread inherits its creator's mask; a thread takes the
// signals pthread_kill left pending for it (and that it does not block) at its next
// cancellation point or interruption (test_cancel calls this first).
void inherit_signal_mask(PosixThread* child);
// When the hub is made: handlers the program installed before it move behind our trampoline.
void adopt_early_handlers();
void take_pending_signals(PosixThread* p);
// pthread_kill of a green thread: raised at once on the caller itself, else left pending on the
// target (which is interrupted if parked in an interruptible call). 0 or an error number.
int send_to(PosixThread* p, int sig);

// While alive, the calling thread is in a call that SA_RESTART restarts: a signal whose handler
// has SA_RESTART leaves it waiting instead of interrupting it with EINTR.
class RestartableCall {
 public:
  RestartableCall();
  ~RestartableCall();
  RestartableCall(const RestartableCall&) = delete;
  RestartableCall& operator=(const RestartableCall&) = delete;

 private:
  PosixThread* p_;
};

// Runs thread-specific-data destructors for a finishing thread (shims/thread_keys.cpp).
void run_key_destructors(PosixThread* p);

// In the child of fork(): `survivor` (the caller) is the only thread left. The registry
// forgets every other record (their pthread_t now gives ESRCH) and the running-thread count
// restarts, so that exit and pthread_exit behave as in a one-thread process (shims/thread.cpp).
void survive_fork(PosixThread* survivor);
void forget_other_threads(PosixThread* survivor);

void register_thread(PosixThread* p);
void unregister_thread(PosixThread* p);

// Whether the green thread with this id has finished (or was joined and is gone).
bool green_thread_finished(std::uint64_t id);

// For calls off the hub's OS thread, which glibc answers: true (after a one-line diagnostic
// naming the thread and the fix) if `handle` is a green thread, which glibc must never see.
bool refuse_green_handle(pthread_t handle, const char* call);
// Starts (or, after a cleanup handler ran, resumes) the forced unwind of the calling thread.
[[noreturn]] void continue_unwind(PosixThread* p);
// The main thread's pthread_exit, once its stack is unwound: waits for every other thread to
// finish, runs its key destructors and ends the process with status 0, as POSIX says.
[[noreturn]] void finish_root(PosixThread* root);

// Marks the calling thread as waiting at a cancellation point while alive, so pthread_cancel
// wakes it (its park then returns Wake::interrupted).
class CancellationPoint {
 public:
  CancellationPoint();
  ~CancellationPoint();
  CancellationPoint(const CancellationPoint&) = delete;
  CancellationPoint& operator=(const CancellationPoint&) = delete;

 private:
  PosixThread* p_;
};

}  // namespace greenrun::shim
