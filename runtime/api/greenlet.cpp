// greenlet semantics on top of the scheduler's switch: values and exceptions passed both ways,
// parents, death, throw, settrace, and GreenletExit for greenlets dropped while suspended.
#include <cstring>

#include "api_internal.h"
#include "diagnostic_output.h"
#include "diagnostics.h"
#include "greenrun.hpp"

namespace greenrun {
namespace {

using rt::GreenThread;
using rt::ThreadState;

thread_local TraceFunction t_trace;
// Whether t_trace is set. Every switch tests it, and reaching a thread_local std::function goes
// through a TLS guard (its destructor must be registered): this is a plain TLS byte.
[[gnu::tls_model("initial-exec")]] constinit thread_local bool t_tracing = false;

// What a greenlet runs and what it left behind; owned by its GreenThread (freed in on_free).
struct Body {
  Greenlet::Run run;
  std::any result;
  std::exception_ptr error;  // what escaped run(), GreenletExit excluded
};

Body* body_of(const GreenThread* t) { return static_cast<Body*>(t->user); }

void free_body(GreenThread* t) { delete body_of(t); }

// The settrace callback, out of line: a switch only tests whether one is set (inline, below).
[[gnu::noinline]] void call_trace(const char* event, GreenThread* origin, GreenThread* target) {
  rt::retain(origin);
  rt::retain(target);
  TraceFunction fn = t_trace;  // the callback may call settrace
  fn(event, Greenlet(origin), Greenlet(target));
}

inline void trace(const char* event, GreenThread* origin, GreenThread* target) {
  if (t_tracing) [[unlikely]] call_trace(event, origin, target);
}

bool is_greenlet_exit(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const GreenletExit&) {
    return true;
  } catch (...) {
    return false;
  }
}

GreenThread* first_live_ancestor(GreenThread* t) {
  while (t && t->dead()) t = t->parent;
  return t;
}

// A greenlet switch may resume a thread that is suspended in a switch or not started yet;
// resuming one that is parked on something else would fake its wake-up.
// Out of line and cold, so the checks below stay a few compares in the switch's own frame.
[[noreturn, gnu::cold, gnu::noinline]] void refuse_switch(const char* why) {
  throw GreenletError(why);
}

inline void check_switchable(GreenThread* self, GreenThread* target) {
  // No current thread means this OS thread has no hub yet, so the target is another's.
  if (!self || target->hub != self->hub) [[unlikely]]
    refuse_switch("greenrun: cannot switch to a greenlet of another OS thread");
  if (target->state == ThreadState::created) return;
  if (target->state == ThreadState::parked && target->wait_reason == rt::WaitReason::switched_away)
    [[likely]] return;
  refuse_switch("greenrun: cannot switch to a greenlet that is scheduled or blocked in a wait");
}

// ---- Hand-over: what a switch gives the thread it resumes (GreenThread::transfer_*) ----
// The sender fills a slot and sets its Handed bit; the resumed thread takes everything at once.
// A switch that passes nothing sets no bit, so the common case tests one byte on each side.

void hand_value(GreenThread* to, std::any&& value) {
  if (!value.has_value()) return;  // an empty any is what no hand-over means
  to->transfer_value = std::move(value);
  to->handed |= rt::kHandedValue;
}

void hand_pointer(GreenThread* to, void* value) {
  to->transfer_pointer = value;
  to->handed |= rt::kHandedPointer;
}

void hand_error(GreenThread* to, std::exception_ptr&& error) {
  if (!error) return;
  to->transfer_error = std::move(error);
  to->handed |= rt::kHandedError;
}

// Everything handed to `self`, taken out of its slots. A C API pointer becomes an any holding
// a void*, as if greenrun_switch had passed std::any(value).
struct Taken {
  std::any value;
  std::exception_ptr error;
};

Taken take_handed(GreenThread* self) {
  Taken taken;
  unsigned bits = std::exchange(self->handed, 0);
  if (bits & rt::kHandedPointer) taken.value = self->transfer_pointer;
  if (bits & rt::kHandedValue) {
    taken.value = std::move(self->transfer_value);
    self->transfer_value.reset();
  }
  if (bits & rt::kHandedError) taken.error = std::exchange(self->transfer_error, nullptr);
  return taken;
}

// Suspends `self` (the current thread) and resumes `target`, already checked and handed its
// value. Returns when a switch, or the scheduler (an interruption, a deadlock), resumes `self`.
inline void suspend(GreenThread* self, GreenThread* target) {
  self->state = ThreadState::parked;
  self->wait_reason = rt::WaitReason::switched_away;
  self->wake = rt::Wake::woken;
  rt::switch_to(target);
  self->wait_reason = rt::WaitReason::none;
}

// After suspend(): raises what interrupted us (kill, LoopExit) or the exception handed over,
// else returns the value handed over.
[[gnu::noinline]] std::any receive_slow(GreenThread* self) {
  Taken taken = take_handed(self);
  api::woken(self->wake);
  if (taken.error) std::rethrow_exception(taken.error);
  return std::move(taken.value);
}

inline std::any receive(GreenThread* self) {
  if (self->wake == rt::Wake::woken) [[likely]] {
    if (!self->handed) return {};
    if (self->handed == rt::kHandedValue) {  // moved once, straight into our result
      self->handed = 0;
      std::any value = std::move(self->transfer_value);
      self->transfer_value.reset();
      return value;
    }
  }
  return receive_slow(self);
}

// The same for the C API: an any that holds no void* is a null pointer.
[[gnu::noinline]] void* receive_pointer_slow(GreenThread* self) {
  return api::to_pointer(receive_slow(self));
}

inline void* receive_pointer(GreenThread* self) {
  if (self->handed == rt::kHandedPointer && self->wake == rt::Wake::woken) [[likely]] {
    self->handed = 0;
    return self->transfer_pointer;
  }
  return receive_pointer_slow(self);
}

// The heart of switch_to: hand over, suspend, and interpret what we are resumed with. Takes its
// argument by reference: it is moved into the target, never copied. Inline, so that a switch
// is one frame.
[[gnu::always_inline]] inline std::any transfer(GreenThread* target, std::any&& value) {
  GreenThread* self = rt::current();
  if (target == self) return std::move(value);
  check_switchable(self, target);
  trace("switch", self, target);
  hand_value(target, std::move(value));
  suspend(self, target);
  return receive(self);
}

// The same for throw_into: `error` is raised in the target as soon as it resumes.
std::any transfer_throw(GreenThread* target, std::exception_ptr&& error) {
  GreenThread* self = rt::current();
  if (target == self) std::rethrow_exception(error);
  check_switchable(self, target);
  trace("throw", self, target);
  hand_error(target, std::move(error));
  suspend(self, target);
  return receive(self);
}

void greenlet_main(GreenThread* self) {
  Body* body = body_of(self);
  Taken taken = take_handed(self);
  std::any argument = std::move(taken.value);
  std::exception_ptr thrown = std::move(taken.error);
  if (!thrown && self->pending_throw) {  // killed before it ever ran
    thrown = std::move(self->pending_throw);
    self->pending_throw = nullptr;
  }
  if (thrown) {  // throw into an unstarted greenlet: it dies without running
    if (is_greenlet_exit(thrown)) body->result = GreenletExit{};
    else body->error = thrown;
  } else {
    try {
      body->result = body->run(std::move(argument));
    } catch (const GreenletExit&) {
      body->result = GreenletExit{};
    } catch (...) {
      body->error = std::current_exception();
    }
  }
  body->run = nullptr;  // drop captures now, while the thread's stack still exists

  if (self->keeps_itself) {  // spawned: report like gevent, then let the scheduler move on
    if (body->error) {
      char who[96];
      rt::describe(self, who, sizeof who);
      const char* what = "an exception that is not a std::exception";
      try {
        std::rethrow_exception(body->error);
      } catch (const std::exception& e) {
        rt::print_diagnostic(2, "greenrun: green thread %s failed: %s\n", who, e.what());
        what = nullptr;
      } catch (...) {
      }
      if (what) rt::print_diagnostic(2, "greenrun: green thread %s failed: %s\n", who, what);
    }
    self->hub->scheduler().exit_current();
  }

  // greenlet: the result (or the exception) goes to the parent.
  GreenThread* parent = first_live_ancestor(self->parent);
  self->state = ThreadState::dead;
  self->hub->bury(self);
  if (!parent || (parent->state != ThreadState::created &&
                  !(parent->state == ThreadState::parked &&
                    parent->wait_reason == rt::WaitReason::switched_away))) {
    self->hub->scheduler().exit_current();  // nobody waits for the value: just move on
  }
  // The callback's handles may be the only references to this dead thread, and dropping the
  // last one frees it: hold one more across the call, and give it back without freeing, since
  // we still run on its stack (the parent's reap frees it if nobody else holds it).
  rt::retain(self);
  trace(body->error ? "throw" : "switch", self, parent);
  --self->refs;
  if (body->error) hand_error(parent, std::exception_ptr(body->error));
  else hand_value(parent, std::any(body->result));
  rt::switch_to(parent);
  rt::fatal(self, "a finished greenlet was resumed", "report this as a greenrun bug");
}

GreenThread* checked(GreenThread* t) {
  if (!t) throw GreenletError("greenrun: empty Greenlet handle");
  return t;
}

}  // namespace

