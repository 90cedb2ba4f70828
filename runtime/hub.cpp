// The hub: the libuv loop, run in a green thread of its own.
//
// Model. The hub thread runs only when no other thread is ready (or the direct-switch budget
// is spent). Its body polls libuv once — blocking when nothing is ready, not blocking when
// something is — then resumes the first ready thread. libuv callbacks only call ready(); they
// never run green code themselves, so a callback can never block the loop.
//
// Timers: one uv_timer armed for the earliest deadline of the timer heap, rather than one
// uv_timer per sleeper: 100,000 sleepers cost a heap slot each instead of a handle each, and
// need no uv_close dance before their memory can be reused. Deadlines are checked against
// CLOCK_MONOTONIC in nanoseconds, so a sleep never ends early through libuv's millisecond clock.
//
// Deadlock: when nothing is ready, no timer is pending and the loop has nothing alive (no
// handle, no request, no promised cross-thread post), nothing can ever wake a parked thread.
// The handler decides what then: the API raises LoopExit in the root thread (gevent does the
// same); the preload prints a report and keeps waiting.
#include "hub.h"

#include <cxxabi.h>

#include <cerrno>
#include <new>

#include "diagnostics.h"
#include "handoff.h"
#include "preemption.h"
#include "stack_overflow.h"
#include "threadpool.h"
#include "tls_block.h"

namespace greenrun::rt {
namespace {

[[gnu::tls_model("initial-exec")]] thread_local Hub* t_hub = nullptr;

void thread_entry() {
  GreenThread* self = current();
  self->hub->reap();
  if (self->own_tls)
    tls::start_on_current_thread();
  else
    *self->hub->exception_state() = ExceptionState{};  // not the state of who started it
  errno = 0;
  self->body(self);
  fatal(self, "a green thread body returned without exiting", "report this as a greenrun bug");
}

}  // namespace

Hub& Hub::get() {
  if (!t_hub) t_hub = new Hub();  // leaked on purpose: shims may run during exit
  return *t_hub;
}

Hub* Hub::get_if_exists() { return t_hub; }

Hub::Hub() : scheduler_(*this) {
  install_overflow_handler();
  exception_state_ = reinterpret_cast<ExceptionState*>(abi::__cxa_get_globals());
  errno_location_ = &errno;
  os_tls_ = read_thread_pointer();
  shared_current_ = &detail::t_current;
  current_slot_ = reinterpret_cast<char*>(&detail::t_current) - static_cast<char*>(os_tls_);
  hub_slot_ = reinterpret_cast<char*>(&t_hub) - static_cast<char*>(os_tls_);
  errno_slot_ = reinterpret_cast<char*>(errno_location_) - static_cast<char*>(os_tls_);
  exceptions_slot_ = reinterpret_cast<char*>(exception_state_) - static_cast<char*>(os_tls_);
  uv_loop_init(&loop_);
  uv_timer_init(&loop_, &timer_);
  timer_.data = this;
  uv_async_init(&loop_, &async_, &on_async);
  async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));

  root_ = new GreenThread();
  root_->hub = this;
  root_->id = next_id_++;
  root_->is_root = true;
  root_->state = ThreadState::running;
  root_->tls = os_tls_;
  root_->refs = 1;  // never freed
  ++alive_;
  link(root_);
  set_name(root_, "main");
  set_current(root_);
  running_ = root_;

  int error = 0;
  hub_thread_ = create_thread(&hub_body, this, kHubStackSize, &error);
  if (!hub_thread_) fatal(root_, "cannot allocate the hub's stack", "check ulimit -v and memory");
  hub_thread_->is_hub = true;
  hub_thread_->refs = 1;
  set_name(hub_thread_, "hub");
}

GreenThread* Hub::create_thread(void (*body)(GreenThread*), void* user, std::size_t stack_size,
                                int* error) {
  ThreadSpec spec;
  spec.stack_size = stack_size;
  return create_thread(body, user, spec, error);
}

