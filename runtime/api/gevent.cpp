// gevent semantics on top of the scheduler: spawn, join, kill, sleep and Timeout.
#include <unistd.h>

#include <cmath>
#include <cstddef>

#include "api_internal.h"
#include "diagnostic_output.h"
#include "greenrun.hpp"
#include "hub.h"
#include "stack_dump.h"

namespace greenrun {

namespace detail {
rt::GreenThread* make_greenlet(Greenlet::Run run, rt::GreenThread* parent, std::size_t stack_size);
std::any result_of(const rt::GreenThread* t);
std::exception_ptr error_of(const rt::GreenThread* t);
}  // namespace detail

namespace {

rt::GreenThread* checked(const Greenlet& g) {
  if (!g.valid()) throw GreenletError("greenrun: empty Greenlet handle");
  return g.native();
}

}  // namespace

Greenlet spawn_any(Greenlet::Run body, const SpawnOptions& options) {
  rt::Hub& hub = api::hub();
  rt::GreenThread* t = detail::make_greenlet(std::move(body), hub.hub_thread(), options.stack_size);
  if (options.name) rt::set_name(t, options.name);
  t->keeps_itself = true;  // runs to the end even when every handle is dropped
  rt::retain(t);
  hub.scheduler().ready(t);
  return Greenlet(t);
}

bool Greenlet::join(double timeout) const {
  rt::GreenThread* t = checked(*this);
  api::hub();
  rt::GreenThread* self = rt::current();
  if (t == self) throw GreenletError("greenrun: a green thread cannot join itself");
  if (t->hub != self->hub) throw GreenletError("greenrun: cannot join a green thread of another OS thread");
  if (t->dead()) return true;
  rt::Nanos deadline = api::deadline_for(timeout);
  rt::Waiter w;
  api::woken(self->hub->scheduler().wait_on(t->joiners, w, rt::WaitReason::join, t, deadline));
  api::raise_pending();
  return t->dead();
}

void Greenlet::kill(bool block, double timeout, std::exception_ptr error) const {
  rt::GreenThread* t = checked(*this);
  api::hub();
  rt::GreenThread* self = rt::current();
  if (t->dead()) return;
  if (!error) error = std::make_exception_ptr(GreenletExit{});
  if (t == self) std::rethrow_exception(error);
  if (t->hub != self->hub) throw GreenletError("greenrun: cannot kill a green thread of another OS thread");
  if (t->state == rt::ThreadState::created) {
    // Never started: start it only so that it dies at once, as gevent's kill does.
    t->pending_throw = error;
    if (t->keeps_itself) {
      self->hub->scheduler().ready(t);
    } else {  // a greenlet nobody switched to yet: it dies without running
      t->pending_throw = nullptr;
      t->state = rt::ThreadState::dead;
      t->hub->stacks().release(t->stack);
      return;
    }
  } else {
    self->hub->scheduler().interrupt(t, error);
  }
  if (block) join(timeout);
}

bool Greenlet::successful() const {
  rt::GreenThread* t = checked(*this);
  return t->dead() && !detail::error_of(t);
}

std::exception_ptr Greenlet::exception() const { return detail::error_of(checked(*this)); }

std::any Greenlet::get(double timeout) const {
  rt::GreenThread* t = checked(*this);
  if (!join(timeout)) throw TimeoutError(nullptr);
  if (auto e = detail::error_of(t)) std::rethrow_exception(e);
  return detail::result_of(t);
}

std::vector<Greenlet> joinall(const std::vector<Greenlet>& threads, double timeout) {
  rt::Nanos deadline = api::deadline_for(timeout);
  std::vector<Greenlet> done;
  for (const Greenlet& g : threads) {
    double left = -1;
    if (deadline != rt::kNever) left = std::max(0.0, (deadline - rt::monotonic_now()) / 1e9);
    if (g.join(left)) done.push_back(g);
  }
  return done;
}

void killall(const std::vector<Greenlet>& threads, bool block, double timeout) {
  for (const Greenlet& g : threads) g.kill(false);
  if (block) joinall(threads, timeout);
}

void dump_threads(int fd) {
  rt::Hub* hub = rt::Hub::get_if_exists();
  if (!hub) {
    rt::write_diagnostic(fd, {"greenrun: stack dump: no green threads on this OS thread\n"});
    return;
  }
  rt::dump_threads(*hub, fd);
}

void sleep(double seconds) {
  if (std::isnan(seconds) || seconds < 0)
    throw std::invalid_argument("greenrun: sleep needs a duration >= 0 seconds");
  rt::Scheduler& s = api::scheduler();
  if (seconds == 0) {
    api::raise_pending();
    s.yield();
  } else {
    api::woken(s.park(rt::WaitReason::sleep, nullptr, rt::deadline_after(seconds)));
  }
  api::raise_pending();
}

void set_default_stack_size(std::size_t bytes) {
  if (bytes < rt::StackPool::kMinimumSize)
    throw std::invalid_argument("greenrun: stack size " + std::to_string(bytes) +
                                " is below the minimum of " +
                                std::to_string(rt::StackPool::kMinimumSize) + " bytes");
  api::hub().set_default_stack_size(bytes);
}

std::size_t minimum_stack_size() { return rt::StackPool::kMinimumSize; }

// ---- Timeout ----

struct Timeout::Node {
  rt::TimerNode timer;
  rt::GreenThread* target = nullptr;
  std::exception_ptr raised;  // what we put in target->pending_throw, to take back on cancel
  const Timeout* owner = nullptr;
};

namespace {
void timeout_fired(rt::TimerNode* timer) {
  auto* node = reinterpret_cast<Timeout::Node*>(timer);  // timer is the first member
  node->raised = std::make_exception_ptr(TimeoutError(node->owner));
  node->target->hub->scheduler().interrupt(node->target, node->raised);
}
}  // namespace

Timeout::Timeout(double seconds, bool start_now) : seconds_(seconds), node_(new Node) {
  if (std::isnan(seconds)) {
    delete node_;
    throw std::invalid_argument("greenrun: Timeout of NaN seconds");
  }
  node_->owner = this;
  node_->timer.fire = &timeout_fired;
  if (start_now) start();
}

Timeout::~Timeout() {
  cancel();
  delete node_;
}

void Timeout::start() {
  if (pending()) throw GreenletError("greenrun: Timeout already started");
  rt::Hub& hub = api::hub();
  node_->target = rt::current();
  node_->raised = nullptr;
  if (seconds_ < 0) return;  // gevent: a negative timeout never fires
  node_->timer.deadline = rt::deadline_after(seconds_);
  hub.scheduler().timers().add(&node_->timer);
}

void Timeout::cancel() {
  if (node_->timer.queued()) node_->target->hub->scheduler().timers().remove(&node_->timer);
  // Fired but not yet raised (the thread was already on its way back): take it back.
  if (node_->raised && node_->target && node_->target->pending_throw == node_->raised)
    node_->target->pending_throw = nullptr;
  node_->raised = nullptr;
}

bool Timeout::pending() const { return node_->timer.queued(); }

}  // namespace greenrun
