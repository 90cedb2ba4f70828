// The C API (greenrun.h): the scenarios of c_api_test.c, written in C, plus every function's
// error convention (-1 or NULL with errno), checked by errno name.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "c_api_test.h"
#include "greenrun.h"
#include "greenrun.hpp"

namespace {

std::string errno_name(int e) {
  const char* name = strerrorname_np(e);
  return name ? name : std::to_string(e);
}

// What a C API call returned, and errno right after it (by name, so failures read well).
template <class T>
struct Outcome {
  T value;
  std::string error;
};
template <class F>
auto outcome(F&& call) {
  errno = 0;
  auto value = call();
  return Outcome<decltype(value)>{value, errno_name(errno)};
}

void* as_ptr(std::intptr_t v) { return reinterpret_cast<void*>(v); }
std::intptr_t as_int(void* p) { return reinterpret_cast<std::intptr_t>(p); }

void* return_arg(void* arg) { return arg; }
void* throws_runtime_error(void*) { throw std::runtime_error("from a run function"); }

void* wait_for_event(void* event) {
  greenrun_event_wait(static_cast<greenrun_event*>(event), -1);
  return as_ptr(1);
}

void* join_self(void* out) {
  greenrun_greenlet* self = greenrun_current();
  int rc = greenrun_join(self, -1);
  *static_cast<int*>(out) = rc == -1 ? errno : 0;
  greenrun_greenlet_release(self);
  return nullptr;
}

struct Trace {
  std::vector<std::string> events;
  std::uint64_t main_id = 0, target_id = 0;
};
void record_trace(const char* event, greenrun_greenlet* origin, greenrun_greenlet* target,
                  void* user) {
  auto* t = static_cast<Trace*>(user);
  std::string who = [&](std::uint64_t id) {
    return id == t->main_id ? "main" : id == t->target_id ? "g" : "?";
  }(greenrun_id(origin));
  std::string whom = greenrun_id(target) == t->main_id     ? "main"
                     : greenrun_id(target) == t->target_id ? "g"
                                                           : "?";
  t->events.push_back(std::string(event) + " " + who + "->" + whom);
}

}  // namespace

// ---- greenlets ----

TEST_CASE("c_api: a C greenlet ping-pongs values with main, dies, and keeps its result") {
  c_pingpong out;
  c_greenlet_pingpong(&out);
  CHECK(out.parent_is_main);
  CHECK_FALSE(out.started_before);
  CHECK(out.received[0] == 2);
  CHECK(out.received[1] == 4);
  CHECK(out.received[2] == 6);
  CHECK_FALSE(out.dead_before_last);
  CHECK(out.last == 500);
  CHECK(out.dead_after_last);
  CHECK(out.result == 500);
}

TEST_CASE("c_api: releasing a suspended C greenlet unwinds it without resuming it") {
  c_released out;
  c_release_suspended(&out);
  CHECK(out.started);
  CHECK_FALSE(out.dead_before_release);
  CHECK_FALSE(out.resumed_after_switch);
}

TEST_CASE("c_api: greenlet_new refuses a missing function and a too-small stack") {
  auto no_run = outcome([] { return greenrun_greenlet_new(nullptr, nullptr, 0); });
  CHECK(no_run.value == nullptr);
  CHECK(no_run.error == "EINVAL");
  auto small = outcome(
      [] { return greenrun_greenlet_new(return_arg, nullptr, greenrun_minimum_stack_size() - 1); });
  CHECK(small.value == nullptr);
  CHECK(small.error == "EINVAL");
  CHECK(greenrun_minimum_stack_size() == greenrun::minimum_stack_size());
  auto stack = outcome([] { return greenrun_set_default_stack_size(1024); });
  CHECK(stack.value == -1);
  CHECK(stack.error == "EINVAL");
}

TEST_CASE("c_api: parents: the creator by default, set_parent refuses a cycle with EINVAL") {
  greenrun_greenlet* main = greenrun_current();
  greenrun_greenlet* a = greenrun_greenlet_new(return_arg, nullptr, 0);
  greenrun_greenlet* b = greenrun_greenlet_new(return_arg, a, 0);
  greenrun_greenlet* pa = greenrun_parent(a);
  greenrun_greenlet* pb = greenrun_parent(b);
  CHECK(greenrun_id(pa) == greenrun_id(main));
  CHECK(greenrun_id(pb) == greenrun_id(a));
  auto cycle = outcome([&] { return greenrun_set_parent(a, b); });
  CHECK(cycle.value == -1);
  CHECK(cycle.error == "EINVAL");
  CHECK(greenrun_set_parent(b, main) == 0);
  greenrun_greenlet* pb2 = greenrun_parent(b);
  CHECK(greenrun_id(pb2) == greenrun_id(main));
  // b's value now goes to main.
  CHECK(as_int(greenrun_switch(b, as_ptr(17))) == 17);
  CHECK(greenrun_dead(b));
  CHECK(as_int(greenrun_result(b)) == 17);
  for (auto* g : {pa, pb, pb2, a, b, main}) greenrun_greenlet_release(g);
}