namespace api {
void* switch_pointer(GreenThread* target, void* value) {
  target = first_live_ancestor(target);
  if (!target) throw GreenletError("greenrun: the greenlet and all its parents are dead");
  GreenThread* self = rt::current();
  if (target == self) return value;
  check_switchable(self, target);
  trace("switch", self, target);
  hand_pointer(target, value);
  suspend(self, target);
  return receive_pointer(self);
}
}  // namespace api

namespace detail {
GreenThread* make_greenlet(Greenlet::Run run, GreenThread* parent, std::size_t stack_size) {
  if (!run) throw std::invalid_argument("greenrun: a greenlet needs a function to run");
  rt::Hub& hub = api::hub();
  int error = 0;
  auto* body = new Body{std::move(run), {}, {}};
  GreenThread* t = hub.create_thread(&greenlet_main, body, stack_size, &error);
  if (!t) {
    delete body;
    if (error == EINVAL)
      throw std::invalid_argument("greenrun: stack size " + std::to_string(stack_size) +
                                  " is below the minimum of " +
                                  std::to_string(rt::StackPool::kMinimumSize) + " bytes");
    throw std::bad_alloc();
  }
  t->on_free = &free_body;
  if (parent) t->parent = parent;
  rt::retain(t);
  return t;
}
std::any result_of(const GreenThread* t) { return body_of(t)->result; }
std::exception_ptr error_of(const GreenThread* t) {
  return t->is_root || t->is_hub ? nullptr : body_of(t)->error;
}
}  // namespace detail

