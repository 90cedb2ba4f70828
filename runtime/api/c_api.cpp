// The C API: thin wrappers over the C++ API that turn its exceptions into errno, except the
// ones that must unwind a green thread's stack (GreenletExit, TimeoutError).
#include "greenrun.h"

#include <cerrno>
#include <cmath>

#include "api_internal.h"
#include "greenrun.hpp"

namespace greenrun::detail {
std::any result_of(const rt::GreenThread* t);
}

using greenrun::Greenlet;

struct greenrun_timeout {
  explicit greenrun_timeout(double s) : timeout(s) {}
  greenrun::Timeout timeout;
};
struct greenrun_event {
  greenrun::Event event;
};
struct greenrun_semaphore {
  explicit greenrun_semaphore(long v, bool bounded)
      : sem(bounded ? new greenrun::BoundedSemaphore(v) : new greenrun::Semaphore(v)) {}
  ~greenrun_semaphore() { delete sem; }
  greenrun::Semaphore* sem;
};
struct greenrun_async_result {
  greenrun::AsyncResultAny result;
};
struct greenrun_queue {
  explicit greenrun_queue(size_t n) : queue(n) {}
  greenrun::Queue<void*> queue;
};
struct greenrun_pool {
  explicit greenrun_pool(size_t n) : pool(n) {}
  greenrun::Pool pool;
};

namespace {

greenrun::rt::GreenThread* native(const greenrun_greenlet* g) {
  return reinterpret_cast<greenrun::rt::GreenThread*>(const_cast<greenrun_greenlet*>(g));
}
greenrun_greenlet* handle(Greenlet g) {  // hands the caller g's reference
  greenrun::rt::GreenThread* t = g.native();
  if (!t) return nullptr;
  greenrun::rt::retain(t);
  return reinterpret_cast<greenrun_greenlet*>(t);
}
Greenlet borrow(greenrun_greenlet* g) {
  greenrun::rt::retain(native(g));
  return Greenlet(native(g));
}
using greenrun::api::to_pointer;
Greenlet::Run wrap(greenrun_run_fn run) {
  return [run](std::any v) -> std::any { return run(to_pointer(v)); };
}

// Runs f; exceptions that must unwind the green thread pass, the rest become errno.
template <class F>
auto guarded(F&& f, decltype(f()) on_error) -> decltype(f()) {
  try {
    return f();
  } catch (const greenrun::GreenletExit&) {
    throw;
  } catch (const greenrun::TimeoutError& e) {
    if (e.source) throw;  // a Timeout the caller started
    errno = ETIMEDOUT;
  } catch (const greenrun::GreenletError&) {
    errno = EBUSY;
  } catch (const std::invalid_argument&) {
    errno = EINVAL;
  } catch (const std::bad_alloc&) {
    errno = ENOMEM;
  } catch (const greenrun::LoopExit&) {
    errno = EDEADLK;
  } catch (...) {
    errno = ECANCELED;
  }
  return on_error;
}

bool same_hub(const greenrun_greenlet* g) {
  // This OS thread has a hub exactly when it has a current thread.
  greenrun::rt::GreenThread* self = greenrun::rt::current();
  return self && native(g)->hub == self->hub;
}

}  // namespace