GreenThread* Hub::create_thread(void (*body)(GreenThread*), void* user, const ThreadSpec& spec,
                                int* error) {
  Stack stack;
  std::size_t size = spec.stack_size ? spec.stack_size : default_stack_size_;
  if (spec.user_stack) {
    stack = Stack{nullptr, 0, spec.user_stack, size, 0, GuardKind::none};
  } else if (int rc = stacks_.acquire(size, stack, spec.guard_size); rc != 0) {
    *error = -rc;
    return nullptr;
  }
  auto* t = new (std::nothrow) GreenThread();
  auto fail = [&](int why) -> GreenThread* {
    stacks_.release(stack);
    delete t;
    *error = why;
    return nullptr;
  };
  if (!t) return fail(ENOMEM);
  // As glibc does, the TLS block takes the top of the stack, and the rest must leave room to run.
  std::size_t usable = stack.size;
  t->tls = os_tls_;
  if (spec.own_tls) {
    constexpr std::size_t kMinimalRest = 4096;  // glibc's MINIMAL_REST_STACK
    if (stack.size < tls::reserve() + kMinimalRest) return fail(EINVAL);
    StackDescription described;
    described.block = stack.mapping ? stack.mapping : stack.lo;
    described.block_size = stack.mapping ? stack.mapping_size : stack.size;
    described.guard_size = described.reported_guard_size = stack.guard_size;
    described.user_stack = spec.user_stack != nullptr;
    void* tp = tls::build(stack.hi(), described);
    if (!tp) return fail(EAGAIN);
    // The runtime's own thread-local slots in the new block: who runs on it, and its hub.
    *reinterpret_cast<GreenThread**>(static_cast<char*>(tp) + current_slot_) = t;
    *reinterpret_cast<Hub**>(static_cast<char*>(tp) + hub_slot_) = this;
    t->tls = tp;
    t->own_tls = true;
    usable -= tls::reserve();
  }
  t->stack = stack;
  t->hub = this;
  t->id = next_id_++;
  t->body = body;
  t->user = user;
  t->parent = current() ? current() : root_;
  context_make(t->context, stack.lo, usable, &thread_entry);
  ++alive_;
  if (alive_ > stats_.peak_alive) stats_.peak_alive = alive_;
  link(t);
  return t;
}

void Hub::release_stack(GreenThread* t) {
  if (t->own_tls && t->tls) {
    tls::release(t->tls);
    t->tls = nullptr;
  }
  stacks_.release(t->stack);
}

void Hub::link(GreenThread* t) {
  t->all_prev = all_tail_;
  if (all_tail_) all_tail_->all_next = t; else all_head_ = t;
  all_tail_ = t;
}

void Hub::unlink(GreenThread* t) {
  if (t->all_prev) t->all_prev->all_next = t->all_next; else all_head_ = t->all_next;
  if (t->all_next) t->all_next->all_prev = t->all_prev; else all_tail_ = t->all_prev;
}

void Hub::destroy_thread(GreenThread* t) {
  release_stack(t);
  if (t->on_free) t->on_free(t);
  --alive_;
  unlink(t);
  delete t;
}

void Hub::reap_dying() {
  GreenThread* t = dying_;
  dying_ = nullptr;
  release_stack(t);
  scheduler_.wake_all(t->joiners);
  if (t->keeps_itself) {
    t->keeps_itself = false;
    release(t);
  } else if (t->refs == 0) {
    destroy_thread(t);
  }
}

void Hub::after_fork_child() {
  GreenThread* self = current();
  fds_.after_fork_child();  // before libuv re-registers its watcher on our epoll's number
  {
    RuntimeCall runtime;  // libuv's own locks must stay real
    uv_loop_fork(&loop_);
  }
  // Their wait records (in wait lists, fd entries, mutexes) stay linked but point into leaked
  // memory that stays mapped; ready() ignores a dead thread and wake_one() and wake_first()
  // pass over one, so that nothing is handed to it. Address waits are all theirs: dropped.
  address_waiters_.forget_all();
  while (scheduler_.has_ready()) scheduler_.next_ready()->state = ThreadState::dead;
  for (GreenThread* t = all_head_; t;) {
    GreenThread* next = t->all_next;
    if (t != self && t != hub_thread_) {
      if (t->park_timer.queued()) scheduler_.timers().remove(&t->park_timer);
      t->state = ThreadState::dead;
      unlink(t);
      --alive_;
    }
    t = next;
  }
  dying_ = nullptr;
  root_ = self;
  // Threadpool work and cross-thread posts belonged to the parent's threads.
  reset_threadpool_after_fork();
  handoff_after_fork_child();
  restart_preemption_after_fork();
  posted_.store(nullptr, std::memory_order_relaxed);
  external_wakers_.store(0, std::memory_order_relaxed);
}

void Hub::bind_to_this_os_thread(const std::uintptr_t* malloc_state) {
  if (!moved_ && !root_->own_tls) {
    // The original OS thread's TLS becomes the root's own: its slot names the root for good,
    // and unless the root is the thread left behind in its system call (whose values are live
    // there), it gets back the errno and exception state it saved when it last switched out.
    char* tp = static_cast<char*>(root_->tls);
    *reinterpret_cast<GreenThread**>(tp + current_slot_) = root_;
    if (root_->state != ThreadState::running && root_->state != ThreadState::away) {
      *reinterpret_cast<int*>(tp + errno_slot_) = root_->saved_errno;
      *reinterpret_cast<ExceptionState*>(tp + exceptions_slot_) = root_->saved_exceptions;
    }
    root_->own_tls = true;
  }
  moved_ = true;
  malloc_state_[0] = malloc_state[0];
  malloc_state_[1] = malloc_state[1];
  t_hub = this;
  os_tls_ = read_thread_pointer();
  errno_location_ = &errno;
  exception_state_ = reinterpret_cast<ExceptionState*>(abi::__cxa_get_globals());
  shared_current_ = &detail::t_current;
  hub_thread_->tls = os_tls_;
  set_current(hub_thread_);
  running_ = hub_thread_;
}