TEST_CASE("c_api: switch errors: an exception coming back, a busy greenlet, another OS thread") {
  greenrun_greenlet* thrower = greenrun_greenlet_new(throws_runtime_error, nullptr, 0);
  auto raised = outcome([&] { return greenrun_switch(thrower, nullptr); });
  CHECK(raised.value == nullptr);
  CHECK(raised.error == "ECANCELED");
  CHECK(greenrun_dead(thrower));
  greenrun_greenlet_release(thrower);

  greenrun_event* never = greenrun_event_new();
  greenrun_greenlet* waiting = greenrun_spawn(wait_for_event, never, 0);
  greenrun_sleep(0);  // it parks on the event
  auto busy = outcome([&] { return greenrun_switch(waiting, nullptr); });
  CHECK(busy.value == nullptr);
  CHECK(busy.error == "EBUSY");
  greenrun_event_set(never);
  CHECK(greenrun_join(waiting, 5) == 0);
  greenrun_greenlet_release(waiting);
  greenrun_event_free(never);

  std::promise<greenrun_greenlet*> made;
  std::promise<void> finished;
  std::thread owner([&] {
    greenrun_greenlet* g = greenrun_greenlet_new(return_arg, nullptr, 0);
    made.set_value(g);
    finished.get_future().wait();
    greenrun_greenlet_release(g);
  });
  greenrun_greenlet* foreign = made.get_future().get();
  auto cross = outcome([&] { return greenrun_switch(foreign, nullptr); });
  CHECK(cross.value == nullptr);
  CHECK(cross.error == "EXDEV");
  auto cross_join = outcome([&] { return greenrun_join(foreign, 0); });
  CHECK(cross_join.value == -1);
  CHECK(cross_join.error == "EXDEV");
  finished.set_value();
  owner.join();
}

TEST_CASE("c_api: greenrun_throw raises GreenletExit in a suspended greenlet") {
  greenrun_greenlet* main = greenrun_current();
  static greenrun_greenlet* s_main;
  static bool s_resumed;
  s_main = main;
  s_resumed = false;
  struct Body {
    static void* run(void*) {
      greenrun_switch(s_main, as_ptr(1));
      s_resumed = true;  // not reached: the throw unwinds this frame
      return as_ptr(2);
    }
  };
  greenrun_greenlet* h = greenrun_greenlet_new(&Body::run, nullptr, 0);
  CHECK(as_int(greenrun_switch(h, nullptr)) == 1);
  auto thrown = outcome([&] { return greenrun_throw(h); });
  CHECK(thrown.value == nullptr);  // GreenletExit comes back as the (empty) value, not an error
  CHECK(thrown.error == "0");
  CHECK(greenrun_dead(h));
  CHECK_FALSE(s_resumed);
  greenrun_greenlet_release(h);
  greenrun_greenlet_release(main);
}

TEST_CASE("c_api: settrace reports switches to a C callback") {
  Trace trace;
  greenrun_greenlet* main = greenrun_current();
  greenrun_greenlet* g = greenrun_greenlet_new(return_arg, nullptr, 0);
  trace.main_id = greenrun_id(main);
  trace.target_id = greenrun_id(g);
  greenrun_settrace(record_trace, &trace);
  greenrun_switch(g, as_ptr(3));
  greenrun_settrace(nullptr, nullptr);
  CHECK(trace.events == std::vector<std::string>{"switch main->g", "switch g->main"});
  greenrun_greenlet_release(g);
  greenrun_greenlet_release(main);
}

// ---- scheduling ----

TEST_CASE("c_api: spawned C threads pass items through a queue and are joined") {
  c_pipeline out;
  c_spawn_queue_pipeline(&out);
  CHECK(out.join_producer == 0);
  CHECK(out.join_consumer == 0);
  CHECK(out.producer_result == 5);
  REQUIRE(out.count == 5);
  for (int i = 0; i < 5; ++i) CHECK(out.got[i] == 10 * (i + 1));
}