extern "C" {

greenrun_greenlet* greenrun_greenlet_new(greenrun_run_fn run, greenrun_greenlet* parent,
                                         size_t stack_size) noexcept {
  if (!run) {
    errno = EINVAL;
    return nullptr;
  }
  return guarded(
      [&] {
        Greenlet p = parent ? borrow(parent) : Greenlet();
        Greenlet g(wrap(run), parent ? &p : nullptr, stack_size);
        return handle(g);
      },
      static_cast<greenrun_greenlet*>(nullptr));
}

void greenrun_greenlet_release(greenrun_greenlet* g) noexcept {
  if (g) Greenlet adopted(native(g));  // the destructor applies greenlet's rules
}

// Greenlet::switch_to's semantics, without a std::any or a temporary handle (api::switch_pointer).
GREENRUN_SWITCH_RETURN void* greenrun_switch(greenrun_greenlet* g, void* value) {
  if (!g) return errno = EINVAL, nullptr;
  if (!same_hub(g)) return errno = EXDEV, nullptr;
  return guarded([&] { return greenrun::api::switch_pointer(native(g), value); },
                 static_cast<void*>(nullptr));
}

GREENRUN_SWITCH_RETURN void* greenrun_throw(greenrun_greenlet* g) {
  if (!g) return errno = EINVAL, nullptr;
  if (!same_hub(g)) return errno = EXDEV, nullptr;
  return guarded([&] { return to_pointer(borrow(g).throw_into()); }, static_cast<void*>(nullptr));
}

greenrun_greenlet* greenrun_current(void) noexcept { return handle(Greenlet::current()); }

greenrun_greenlet* greenrun_parent(greenrun_greenlet* g) noexcept {
  return g ? handle(borrow(g).parent()) : nullptr;
}

int greenrun_set_parent(greenrun_greenlet* g, greenrun_greenlet* parent) noexcept {
  if (!g || !parent) return errno = EINVAL, -1;
  if (native(g)->hub != native(parent)->hub) return errno = EXDEV, -1;
  return guarded(
      [&] {
        try {
          borrow(g).set_parent(borrow(parent));
          return 0;
        } catch (const greenrun::GreenletError&) {
          // Other OS threads were ruled out above, so this is the cycle (guarded() would say
          // EBUSY, which is what a switch reports).
          errno = EINVAL;
          return -1;
        }
      },
      -1);
}

int greenrun_dead(const greenrun_greenlet* g) noexcept { return g && native(g)->dead(); }
int greenrun_started(const greenrun_greenlet* g) noexcept { return g && native(g)->started(); }
uint64_t greenrun_id(const greenrun_greenlet* g) noexcept { return g ? native(g)->id : 0; }
void greenrun_set_name(greenrun_greenlet* g, const char* name) noexcept {
  if (g) greenrun::rt::set_name(native(g), name);
}
void* greenrun_result(const greenrun_greenlet* g) noexcept {
  if (!g || !native(g)->dead() || native(g)->is_root) return nullptr;
  return to_pointer(greenrun::detail::result_of(native(g)));
}

void greenrun_settrace(greenrun_trace_fn fn, void* user) noexcept {
  if (!fn) {
    greenrun::settrace(nullptr);
    return;
  }
  greenrun::settrace([fn, user](const char* event, const Greenlet& a, const Greenlet& b) {
    fn(event, reinterpret_cast<greenrun_greenlet*>(a.native()),
       reinterpret_cast<greenrun_greenlet*>(b.native()), user);
  });
}

greenrun_greenlet* greenrun_spawn(greenrun_run_fn run, void* arg, size_t stack_size) noexcept {
  if (!run) return errno = EINVAL, nullptr;
  return guarded(
      [&] {
        greenrun::SpawnOptions options;
        options.stack_size = stack_size;
        return handle(greenrun::spawn_any(
            [run, arg](std::any) -> std::any { return run(arg); }, options));
      },
      static_cast<greenrun_greenlet*>(nullptr));
}

int greenrun_join(greenrun_greenlet* g, double timeout) {
  if (!g || std::isnan(timeout)) return errno = EINVAL, -1;
  if (!same_hub(g)) return errno = EXDEV, -1;
  if (native(g) == greenrun::rt::current()) return errno = EDEADLK, -1;
  return guarded([&] { return borrow(g).join(timeout) ? 0 : (errno = ETIMEDOUT, -1); }, -1);
}

int greenrun_kill(greenrun_greenlet* g, int block, double timeout) {
  if (!g || std::isnan(timeout)) return errno = EINVAL, -1;
  if (!same_hub(g)) return errno = EXDEV, -1;
  return guarded(
      [&] {
        Greenlet target = borrow(g);
        target.kill(block != 0, timeout);
        return block && !target.dead() ? (errno = ETIMEDOUT, -1) : 0;
      },
      -1);
}

int greenrun_sleep(double seconds) {
  if (std::isnan(seconds) || seconds < 0) return errno = EINVAL, -1;
  greenrun::sleep(seconds);
  return 0;
}

void greenrun_dump_threads(int fd) noexcept { greenrun::dump_threads(fd); }

int greenrun_set_default_stack_size(size_t bytes) noexcept {
  return guarded(
      [&] {
        greenrun::set_default_stack_size(bytes);
        return 0;
      },
      -1);
}

size_t greenrun_minimum_stack_size(void) noexcept { return greenrun::minimum_stack_size(); }

greenrun_timeout* greenrun_timeout_start(double seconds) noexcept {
  if (std::isnan(seconds)) return errno = EINVAL, nullptr;
  return guarded([&] { return new greenrun_timeout(seconds); },
                 static_cast<greenrun_timeout*>(nullptr));
}

void greenrun_timeout_cancel(greenrun_timeout* t) noexcept { delete t; }

greenrun_event* greenrun_event_new(void) noexcept {
  return guarded([] { return new greenrun_event; }, static_cast<greenrun_event*>(nullptr));
}
void greenrun_event_free(greenrun_event* e) noexcept { delete e; }
void greenrun_event_set(greenrun_event* e) noexcept { e->event.set(); }
void greenrun_event_clear(greenrun_event* e) noexcept { e->event.clear(); }
int greenrun_event_is_set(const greenrun_event* e) noexcept { return e->event.is_set(); }
int greenrun_event_wait(greenrun_event* e, double timeout) {
  return guarded([&] { return e->event.wait(timeout) ? 1 : 0; }, -1);
}

greenrun_semaphore* greenrun_semaphore_new(long value, int bounded) noexcept {
  if (value < 0) return errno = EINVAL, nullptr;
  return guarded([&] { return new greenrun_semaphore(value, bounded != 0); },
                 static_cast<greenrun_semaphore*>(nullptr));
}
void greenrun_semaphore_free(greenrun_semaphore* s) noexcept { delete s; }
int greenrun_semaphore_acquire(greenrun_semaphore* s, int blocking, double timeout) {
  return guarded([&] { return s->sem->acquire(blocking != 0, timeout) ? 1 : 0; }, -1);
}
int greenrun_semaphore_release(greenrun_semaphore* s) noexcept {
  try {
    s->sem->release();
    return 0;
  } catch (const std::logic_error&) {
    return errno = EOVERFLOW, -1;
  }
}
long greenrun_semaphore_counter(const greenrun_semaphore* s) noexcept {
  return s->sem->counter();
}

greenrun_async_result* greenrun_async_result_new(void) noexcept {
  return guarded([] { return new greenrun_async_result; },
                 static_cast<greenrun_async_result*>(nullptr));
}
void greenrun_async_result_free(greenrun_async_result* r) noexcept { delete r; }
void greenrun_async_result_set(greenrun_async_result* r, void* value) noexcept {
  r->result.set(std::any(value));
}
int greenrun_async_result_get(greenrun_async_result* r, void** value, int block,
                              double timeout) {
  if (!block && !r->result.ready()) return errno = EAGAIN, -1;
  return guarded(
      [&] {
        void* v = to_pointer(r->result.get(true, timeout));
        if (value) *value = v;
        return 0;
      },
      -1);
}

greenrun_queue* greenrun_queue_new(size_t maxsize) noexcept {
  return guarded([&] { return new greenrun_queue(maxsize); },
                 static_cast<greenrun_queue*>(nullptr));
}
void greenrun_queue_free(greenrun_queue* q) noexcept { delete q; }
int greenrun_queue_put(greenrun_queue* q, void* item, int block, double timeout) {
  // QueueFull is caught inside: guarded() would turn it into ECANCELED first.
  return guarded(
      [&] {
        try {
          q->queue.put(item, block != 0, timeout);
          return 0;
        } catch (const greenrun::QueueFull&) {
          errno = block ? ETIMEDOUT : EAGAIN;
          return -1;
        }
      },
      -1);
}
int greenrun_queue_get(greenrun_queue* q, void** item, int block, double timeout) {
  if (!item) return errno = EINVAL, -1;
  int rc = guarded(
      [&] {
        try {
          *item = q->queue.get(block != 0, timeout);
          return 0;
        } catch (const greenrun::QueueEmpty&) {
          errno = block ? ETIMEDOUT : EAGAIN;
          return -1;
        }
      },
      -1);
  return rc;
}
size_t greenrun_queue_size(const greenrun_queue* q) noexcept { return q->queue.qsize(); }

greenrun_pool* greenrun_pool_new(size_t size) noexcept {
  if (size == 0) return errno = EINVAL, nullptr;
  return guarded([&] { return new greenrun_pool(size); }, static_cast<greenrun_pool*>(nullptr));
}
void greenrun_pool_free(greenrun_pool* p) noexcept { delete p; }
greenrun_greenlet* greenrun_pool_spawn(greenrun_pool* p, greenrun_run_fn run, void* arg) {
  if (!run) return errno = EINVAL, nullptr;
  return guarded(
      [&] { return handle(p->pool.spawn_any([run, arg](std::any) -> std::any { return run(arg); })); },
      static_cast<greenrun_greenlet*>(nullptr));
}
int greenrun_pool_join(greenrun_pool* p, double timeout) {
  return guarded([&] { return p->pool.join(timeout) ? 0 : (errno = ETIMEDOUT, -1); }, -1);
}
size_t greenrun_pool_running(const greenrun_pool* p) noexcept { return p->pool.running(); }

const char* greenrun_context_backend(void) noexcept { return greenrun::context_backend(); }

}  // extern "C"
