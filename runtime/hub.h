// The hub: one per OS thread that uses greenrun. It owns the libuv loop (run in a green thread
// of its own, like gevent's hub), the scheduler, the timers and the stack pool. Invariant: all
// of it is touched only from its OS thread; other OS threads reach it through post().
#pragma once
#include <uv.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "fd_table.h"
#include "green_thread.h"
#include "scheduler.h"
#include "stack_pool.h"
#include "stats.h"
#include "sync/address_waiters.h"
#include "thread_pointer.h"

namespace greenrun::rt {

// How to make a new thread: its stack, and whether it gets thread-local storage of its own.
struct ThreadSpec {
  std::size_t stack_size = 0;  // usable bytes; 0: the hub's default
  std::size_t guard_size = StackPool::kDefaultGuard;
  void* user_stack = nullptr;  // memory the program supplied (stack_size bytes), used as given
  // A TLS block at the top of the stack (tls_block.h), as a pthread has; otherwise the thread
  // shares its OS thread's TLS, as greenlets do. Only where tls::available().
  bool own_tls = false;
};

class Hub {
 public:
  static constexpr std::size_t kHubStackSize = 256 * 1024;

  // The hub of the calling OS thread, created on first use (adopting the caller as the root
  // green thread). The hub is never destroyed: shims may still run while the process exits.
  static Hub& get();
  static Hub* get_if_exists();

  Scheduler& scheduler() { return scheduler_; }
  StackPool& stacks() { return stacks_; }
  uv_loop_t* loop() { return &loop_; }
  bool polling() const { return polling_; }  // inside uv_run: libuv callbacks are running
  AddressWaiters& address_waiters() { return address_waiters_; }
  FdTable& fds() { return fds_; }
  GreenThread* root() { return root_; }
  // Where the current-thread slot of the OS thread's own TLS is (switch_to writes it for
  // threads that share that TLS; a thread with TLS of its own has its slot set once).
  GreenThread** shared_current() { return shared_current_; }
  // The thread running on the hub's OS thread, for the blocking monitor on another OS thread
  // (a thread with TLS of its own is not in the shared slot).
  GreenThread* const* running_slot() const { return &running_; }
  void set_running(GreenThread* t) { running_ = t; }
  // Whether the running thread has been seen spin-waiting (preemption.cpp): the monitor then
  // gives it a short slice. Written at each switch, read by the monitor.
  bool spinner_running() const { return spinner_running_.load(std::memory_order_relaxed); }
  void set_spinner_running(bool spinning) {
    spinner_running_.store(spinning, std::memory_order_relaxed);
  }
  GreenThread* hub_thread() { return hub_thread_; }
  ExceptionState* exception_state() { return exception_state_; }
  int* errno_location() { return errno_location_; }  // this OS thread's errno
  Stats& stats() { return stats_; }

  // For the blocking monitor, readable from any OS thread: `turns` grows each time the loop
  // runs; `idle` is true while it waits in libuv for something to happen.
  std::uint64_t loop_turns() const { return turns_.load(std::memory_order_relaxed); }
  bool loop_idle() const { return idle_.load(std::memory_order_relaxed); }

  // Creates a thread that will run body(thread) on its own stack. It is not started: ready()
  // it (gevent-style spawn) or switch to it (greenlet-style). Returns nullptr and sets *error
  // to EINVAL (stack too small) or ENOMEM.
  GreenThread* create_thread(void (*body)(GreenThread*), void* user, std::size_t stack_size,
                             int* error);
  // The same with everything a pthread attribute can ask for. EINVAL also when the stack cannot
  // hold the TLS block; EAGAIN when the loader cannot allocate the thread's TLS.
  GreenThread* create_thread(void (*body)(GreenThread*), void* user, const ThreadSpec& spec,
                             int* error);
  std::size_t default_stack_size() const { return default_stack_size_; }
  void set_default_stack_size(std::size_t size) { default_stack_size_ = size; }

  // Thread-safe: queue `task` to run on this hub's thread and wake its loop.
  void post(RemoteTask* task);
  // While positive, the loop counts as alive even with nothing else pending, because another
  // OS thread has promised to post() (the deadlock check must not fire meanwhile).
  void add_external_waker();
  void remove_external_waker();

  // Called on the interrupted thread when a descriptor wait ends by interruption, after the
  // wait has cleaned up and before it returns -EINTR: the preload acts on a pending
  // pthread_cancel there (it does not return then), so every blocking descriptor call is a
  // cancellation point through this one place.
  using InterruptHook = void (*)();
  void set_interrupt_hook(InterruptHook hook) { interrupt_hook_ = hook; }
  void interrupted() {
    if (interrupt_hook_) interrupt_hook_();
  }

  // Called on a thread that has `resume_hook` set, when it resumes from a park or yield, at a
  // point where it is linked in no wait list: the preload delivers signals sent to that
  // thread with pthread_kill there ("when it runs").
  using ResumeHook = void (*)(GreenThread*);
  void set_resume_hook(ResumeHook hook) { resume_hook_ = hook; }
  void run_resume_hook(GreenThread* t) {
    t->resume_hook = false;
    if (resume_hook_) resume_hook_(t);
  }

  // What to do when every thread is parked and nothing can wake any of them. The default
  // wakes the root thread with Wake::deadlock (the API raises LoopExit there).
  using DeadlockHandler = void (*)(Hub&);
  void set_deadlock_handler(DeadlockHandler handler) { deadlock_handler_ = handler; }

  // A dead thread's stack can only be freed once we are off it: the thread that runs next does.
  void bury(GreenThread* dead) { dying_ = dead; }
  void reap() {
    if (dying_) reap_dying();
  }

