// PosixThread records: the registry, the body every green pthread runs, and how a thread ends
// (return, pthread_exit, cancellation), which is glibc's design done per green thread: a forced
// unwind whose stop function longjmps into pthread_cleanup_push buffers as their frames are
// left, and finally into the landing buffer at the bottom of the thread's stack.
#include "posix_thread.h"

#include <setjmp.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <unordered_map>

#include "diagnostics.h"
#include "hub.h"

namespace greenrun::shim {
namespace {

// Only the hub's OS thread reads or writes these.
std::unordered_map<pthread_t, PosixThread*>& registry() {
  static auto* r = new std::unordered_map<pthread_t, PosixThread*>();  // leaked: see STYLE
  return *r;
}

struct CleanupLink {  // how we use glibc's __pthread_unwind_buf_t: its __pad[0] links buffers
  static CleanupBuffer* prev(CleanupBuffer* b) {
    return static_cast<CleanupBuffer*>(reinterpret_cast<__pthread_unwind_buf_t*>(b)->__pad[0]);
  }
};

[[noreturn]] void jump_to(void* jump_buffer) {
  siglongjmp(reinterpret_cast<__jmp_buf_tag*>(jump_buffer), 1);
}

_Unwind_Reason_Code unwind_stop(int, _Unwind_Action actions, _Unwind_Exception_Class,
                                _Unwind_Exception*, _Unwind_Context* context, void* param) {
  auto* p = static_cast<PosixThread*>(param);
  auto cfa = static_cast<std::uintptr_t>(_Unwind_GetCFA(context));
  // A buffer lives in the frame of the function that pushed it: once the frame being unwound
  // reaches above the buffer's address, that function's frame is being left.
  bool end = actions & _UA_END_OF_STACK;
  if (CleanupBuffer* top = p->cleanup_top; top && (end || cfa > reinterpret_cast<std::uintptr_t>(top))) {
    p->cleanup_top = CleanupLink::prev(top);
    jump_to(reinterpret_cast<__pthread_unwind_buf_t*>(top)->__cancel_jmp_buf);
  }
  if (p->exit_landing && (end || cfa > reinterpret_cast<std::uintptr_t>(p->exit_landing)))
    jump_to(p->exit_landing);
  if (end) finish_root(p);  // the main thread has no landing: its stack ends in libc
  return _URC_NO_REASON;
}

void unwind_cleanup(_Unwind_Reason_Code, _Unwind_Exception*) {}

}  // namespace

PosixThread* self() {
  rt::GreenThread* t = rt::current();
  return t ? static_cast<PosixThread*>(t->posix) : nullptr;
}

PosixThread* find(pthread_t handle) {
  auto& r = registry();
  auto it = r.find(handle);
  return it == r.end() ? nullptr : it->second;
}

// By green thread id, for diagnostics about owners of locks (only the hub's OS thread).
std::unordered_map<std::uint64_t, PosixThread*>& by_id() {
  static auto* r = new std::unordered_map<std::uint64_t, PosixThread*>();  // leaked: see STYLE
  return *r;
}

pid_t green_tid(const rt::GreenThread* g) {
  return g->is_root ? getpid() : kFirstGreenTid + static_cast<pid_t>(g->id);
}

void forget_other_threads(PosixThread* survivor) {
  auto& r = registry();
  r.clear();  // the other records are leaked: their threads never run again
  by_id().clear();
  if (survivor) {
    r[survivor->handle] = survivor;
    by_id()[survivor->green->id] = survivor;
    survivor->tid = getpid();  // the child's only thread: its id is the new process's id
  }
}

PosixThread* find_by_tid(pid_t tid) {
  if (tid == getpid()) {  // the main thread, or a fork child's only thread
    PosixThread* p = self();
    if (p && p->tid == tid) return p;
    auto* root = static_cast<PosixThread*>(rt::Hub::get().root()->posix);
    return root && root->tid == tid ? root : nullptr;
  }
  if (tid < kFirstGreenTid) return nullptr;
  auto it = by_id().find(static_cast<std::uint64_t>(tid - kFirstGreenTid));
  return it == by_id().end() || it->second->tid != tid ? nullptr : it->second;
}

void register_thread(PosixThread* p) {
  p->tid = green_tid(p->green);
  registry()[p->handle] = p;
  by_id()[p->green->id] = p;
}

void unregister_thread(PosixThread* p) {
  registry().erase(p->handle);
  by_id().erase(p->green->id);
  p->magic = 0;  // a stale handle must not look green
}

bool green_thread_finished(std::uint64_t id) {
  auto it = by_id().find(id);
  return it == by_id().end() || it->second->finished;
}

bool refuse_green_handle(pthread_t handle, const char* call) {
  if (handle == 0 || *reinterpret_cast<const std::uint64_t*>(handle) != PosixThread::kMagic)
    return false;
  char message[160];
  std::snprintf(message, sizeof message,
                "%s called on native OS thread %d (which runs no green threads) names a thread "
                "that glibc cannot see: refused with ESRCH; the thread named is",
                call, static_cast<int>(gettid()));
  rt::warn(reinterpret_cast<PosixThread*>(handle)->green, message,
           "call it from the program's own threads (all of them are green), or pass a native "
           "thread's pthread_t");
  return true;
}

void continue_unwind(PosixThread* p) {
  p->unwind.exception_class = 0;  // not catchable by type, like glibc's
  p->unwind.exception_cleanup = &unwind_cleanup;
  _Unwind_ForcedUnwind(&p->unwind, &unwind_stop, p);
  // Only reached if the unwinder could not walk the stack at all.
  rt::fatal(p->green, "cannot unwind the stack of an exiting thread",
            "build the program with unwind tables (-fasynchronous-unwind-tables)");
}

void exit_thread(void* result) {
  PosixThread* p = self();
  p->exiting = true;
  p->result = result;
  continue_unwind(p);
}

void test_cancel() {
  PosixThread* p = self();
  if (p && p->pending_signals) [[unlikely]] take_pending_signals(p);
  if (p && p->cancel_pending && p->cancel_enabled && !p->exiting) exit_thread(PTHREAD_CANCELED);
}

CancellationPoint::CancellationPoint() : p_(self()) {
  test_cancel();
  if (p_) p_->at_cancellation_point = true;
}

CancellationPoint::~CancellationPoint() {
  if (p_) p_->at_cancellation_point = false;
}

}  // namespace greenrun::shim
