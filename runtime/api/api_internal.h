// Helpers shared by the API's implementation files: timeouts to deadlines, turning how a park
// ended into the exception the API promises, and the C API's greenlet switch.
#pragma once
#include <cmath>
#include <stdexcept>

#include "greenrun.hpp"
#include "hub.h"

// Functions that suspend their caller in a greenlet switch (Greenlet::switch_to and throw_into,
// greenrun_switch and greenrun_throw) return with `pop; jmp`, through __x86_return_thunk
// (greenlet.cpp), instead of `ret`. The caller they return to is the one that switched away
// earlier, not the one that just called in, so a `ret` is predicted (return-stack predictor: the
// latest call) to go back to the other side and misses once per switch whenever the two sides
// switch from different places, as a greenlet body and the loop consuming it do. The indirect
// jump is predicted from the branch history instead, which tells the two sides apart. Measured
// (tests/bench, ns per switch, ret vs jmp): main loop <-> greenlet body 15.1 vs 10.1, C API
// 15.5 vs 9.6; both sides in one loop, where `ret` is always right, 7.2 vs 10.2 (the call's
// predictor entry is never popped). Only the outermost frame does this: the frames below it are
// the same on both sides, so their `ret`s stay right (see context_x86_64.S). GCC on x86-64
// only, and not in CET builds (a shadow stack faults on a return that is not a `ret`).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CET__)
#define GREENRUN_SWITCH_RETURN __attribute__((function_return("thunk-extern")))
#define GREENRUN_SWITCH_RETURN_THUNK 1
#else
#define GREENRUN_SWITCH_RETURN
#endif

namespace greenrun::api {

inline rt::Hub& hub() { return rt::Hub::get(); }
inline rt::Scheduler& scheduler() { return rt::Hub::get().scheduler(); }

// gevent's convention: a negative (or absent) timeout means wait forever.
inline rt::Nanos deadline_for(double timeout) {
  if (std::isnan(timeout)) throw std::invalid_argument("greenrun: timeout is NaN");
  return timeout < 0 ? rt::kNever : rt::deadline_after(timeout);
}

// Raises the pending exception of the current thread (kill, Timeout), if any.
inline void raise_pending() {
  rt::GreenThread* self = rt::current();
  if (self && self->pending_throw) {
    std::exception_ptr e = std::move(self->pending_throw);
    self->pending_throw = nullptr;
    std::rethrow_exception(e);
  }
}

// A C API value: the void* an any holds, else nullptr.
inline void* to_pointer(const std::any& v) {
  if (auto p = std::any_cast<void*>(&v)) return *p;
  return nullptr;
}

// greenrun_switch's core: a greenlet switch handing a void* each way, without a std::any or a
// temporary Greenlet handle. A dead `target` passes the switch to its first live ancestor.
// Raises what Greenlet::switch_to raises.
void* switch_pointer(rt::GreenThread* target, void* value);

// After a park: raise what interrupted it, or LoopExit on deadlock; else say if it was woken.
inline bool woken(rt::Wake why) {
  if (why == rt::Wake::interrupted) raise_pending();
  if (why == rt::Wake::deadlock) throw LoopExit();
  return why == rt::Wake::woken;
}

}  // namespace greenrun::api
