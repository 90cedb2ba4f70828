// Event, Semaphore, AsyncResult, the Queue's waiting room and Pool, on wait lists.
// Hand-over rule: a waiter that was woken for a resource (a semaphore count, a pool slot)
// owns it even if a kill arrives before it runs again; the kill is raised at its next wait.
#include <algorithm>
#include <memory>

#include "api_internal.h"
#include "greenrun.hpp"

namespace greenrun {

// ---- Event ----

struct Event::State {
  bool flag = false;
  rt::WaitList waiters;
};

Event::Event() : state_(new State) {}
Event::~Event() { delete state_; }

void Event::set() {
  state_->flag = true;
  if (!state_->waiters.empty()) api::scheduler().wake_all(state_->waiters);
}

void Event::clear() { state_->flag = false; }
bool Event::is_set() const { return state_->flag; }

bool Event::wait(double timeout) {
  if (state_->flag) return true;
  rt::Nanos deadline = api::deadline_for(timeout);
  rt::Waiter w;
  rt::Wake why =
      api::scheduler().wait_on(state_->waiters, w, rt::WaitReason::event, this, deadline);
  bool set_while_waiting = api::woken(why);
  api::raise_pending();
  // Woken means set() ran, even if clear() followed before we got here (gevent and
  // threading.Event since bpo-13502 report the wake-up, not the flag's later state).
  return set_while_waiting || state_->flag;
}

// ---- Semaphore ----

struct Semaphore::State {
  long counter;
  rt::WaitList waiters;
};

Semaphore::Semaphore(long value) : state_(nullptr) {
  if (value < 0) throw std::invalid_argument("greenrun: semaphore value must be >= 0");
  state_ = new State{value, {}};
}

Semaphore::~Semaphore() { delete state_; }

bool Semaphore::acquire(bool blocking, double timeout) {
  if (state_->counter > 0) {
    --state_->counter;
    return true;
  }
  if (!blocking) return false;
  rt::Nanos deadline = api::deadline_for(timeout);
  rt::Waiter w;
  rt::Wake why =
      api::scheduler().wait_on(state_->waiters, w, rt::WaitReason::semaphore, this, deadline);
  if (why == rt::Wake::woken) return true;  // release() handed us the count
  api::woken(why);
  return false;
}

void Semaphore::release() {
  if (!api::scheduler().wake_one(state_->waiters)) ++state_->counter;
}

long Semaphore::counter() const { return state_->counter; }

void BoundedSemaphore::release() {
  if (state_->waiters.empty() && state_->counter >= bound_)
    throw std::logic_error("greenrun: semaphore released too many times");
  Semaphore::release();
}

// ---- AsyncResult ----

struct AsyncResultAny::State {
  bool ready = false;
  std::any value;
  std::exception_ptr error;
  rt::WaitList waiters;
};

AsyncResultAny::AsyncResultAny() : state_(new State) {}
AsyncResultAny::~AsyncResultAny() { delete state_; }

void AsyncResultAny::set(std::any value) {
  state_->value = std::move(value);
  state_->error = nullptr;
  state_->ready = true;
  if (!state_->waiters.empty()) api::scheduler().wake_all(state_->waiters);
}

void AsyncResultAny::set_exception(std::exception_ptr error) {
  state_->error = std::move(error);
  state_->ready = true;
  if (!state_->waiters.empty()) api::scheduler().wake_all(state_->waiters);
}

bool AsyncResultAny::ready() const { return state_->ready; }
bool AsyncResultAny::successful() const { return state_->ready && !state_->error; }
std::exception_ptr AsyncResultAny::exception() const { return state_->error; }

bool AsyncResultAny::wait(double timeout) {
  if (state_->ready) return true;
  rt::Nanos deadline = api::deadline_for(timeout);
  rt::Waiter w;
  api::woken(
      api::scheduler().wait_on(state_->waiters, w, rt::WaitReason::async_result, this, deadline));
  api::raise_pending();
  return state_->ready;
}

std::any AsyncResultAny::get(bool block, double timeout) {
  if (!state_->ready) {
    if (!block) throw GreenletError("greenrun: AsyncResult is not ready");
    if (!wait(timeout)) throw TimeoutError(nullptr);
  }
  if (state_->error) std::rethrow_exception(state_->error);
  return state_->value;
}

// ---- Queue waiting room ----

struct QueueWaiters::State {
  rt::WaitList getters;
  rt::WaitList putters;
};

QueueWaiters::QueueWaiters() : state_(new State) {}
QueueWaiters::~QueueWaiters() { delete state_; }

namespace {
bool wait_in(rt::WaitList& list, rt::WaitReason reason, const void* on, double timeout) {
  rt::Nanos deadline = api::deadline_for(timeout);
  if (deadline != rt::kNever && deadline <= rt::monotonic_now()) return false;
  rt::Waiter w;
  rt::Wake why = api::scheduler().wait_on(list, w, reason, on, deadline);
  if (why == rt::Wake::woken) return true;
  return api::woken(why);
}
}  // namespace

bool QueueWaiters::wait_for_item(double timeout) {
  return wait_in(state_->getters, rt::WaitReason::queue_get, this, timeout);
}
bool QueueWaiters::wait_for_space(double timeout) {
  return wait_in(state_->putters, rt::WaitReason::queue_put, this, timeout);
}
void QueueWaiters::item_added() {
  if (!state_->getters.empty()) api::scheduler().wake_one(state_->getters);
}
void QueueWaiters::space_freed() {
  if (!state_->putters.empty()) api::scheduler().wake_one(state_->putters);
}

// ---- Pool ----

// Shared by the Pool and every member still running, so a Pool may go away before them.
struct Pool::State {
  explicit State(std::size_t n) : size(n), slots(static_cast<long>(n)) {}
  void drop() {
    if (--refs == 0) delete this;
  }
  int refs = 1;
  std::size_t size;
  std::size_t running = 0;
  Semaphore slots;
  std::vector<Greenlet> members;  // spawned and maybe still running
};

Pool::Pool(std::size_t size) : state_(nullptr) {
  if (size == 0) throw std::invalid_argument("greenrun: a Pool needs a size of at least 1");
  state_ = new State(size);
}

Pool::~Pool() { state_->drop(); }

namespace {
// Held by a member's function object: the slot is freed when that object is destroyed, which
// happens when the member finishes, raises, or is killed before it ever ran.
struct PoolSlot {
  explicit PoolSlot(Pool::State* s) : state(s) {}
  PoolSlot(const PoolSlot&) = delete;
  PoolSlot& operator=(const PoolSlot&) = delete;
  ~PoolSlot();
  Pool::State* state;
};
}  // namespace

Greenlet Pool::spawn_any(Greenlet::Run body) {
  state_->slots.acquire();
  ++state_->running;
  ++state_->refs;
  auto slot = std::make_shared<PoolSlot>(state_);
  Greenlet g = greenrun::spawn_any(
      [slot, body = std::move(body)](std::any arg) mutable { return body(std::move(arg)); });
  auto& m = state_->members;
  m.erase(std::remove_if(m.begin(), m.end(), [](const Greenlet& x) { return x.dead(); }),
          m.end());
  m.push_back(g);
  return g;
}

PoolSlot::~PoolSlot() {
  --state->running;
  state->slots.release();
  state->drop();
}

bool Pool::join(double timeout) {
  std::vector<Greenlet> members = state_->members;
  return joinall(members, timeout).size() == members.size();
}

std::size_t Pool::size() const { return state_->size; }
std::size_t Pool::running() const { return state_->running; }

void Pool::wait_available(double timeout) {
  if (!state_->slots.acquire(true, timeout)) throw TimeoutError(nullptr);
  state_->slots.release();
}

}  // namespace greenrun