TEST_CASE("c_api: join: self is EDEADLK, a timeout is ETIMEDOUT") {
  greenrun_greenlet* main = greenrun_current();
  auto self = outcome([&] { return greenrun_join(main, -1); });
  CHECK(self.value == -1);
  CHECK(self.error == "EDEADLK");
  greenrun_greenlet_release(main);

  int inside = 0;
  greenrun_greenlet* g = greenrun_spawn(join_self, &inside, 0);
  CHECK(greenrun_join(g, -1) == 0);
  CHECK(errno_name(inside) == "EDEADLK");
  greenrun_greenlet_release(g);

  greenrun_event* never = greenrun_event_new();
  greenrun_greenlet* waiting = greenrun_spawn(wait_for_event, never, 0);
  auto late = outcome([&] { return greenrun_join(waiting, 0.005); });
  CHECK(late.value == -1);
  CHECK(late.error == "ETIMEDOUT");
  auto nan = outcome([&] { return greenrun_join(waiting, std::nan("")); });
  CHECK(nan.value == -1);
  CHECK(nan.error == "EINVAL");
  greenrun_event_set(never);
  CHECK(greenrun_join(waiting, 5) == 0);
  CHECK(as_int(greenrun_result(waiting)) == 1);
  greenrun_greenlet_release(waiting);
  greenrun_event_free(never);
}

TEST_CASE("c_api: kill unwinds a thread blocked in a C wait") {
  greenrun_event* never = greenrun_event_new();
  greenrun_greenlet* g = greenrun_spawn(wait_for_event, never, 0);
  greenrun_sleep(0);
  CHECK_FALSE(greenrun_dead(g));
  CHECK(greenrun_kill(g, 1, -1) == 0);
  CHECK(greenrun_dead(g));
  CHECK(greenrun_result(g) == nullptr);  // it never returned its 1
  greenrun_greenlet_release(g);
  greenrun_event_free(never);
}

TEST_CASE("c_api: sleep refuses negative and NaN durations with EINVAL") {
  auto negative = outcome([] { return greenrun_sleep(-1); });
  CHECK(negative.value == -1);
  CHECK(negative.error == "EINVAL");
  auto nan = outcome([] { return greenrun_sleep(std::nan("")); });
  CHECK(nan.value == -1);
  CHECK(nan.error == "EINVAL");
  CHECK(greenrun_sleep(0) == 0);
  CHECK(greenrun_sleep(0.001) == 0);
}

TEST_CASE("c_api: a Timeout started from C unwinds the wait it interrupts") {
  auto nan = outcome([] { return greenrun_timeout_start(std::nan("")); });
  CHECK(nan.value == nullptr);
  CHECK(nan.error == "EINVAL");
  greenrun_event* never = greenrun_event_new();
  greenrun_timeout* t = greenrun_timeout_start(0.005);
  REQUIRE(t != nullptr);
  CHECK_THROWS_AS(greenrun_event_wait(never, -1), greenrun::TimeoutError);
  greenrun_timeout_cancel(t);
  greenrun_timeout* cancelled = greenrun_timeout_start(0.005);
  greenrun_timeout_cancel(cancelled);
  CHECK(greenrun_event_wait(never, 0.02) == 0);  // times out normally: the Timeout is gone
  greenrun_event_free(never);
}

// ---- synchronisation ----

TEST_CASE("c_api: event set, wait, clear, and wait timing out") {
  greenrun_event* e = greenrun_event_new();
  REQUIRE(e != nullptr);
  CHECK_FALSE(greenrun_event_is_set(e));
  CHECK(greenrun_event_wait(e, 0.005) == 0);
  greenrun_greenlet* waiter = greenrun_spawn(wait_for_event, e, 0);
  greenrun_sleep(0);
  greenrun_event_set(e);
  CHECK(greenrun_event_is_set(e));
  CHECK(greenrun_join(waiter, 5) == 0);
  CHECK(greenrun_event_wait(e, -1) == 1);
  greenrun_event_clear(e);
  CHECK_FALSE(greenrun_event_is_set(e));
  greenrun_greenlet_release(waiter);
  greenrun_event_free(e);
}

TEST_CASE("c_api: semaphore counts, refuses negative values and over-release") {
  auto negative = outcome([] { return greenrun_semaphore_new(-1, 0); });
  CHECK(negative.value == nullptr);
  CHECK(negative.error == "EINVAL");

  greenrun_semaphore* s = greenrun_semaphore_new(1, 1);
  CHECK(greenrun_semaphore_counter(s) == 1);
  CHECK(greenrun_semaphore_acquire(s, 1, -1) == 1);
  CHECK(greenrun_semaphore_acquire(s, 0, -1) == 0);
  CHECK(greenrun_semaphore_acquire(s, 1, 0.005) == 0);
  CHECK(greenrun_semaphore_release(s) == 0);
  auto over = outcome([&] { return greenrun_semaphore_release(s); });
  CHECK(over.value == -1);
  CHECK(over.error == "EOVERFLOW");
  greenrun_semaphore_free(s);

  greenrun_semaphore* unbounded = greenrun_semaphore_new(0, 0);
  CHECK(greenrun_semaphore_release(unbounded) == 0);
  CHECK(greenrun_semaphore_release(unbounded) == 0);
  CHECK(greenrun_semaphore_counter(unbounded) == 2);
  greenrun_semaphore_free(unbounded);
}

