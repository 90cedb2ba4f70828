// Deferred cancellation and cleanup handlers. A cancel request wakes its target only when it
// is parked at a cancellation point (sleeps, joins, condvar and semaphore waits); the target
// then unwinds from that point (shims/posix_thread.cpp). Asynchronous cancellation cannot
// interrupt a green thread that is running code, so it is treated as deferred.
// pthread_cleanup_push in C registers a jump buffer with __pthread_register_cancel; we keep
// that chain per green thread (glibc keeps it in the OS thread's descriptor, which all green
// threads share). The main thread keeps glibc's chain.
// Defines: pthread_cancel pthread_setcancelstate pthread_setcanceltype pthread_testcancel
//          __pthread_register_cancel __pthread_unregister_cancel __pthread_unwind_next
#include <errno.h>
#include <pthread.h>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::real {
inline constexpr Function<void (*)(__pthread_unwind_buf_t*)> register_cancel{
    "__pthread_register_cancel"};
inline constexpr Function<void (*)(__pthread_unwind_buf_t*)> unregister_cancel{
    "__pthread_unregister_cancel"};
inline constexpr Function<void (*)(__pthread_unwind_buf_t*)> unwind_next{"__pthread_unwind_next"};
}  // namespace greenrun::real

using namespace greenrun;

namespace {
// The green thread's own chain, or nullptr where glibc's chain applies (off green threads, and
// on the main thread).
shim::PosixThread* own_chain() {
  shim::PosixThread* p = rt::on_green_thread(rt::CallFamily::thread) ? shim::self() : nullptr;
  return p && !p->green->is_root ? p : nullptr;
}
}  // namespace

GREENRUN_EXPORT int pthread_cancel(pthread_t thread) {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && shim::refuse_green_handle(thread, "pthread_cancel")) return ESRCH;
    return real::pthread_cancel(thread);
  }
  shim::PosixThread* p = shim::find(thread);
  if (!p) return ESRCH;
  if (p->green->is_root) return ENOTSUP;  // would unwind main's stack beneath every green thread
  if (p->finished || p->exiting) return 0;
  p->cancel_pending = true;
  if (p->cancel_enabled && p->at_cancellation_point && p->green->state == rt::ThreadState::parked)
    p->green->hub->scheduler().ready(p->green, rt::Wake::interrupted);
  else if (p == shim::self() && p->cancel_enabled && p->cancel_asynchronous)
    shim::test_cancel();
  return 0;
}

GREENRUN_EXPORT int pthread_setcancelstate(int state, int* old) {
  if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE) return EINVAL;
  shim::PosixThread* p = own_chain();
  if (!p) return real::pthread_setcancelstate(state, old);
  if (old) *old = p->cancel_enabled ? PTHREAD_CANCEL_ENABLE : PTHREAD_CANCEL_DISABLE;
  p->cancel_enabled = state == PTHREAD_CANCEL_ENABLE;
  return 0;
}

GREENRUN_EXPORT int pthread_setcanceltype(int type, int* old) {
  if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS) return EINVAL;
  shim::PosixThread* p = own_chain();
  if (!p) return real::pthread_setcanceltype(type, old);
  if (old) *old = p->cancel_asynchronous ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
  p->cancel_asynchronous = type == PTHREAD_CANCEL_ASYNCHRONOUS;
  if (p->cancel_asynchronous) shim::test_cancel();
  return 0;
}

GREENRUN_EXPORT void pthread_testcancel(void) {
  if (!own_chain()) return real::pthread_testcancel();
  shim::test_cancel();
}

GREENRUN_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t* buf) {
  shim::PosixThread* p = own_chain();
  if (!p) return real::register_cancel(buf);
  buf->__pad[0] = p->cleanup_top;
  p->cleanup_top = reinterpret_cast<shim::CleanupBuffer*>(buf);
}

GREENRUN_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t* buf) {
  shim::PosixThread* p = own_chain();
  if (!p) return real::unregister_cancel(buf);
  p->cleanup_top = static_cast<shim::CleanupBuffer*>(buf->__pad[0]);
}

// Called by pthread_cleanup_pop's unwinding path after the handler ran: carry on unwinding.
GREENRUN_EXPORT void __pthread_unwind_next(__pthread_unwind_buf_t* buf) {
  shim::PosixThread* p = own_chain();
  if (!p) {
    real::unwind_next(buf);
    __builtin_unreachable();
  }
  shim::continue_unwind(p);
}