void Hub::give_malloc_state(GreenThread* target) {
  if (target->own_tls) tls::write_malloc_state(target->tls, malloc_state_);
}

void Hub::hub_body(GreenThread* self) { static_cast<Hub*>(self->user)->run_loop(); }

void Hub::run_loop() {
  for (;;) {
    turns_.fetch_add(1, std::memory_order_relaxed);  // a plain add: no fence, no syscall
    drain_posted();
    arm_timer();
    if (external_wakers_.load(std::memory_order_relaxed) > 0)
      uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
    else
      uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
    bool ready = scheduler_.has_ready() || scheduler_.has_held();
    if (!ready && !uv_loop_alive(&loop_)) {
      handle_deadlock();
      continue;
    }
    if (!ready && stacks_.has_excess()) stacks_.trim_excess();  // idle: housekeeping
    polling_ = true;
    if (!ready) idle_.store(true, std::memory_order_relaxed);
    uv_run(&loop_, ready ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    idle_.store(false, std::memory_order_relaxed);
    polling_ = false;
    scheduler_.timers().fire_due(monotonic_now());
    scheduler_.release_after_poll();
    if (scheduler_.has_ready()) {
      GreenThread* next = scheduler_.next_ready();
      scheduler_.start_round();
      hub_thread_->state = ThreadState::ready;
      if (stats_.timing) [[unlikely]] {
        Nanos left = coarse_now();
        switch_to(next);
        Nanos away = coarse_now() - left;
        if (away > stats_.longest_stall) stats_.longest_stall = away;
      } else {
        switch_to(next);
      }
    }
  }
}

void Hub::arm_timer() {
  Nanos earliest = scheduler_.timers().earliest();
  if (earliest == kNever) {
    if (armed_for_ != kNever) uv_timer_stop(&timer_);
    armed_for_ = kNever;
    return;
  }
  uv_update_time(&loop_);
  Nanos wait = earliest - monotonic_now();
  // Round up: a timer that fires early only costs a re-arm, one that fires late is a bug.
  std::uint64_t ms = wait <= 0 ? 0 : static_cast<std::uint64_t>((wait + 999'999) / 1'000'000);
  uv_timer_start(&timer_, &on_timer, ms, 0);
  armed_for_ = earliest;
}

void Hub::on_timer(uv_timer_t* timer) {
  auto* hub = static_cast<Hub*>(timer->data);
  hub->armed_for_ = kNever;
  hub->scheduler_.timers().fire_due(monotonic_now());
  // libuv times with CLOCK_MONOTONIC_COARSE, which lags ours by up to a tick, so the timer can
  // fire before the deadline it was armed for. Arm it again for whatever is still queued: if
  // nothing was due, uv_run(UV_RUN_ONCE) would otherwise poll with no timeout at all and every
  // sleeper would wait for some unrelated event.
  hub->arm_timer();
}

void Hub::post(RemoteTask* task) {
  RemoteTask* head = posted_.load(std::memory_order_relaxed);
  do {
    task->next = head;
  } while (!posted_.compare_exchange_weak(head, task, std::memory_order_release,
                                          std::memory_order_relaxed));
  uv_async_send(&async_);
}

void Hub::on_async(uv_async_t* async) { static_cast<Hub*>(async->data)->drain_posted(); }

void Hub::drain_posted() {
  RemoteTask* list = posted_.exchange(nullptr, std::memory_order_acquire);
  RemoteTask* fifo = nullptr;  // the stack holds them newest first
  while (list) {
    RemoteTask* next = list->next;
    list->next = fifo;
    fifo = list;
    list = next;
  }
  while (fifo) {
    RemoteTask* next = fifo->next;
    fifo->run(fifo);
    fifo = next;
  }
}

void Hub::add_external_waker() { external_wakers_.fetch_add(1, std::memory_order_relaxed); }

void Hub::remove_external_waker() {
  external_wakers_.fetch_sub(1, std::memory_order_relaxed);
  uv_async_send(&async_);  // let the loop re-evaluate whether it is still alive
}

void Hub::handle_deadlock() {
  if (deadlock_handler_) {
    deadlock_handler_(*this);
    if (scheduler_.has_ready()) {
      GreenThread* next = scheduler_.next_ready();
      hub_thread_->state = ThreadState::ready;
      switch_to(next);
    }
    return;
  }
  if (root_->state != ThreadState::parked)
    fatal(root_, "every green thread is blocked but the main thread is not parked",
          "report this as a greenrun bug");
  scheduler_.ready(root_, Wake::deadlock);
  GreenThread* next = scheduler_.next_ready();
  hub_thread_->state = ThreadState::ready;
  switch_to(next);
}

}  // namespace greenrun::rt