Greenlet::Greenlet(Run run, const Greenlet* parent, std::size_t stack_size)
    : thread_(detail::make_greenlet(std::move(run), parent ? checked(parent->thread_) : nullptr,
                                    stack_size)) {}

Greenlet::Greenlet(GreenThread* adopt) : thread_(adopt) {}

Greenlet::Greenlet(const Greenlet& other) : thread_(other.thread_) {
  if (thread_) rt::retain(thread_);
}

Greenlet::Greenlet(Greenlet&& other) noexcept : thread_(std::exchange(other.thread_, nullptr)) {}

Greenlet& Greenlet::operator=(Greenlet other) noexcept {
  std::swap(thread_, other.thread_);
  return *this;
}

Greenlet::~Greenlet() {
  GreenThread* t = std::exchange(thread_, nullptr);
  if (!t) return;
  bool last = t->refs == 1;
  bool suspended = t->started() && !t->dead() && !t->keeps_itself && !t->is_root && !t->is_hub;
  GreenThread* self = rt::current();
  if (last && suspended && self && t != self && t->hub == self->hub &&
      t->state == ThreadState::parked && t->wait_reason == rt::WaitReason::switched_away) {
    // greenlet's rule: raise GreenletExit at the suspension point so its cleanup runs, and
    // come back here when it is done.
    t->parent = self;
    try {
      transfer_throw(t, std::make_exception_ptr(GreenletExit{}));
    } catch (...) {
      rt::warn(t, "a greenlet destroyed while suspended raised instead of exiting",
               "let GreenletExit propagate out of the greenlet");
    }
  }
  rt::release(t);
}