  // Every thread not yet freed (root and hub included), oldest first.
  template <class F>
  void for_each_thread(F&& f) {
    for (GreenThread* t = all_head_; t; t = t->all_next) f(t);
  }

  // In the child of fork(), on the only green thread that exists there (the caller): re-arms
  // the loop's kernel state (uv_loop_fork), drops every other green thread for good (marked
  // dead, so late wake-ups leave them alone; their stacks and structs are leaked) and makes
  // the caller the root. Added for shims/process.cpp's fork.
  void after_fork_child();

  // Hand-off (handoff.cpp). On the OS thread that takes the loop over, before it resumes the
  // hub context: the hub runs with this OS thread's TLS from now on (its errno, exception state
  // and current-thread slot), and green threads use `malloc_state`, this OS thread's malloc
  // words (each OS thread needs its own tcache). The first time, the root thread takes the
  // original OS thread's TLS as its own, since that thread no longer runs the hub.
  void bind_to_this_os_thread(const std::uintptr_t* malloc_state);
  // Gives `target` the running OS thread's malloc words (switch_to, once the loop has moved).
  void give_malloc_state(GreenThread* target);
  bool moved() const { return moved_; }

  std::uint64_t threads_created() const { return next_id_ - 1; }
  std::size_t threads_alive() const { return alive_; }
  // Nothing exists but the root and the hub's own thread: a blocking call could hold nobody up,
  // so a shim may just make it natively.
  bool alone() const { return alive_ <= 2; }
  void destroy_thread(GreenThread* t);

 private:
  Hub();
  static void hub_body(GreenThread* self);
  static void on_timer(uv_timer_t* timer);
  static void on_async(uv_async_t* async);
  void run_loop();
  void arm_timer();
  void drain_posted();
  void reap_dying();
  void release_stack(GreenThread* t);  // and its TLS block, once nothing runs on it
  void link(GreenThread* t);
  void unlink(GreenThread* t);
  void handle_deadlock();

  uv_loop_t loop_;
  uv_timer_t timer_;
  uv_async_t async_;
  StackPool stacks_;
  Scheduler scheduler_;
  AddressWaiters address_waiters_;
  FdTable fds_{*this};
  GreenThread* root_ = nullptr;
  GreenThread* hub_thread_ = nullptr;
  GreenThread* dying_ = nullptr;
  GreenThread* all_head_ = nullptr;
  GreenThread* all_tail_ = nullptr;
  ExceptionState* exception_state_ = nullptr;
  int* errno_location_ = nullptr;
  // The OS thread's own TLS, shared by the root, the hub and greenlets: where its copy of the
  // runtime's "current thread" slot is, and where each slot sits relative to a thread pointer
  // (the same in every block: the loader lays out static TLS once).
  void* os_tls_ = nullptr;
  GreenThread** shared_current_ = nullptr;
  std::ptrdiff_t current_slot_ = 0;
  std::ptrdiff_t hub_slot_ = 0;
  std::ptrdiff_t errno_slot_ = 0;       // errno and the exception state, from a thread pointer
  std::ptrdiff_t exceptions_slot_ = 0;
  bool moved_ = false;                  // the loop has run on another OS thread (hand-off)
  std::uintptr_t malloc_state_[2] = {};
  GreenThread* running_ = nullptr;
  DeadlockHandler deadlock_handler_ = nullptr;
  InterruptHook interrupt_hook_ = nullptr;
  ResumeHook resume_hook_ = nullptr;
  std::atomic<RemoteTask*> posted_{nullptr};
  std::atomic<int> external_wakers_{0};
  std::size_t default_stack_size_ = StackPool::kDefaultSize;
  std::uint64_t next_id_ = 1;
  std::size_t alive_ = 0;
  Stats stats_;
  std::atomic<std::uint64_t> turns_{0};
  std::atomic<bool> idle_{false};
  Nanos armed_for_ = kNever;
  bool polling_ = false;
  std::atomic<bool> spinner_running_{false};
};

// Declared in green_thread.h.
inline void switch_to(GreenThread* target) {
  GreenThread* self = current();
  if (self->stack.guard == GuardKind::canary && self->stack.mapping) [[unlikely]]
    check_stack(self);
  Hub* hub = self->hub;
  ++hub->stats().switches;
  target->state = ThreadState::running;
  // errno and the C++ exception state live in TLS. A thread with TLS of its own keeps them
  // there; threads that share their OS thread's TLS (root, hub, greenlets) save them on the way
  // out and put them back when resumed. The shared slot is read and written through its
  // address, never through the thread pointer, which may be another thread's here.
  const bool shares_tls = !self->own_tls;
  if (shares_tls) {
    self->saved_errno = *hub->errno_location();  // the OS thread's errno, without a call
    self->saved_exceptions = *hub->exception_state();
  }
  if (!target->own_tls) *hub->shared_current() = target;
  hub->set_running(target);
  hub->set_spinner_running(target->spin_looks >= kSpinLooks);
  if (hub->moved()) [[unlikely]] hub->give_malloc_state(target);
  if (target->tls != self->tls) write_thread_pointer(target->tls);
  context_switch(self->context, target->context);
  // Resumed: whoever switched here has pointed the thread pointer back at our TLS, perhaps on
  // another OS thread (a hand-off), so the OS thread's errno is looked up again.
  if (shares_tls) {
    *hub->errno_location() = self->saved_errno;
    *hub->exception_state() = self->saved_exceptions;
  }
  hub->reap();
}

// on_green_thread() for a shim of `family`, counting the call when it is intercepted.
inline bool on_green_thread(CallFamily family) {
  if (!on_green_thread()) return false;
  ++current()->hub->stats().calls[static_cast<int>(family)];
  return true;
}

}  // namespace greenrun::rt
