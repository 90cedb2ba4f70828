// Helpers shared by the API's implementation files: timeouts to deadlines, and turning how a
// park ended into the exception the API promises.
#pragma once
#include <cmath>
#include <stdexcept>

#include "greenrun.hpp"
#include "hub.h"

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

// After a park: raise what interrupted it, or LoopExit on deadlock; else say if it was woken.
inline bool woken(rt::Wake why) {
  if (why == rt::Wake::interrupted) raise_pending();
  if (why == rt::Wake::deadlock) throw LoopExit();
  return why == rt::Wake::woken;
}

}  // namespace greenrun::api
