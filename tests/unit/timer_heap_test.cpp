// TimerHeap: ordering, removal from anywhere, fire_due, and the kNotQueued invariant.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "timer_heap.h"

using greenrun::rt::kNever;
using greenrun::rt::Nanos;
using greenrun::rt::TimerHeap;
using greenrun::rt::TimerNode;

namespace {

// A node that records its firing in a shared log.
struct Timer {
  TimerNode node;
  int tag = 0;
  std::vector<int>* log = nullptr;
  TimerHeap* heap = nullptr;
  Timer* remove_when_fired = nullptr;  // a fire callback that changes the heap
  Timer* add_when_fired = nullptr;
};

void record(TimerNode* n) {
  auto* t = reinterpret_cast<Timer*>(n);  // node is the first member
  t->log->push_back(t->tag);
  if (t->remove_when_fired) t->heap->remove(&t->remove_when_fired->node);
  if (t->add_when_fired) t->heap->add(&t->add_when_fired->node);
}

struct Timers {
  explicit Timers(const std::vector<Nanos>& deadlines) : timers(deadlines.size()) {
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
      timers[i].node.deadline = deadlines[i];
      timers[i].node.fire = &record;
      timers[i].tag = static_cast<int>(i);
      timers[i].log = &fired;
      timers[i].heap = &heap;
    }
  }
  void add_all() {
    for (auto& t : timers) heap.add(&t.node);
  }
  TimerHeap heap;
  std::vector<Timer> timers;
  std::vector<int> fired;
};

}  // namespace

TEST_CASE("timer_heap: an empty heap has no earliest deadline") {
  TimerHeap heap;
  CHECK(heap.empty());
  CHECK(heap.size() == 0);
  CHECK(heap.earliest() == kNever);
  heap.fire_due(kNever);  // nothing to fire, nothing breaks
  CHECK(heap.empty());
}

TEST_CASE("timer_heap: earliest() is the smallest deadline whatever the insertion order") {
  Timers t({50, 20, 90, 10, 70, 30});
  Nanos expected_earliest[] = {50, 20, 20, 10, 10, 10};
  for (std::size_t i = 0; i < t.timers.size(); ++i) {
    t.heap.add(&t.timers[i].node);
    CHECK(t.timers[i].node.queued());
    CHECK(t.heap.earliest() == expected_earliest[i]);
  }
  CHECK(t.heap.size() == 6);
}

TEST_CASE("timer_heap: fire_due fires only due nodes, in deadline order") {
  Timers t({50, 20, 90, 10, 70, 30, 20});
  t.add_all();
  t.heap.fire_due(9);
  CHECK(t.fired.empty());
  CHECK(t.heap.size() == 7);

  t.heap.fire_due(50);  // 10, 20, 20, 30, 50 are due; 70 and 90 are not
  REQUIRE(t.fired.size() == 5);
  CHECK(t.fired[0] == 3);
  CHECK(((t.fired[1] == 1 && t.fired[2] == 6) || (t.fired[1] == 6 && t.fired[2] == 1)));
  CHECK(t.fired[3] == 5);
  CHECK(t.fired[4] == 0);
  for (int fired : t.fired) CHECK_FALSE(t.timers[fired].node.queued());
  CHECK(t.timers[4].node.queued());
  CHECK(t.timers[2].node.queued());
  CHECK(t.heap.earliest() == 70);

  t.heap.fire_due(kNever);
  REQUIRE(t.fired.size() == 7);
  CHECK(t.fired[5] == 4);
  CHECK(t.fired[6] == 2);
  CHECK(t.heap.empty());
}

TEST_CASE("timer_heap: removing from the middle keeps the others in order") {
  Timers t({10, 20, 30, 40, 50, 60, 70, 80});
  t.add_all();
  t.heap.remove(&t.timers[3].node);  // 40
  t.heap.remove(&t.timers[0].node);  // 10, the root
  t.heap.remove(&t.timers[7].node);  // 80, probably the last slot
  CHECK_FALSE(t.timers[3].node.queued());
  CHECK_FALSE(t.timers[0].node.queued());
  CHECK(t.heap.size() == 5);
  CHECK(t.heap.earliest() == 20);
  t.heap.fire_due(kNever);
  CHECK(t.fired == std::vector<int>{1, 2, 4, 5, 6});
}

TEST_CASE("timer_heap: removing twice, or removing a fired node, is harmless") {
  Timers t({10, 20, 30});
  t.add_all();
  t.heap.remove(&t.timers[1].node);
  t.heap.remove(&t.timers[1].node);
  CHECK(t.heap.size() == 2);
  t.heap.fire_due(10);
  CHECK(t.fired == std::vector<int>{0});
  t.heap.remove(&t.timers[0].node);  // already fired and unlinked
  CHECK(t.heap.size() == 1);
  CHECK(t.heap.earliest() == 30);
  // A removed node can be added again.
  t.heap.add(&t.timers[1].node);
  t.heap.fire_due(kNever);
  CHECK(t.fired == std::vector<int>{0, 1, 2});
}

TEST_CASE("timer_heap: a fire callback may remove a due node or add a new one") {
  Timers t({10, 20, 30, 5});
  t.timers[0].remove_when_fired = &t.timers[1];  // 10 cancels 20 although 20 is due
  t.timers[2].add_when_fired = &t.timers[3];     // 30 adds 5, which is due at once
  t.heap.add(&t.timers[0].node);
  t.heap.add(&t.timers[1].node);
  t.heap.add(&t.timers[2].node);
  t.heap.fire_due(100);
  CHECK(t.fired == std::vector<int>{0, 2, 3});
  CHECK(t.heap.empty());
}

TEST_CASE("timer_heap: random adds and removes come out sorted") {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<Nanos> deadline(0, 1000);
  std::vector<Nanos> deadlines(2000);
  for (auto& d : deadlines) d = deadline(rng);
  Timers t(deadlines);
  t.add_all();
  std::vector<int> kept;
  for (auto& timer : t.timers) {
    if (rng() % 2) t.heap.remove(&timer.node);
    else kept.push_back(timer.tag);
  }
  CHECK(t.heap.size() == kept.size());
  for (Nanos now = 0; now <= 1000; now += 37) t.heap.fire_due(now);
  t.heap.fire_due(kNever);
  REQUIRE(t.fired.size() == kept.size());
  for (std::size_t i = 1; i < t.fired.size(); ++i)
    CHECK(deadlines[t.fired[i - 1]] <= deadlines[t.fired[i]]);
  std::sort(t.fired.begin(), t.fired.end());
  CHECK(t.fired == kept);
}