GREENRUN_SWITCH_RETURN std::any Greenlet::switch_to(std::any value) {
  GreenThread* target = first_live_ancestor(checked(thread_));
  if (!target) throw GreenletError("greenrun: the greenlet and all its parents are dead");
  return transfer(target, std::move(value));
}

GREENRUN_SWITCH_RETURN std::any Greenlet::throw_into(std::exception_ptr error) {
  GreenThread* target = first_live_ancestor(checked(thread_));
  if (!target) throw GreenletError("greenrun: the greenlet and all its parents are dead");
  if (!error) error = std::make_exception_ptr(GreenletExit{});
  return transfer_throw(target, std::move(error));
}

Greenlet Greenlet::parent() const {
  GreenThread* p = checked(thread_)->parent;
  if (!p) return Greenlet();
  rt::retain(p);
  return Greenlet(p);
}

void Greenlet::set_parent(const Greenlet& parent) {
  GreenThread* t = checked(thread_);
  GreenThread* p = checked(parent.thread_);
  if (p->hub != t->hub) throw GreenletError("greenrun: parent belongs to another OS thread");
  for (GreenThread* a = p; a; a = a->parent)
    if (a == t) throw GreenletError("greenrun: cyclic parent chain");
  t->parent = p;
}

bool Greenlet::started() const { return checked(thread_)->started(); }
bool Greenlet::dead() const { return checked(thread_)->dead(); }
Greenlet::operator bool() const { return thread_ && thread_->started() && !thread_->dead(); }
std::uint64_t Greenlet::id() const { return checked(thread_)->id; }
std::string Greenlet::name() const { return checked(thread_)->name; }
void Greenlet::set_name(const std::string& name) { rt::set_name(checked(thread_), name.c_str()); }

Greenlet Greenlet::current() {
  GreenThread* t = rt::current();
  if (!t) t = api::hub().root();
  rt::retain(t);
  return Greenlet(t);
}

TraceFunction settrace(TraceFunction fn) {
  TraceFunction previous = std::exchange(t_trace, std::move(fn));
  t_tracing = static_cast<bool>(t_trace);
  return previous;
}
TraceFunction gettrace() { return t_trace; }

const char* context_backend() { return rt::context_backend(); }

}  // namespace greenrun

#ifdef GREENRUN_SWITCH_RETURN_THUNK
// Where GREENRUN_SWITCH_RETURN functions (api_internal.h) jump instead of `ret`: it returns
// without popping the return-stack predictor. rcx is free: not preserved across a call and not
// a return register.
asm(R"(
    .text
    .globl  __x86_return_thunk
    .hidden __x86_return_thunk
    .type   __x86_return_thunk, @function
    .p2align 4
__x86_return_thunk:
    .cfi_startproc
    popq    %rcx
    .cfi_adjust_cfa_offset -8
    .cfi_register 16, 2  /* the return address (column 16) is in rcx (2) */
    jmpq    *%rcx
    .cfi_endproc
    .size   __x86_return_thunk, .-__x86_return_thunk
)");
#endif