TEST_CASE("c_api: queue put/get, and EAGAIN or ETIMEDOUT when empty or full") {
  greenrun_queue* q = greenrun_queue_new(1);
  void* item = nullptr;
  auto empty_now = outcome([&] { return greenrun_queue_get(q, &item, 0, -1); });
  CHECK(empty_now.value == -1);
  CHECK(empty_now.error == "EAGAIN");
  auto empty_later = outcome([&] { return greenrun_queue_get(q, &item, 1, 0.005); });
  CHECK(empty_later.value == -1);
  CHECK(empty_later.error == "ETIMEDOUT");
  auto no_slot = outcome([&] { return greenrun_queue_get(q, nullptr, 0, -1); });
  CHECK(no_slot.value == -1);
  CHECK(no_slot.error == "EINVAL");

  CHECK(greenrun_queue_put(q, as_ptr(1), 0, -1) == 0);
  CHECK(greenrun_queue_size(q) == 1);
  auto full_now = outcome([&] { return greenrun_queue_put(q, as_ptr(2), 0, -1); });
  CHECK(full_now.value == -1);
  CHECK(full_now.error == "EAGAIN");
  auto full_later = outcome([&] { return greenrun_queue_put(q, as_ptr(2), 1, 0.005); });
  CHECK(full_later.value == -1);
  CHECK(full_later.error == "ETIMEDOUT");
  CHECK(greenrun_queue_size(q) == 1);
  CHECK(greenrun_queue_get(q, &item, 1, -1) == 0);
  CHECK(as_int(item) == 1);
  CHECK(greenrun_queue_size(q) == 0);
  greenrun_queue_free(q);
}

TEST_CASE("c_api: async result: EAGAIN when not ready, ETIMEDOUT on timeout, then the value") {
  greenrun_async_result* r = greenrun_async_result_new();
  void* value = nullptr;
  auto now = outcome([&] { return greenrun_async_result_get(r, &value, 0, -1); });
  CHECK(now.value == -1);
  CHECK(now.error == "EAGAIN");
  auto later = outcome([&] { return greenrun_async_result_get(r, &value, 1, 0.005); });
  CHECK(later.value == -1);
  CHECK(later.error == "ETIMEDOUT");
  struct Setter {
    static void* run(void* r) {
      greenrun_sleep(0.001);
      greenrun_async_result_set(static_cast<greenrun_async_result*>(r), as_ptr(99));
      return nullptr;
    }
  };
  greenrun_greenlet* setter = greenrun_spawn(&Setter::run, r, 0);
  CHECK(greenrun_async_result_get(r, &value, 1, 5) == 0);
  CHECK(as_int(value) == 99);
  CHECK(greenrun_join(setter, 5) == 0);
  greenrun_greenlet_release(setter);
  greenrun_async_result_free(r);
}

TEST_CASE("c_api: pool caps running threads; join times out with ETIMEDOUT, then succeeds") {
  auto zero = outcome([] { return greenrun_pool_new(0); });
  CHECK(zero.value == nullptr);
  CHECK(zero.error == "EINVAL");

  greenrun_pool* pool = greenrun_pool_new(2);
  greenrun_event* go = greenrun_event_new();
  std::vector<greenrun_greenlet*> members;
  for (int i = 0; i < 2; ++i) members.push_back(greenrun_pool_spawn(pool, wait_for_event, go));
  CHECK(greenrun_pool_running(pool) == 2);
  auto blocked = outcome([&] { return greenrun_pool_join(pool, 0.005); });
  CHECK(blocked.value == -1);
  CHECK(blocked.error == "ETIMEDOUT");
  greenrun_event_set(go);
  CHECK(greenrun_pool_join(pool, 5) == 0);
  CHECK(greenrun_pool_running(pool) == 0);
  for (auto* g : members) {
    CHECK(greenrun_dead(g));
    greenrun_greenlet_release(g);
  }
  greenrun_event_free(go);
  greenrun_pool_free(pool);
}

TEST_CASE("c_api: the context backend is named") {
  const char* name = greenrun_context_backend();
  REQUIRE(name != nullptr);
  CHECK(std::string(name) == greenrun::context_backend());
  CHECK((std::string(name) == "x86_64" || std::string(name) == "aarch64" ||
         std::string(name) == "ucontext"));
}
