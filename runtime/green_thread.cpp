// Green threads: the current one, the canary check, reference counts and names. The switch
// itself, with the per-thread state that must travel with it, is inline in hub.h.
#include "green_thread.h"

#include <cxxabi.h>

#include <cstdio>
#include <cstring>

#include "diagnostics.h"
#include "hub.h"

namespace greenrun::rt {

namespace detail {
constinit thread_local GreenThread* t_current = nullptr;
}  // namespace detail

using detail::t_current;

void check_stack(const GreenThread* self) {
  if (StackPool::canary_intact(self->stack)) return;
  // Same wording as the fault handler's report, so both name the size that was too small.
  char what[160];
  std::snprintf(what, sizeof what,
                "stack overflow (stack of %zu KiB exhausted: the canary below it was overwritten)",
                self->stack.size / 1024);
  fatal(self, what,
        "give the thread a larger stack (GREENRUN_STACK_SIZE, pthread_attr_setstacksize or the "
        "stack_size argument)");
}

RuntimeCall::RuntimeCall() {
  if (t_current) {
    previous_ = t_current->in_runtime;
    t_current->in_runtime = true;
  }
}
RuntimeCall::~RuntimeCall() {
  if (t_current) t_current->in_runtime = previous_;
}

void retain(GreenThread* t) { ++t->refs; }

void release(GreenThread* t) {
  if (--t->refs > 0) return;
  if (t->dead() || t->state == ThreadState::created) t->hub->destroy_thread(t);
}

void set_name(GreenThread* t, const char* name) {
  std::strncpy(t->name, name ? name : "", sizeof t->name - 1);
  t->name[sizeof t->name - 1] = '\0';
}

const char* to_string(ThreadState s) {
  switch (s) {
    case ThreadState::created: return "created";
    case ThreadState::ready: return "ready";
    case ThreadState::running: return "running";
    case ThreadState::parked: return "parked";
    case ThreadState::dead: return "dead";
    case ThreadState::away: return "away on an OS thread of its own (in a system call)";
  }
  return "?";
}

const char* to_string(WaitReason r) {
  switch (r) {
    case WaitReason::none: return "nothing";
    case WaitReason::sleep: return "sleeping";
    case WaitReason::yield: return "yielding";
    case WaitReason::join: return "joining a thread";
    case WaitReason::switched_away: return "switched away (greenlet)";
    case WaitReason::event: return "waiting on an event";
    case WaitReason::async_result: return "waiting on an async result";
    case WaitReason::semaphore: return "waiting on a semaphore";
    case WaitReason::lock: return "waiting on a lock";
    case WaitReason::queue_get: return "waiting to get from a queue";
    case WaitReason::queue_put: return "waiting to put into a queue";
    case WaitReason::pool_slot: return "waiting for a pool slot";
    case WaitReason::mutex: return "waiting on a mutex";
    case WaitReason::condition: return "waiting on a condition variable";
    case WaitReason::rwlock: return "waiting on a rwlock";
    case WaitReason::barrier: return "waiting on a barrier";
    case WaitReason::fd_readable: return "waiting for fd readable";
    case WaitReason::fd_writable: return "waiting for fd writable";
    case WaitReason::threadpool: return "in the threadpool";
    case WaitReason::child_process: return "waiting for a child process";
    case WaitReason::signal: return "waiting for a signal";
  }
  return "?";
}

}  // namespace greenrun::rt
