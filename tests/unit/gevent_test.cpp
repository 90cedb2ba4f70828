// gevent semantics: spawn/join/kill/sleep, Timeout, and the synchronisation primitives
// (Event, Semaphore, Lock, AsyncResult, Queue, Pool), checked against gevent's documented
// behaviour and its tutorial's outputs. Every case lets the threads it spawned finish, so the
// cases stay independent although they share this OS thread's hub.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <any>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "clock.h"
#include "greenrun.hpp"
#include "test_support.h"

using namespace greenrun;

using test_support::as;
using test_support::Cleanup;

namespace {

std::string errno_name(int e) {
  const char* name = strerrorname_np(e);
  return name ? name : std::to_string(e);
}

double seconds_since(rt::Nanos start) { return (rt::monotonic_now() - start) / 1e9; }

}  // namespace

// ---- spawn, join, get ----

TEST_CASE("gevent: spawn runs at the next switch and get returns the value") {
  bool ran = false;
  Greenlet g = spawn([&] {
    ran = true;
    return 42;
  });
  CHECK_FALSE(ran);  // spawning does not switch
  CHECK(as<int>(g.get()) == 42);
  CHECK(ran);
  CHECK(g.dead());
  CHECK(g.ready());
  CHECK(g.successful());
  CHECK(as<int>(spawn([](int a, int b) { return a * b; }, 6, 7).get()) == 42);
}

TEST_CASE("gevent: get raises what the green thread raised") {
  Greenlet g = spawn([]() -> int { throw std::runtime_error("failed on purpose"); });
  CHECK_THROWS_WITH_AS(g.get(), "failed on purpose", std::runtime_error);
  CHECK(g.dead());
  CHECK_FALSE(g.successful());
  CHECK(g.exception() != nullptr);
}

TEST_CASE("gevent: joinall waits for every thread, or returns those done by the timeout") {
  std::vector<int> finished;
  std::vector<Greenlet> threads;
  for (int i : {3, 1, 2})
    threads.push_back(spawn([&finished, i] {
      greenrun::sleep(0.001 * i);
      finished.push_back(i);
    }));
  auto done = joinall(threads);
  CHECK(done.size() == 3);
  CHECK(finished == std::vector<int>{1, 2, 3});
  for (auto& g : threads) CHECK(g.dead());

  Event release;
  Greenlet quick = spawn([] {});
  Greenlet stuck = spawn([&] { release.wait(); });
  done = joinall({quick, stuck}, 0.02);
  REQUIRE(done.size() == 1);
  CHECK(done[0] == quick);
  release.set();
  CHECK(stuck.join());
}

TEST_CASE("gevent: join with a timeout returns false while the thread still runs") {
  Event go;
  Greenlet g = spawn([&] { go.wait(); });
  CHECK_FALSE(g.join(0.01));
  CHECK_FALSE(g.dead());
  try {
    g.get(0.01);
    FAIL("get should have timed out");
  } catch (const TimeoutError& e) {
    CHECK(e.source == nullptr);
  }
  go.set();
  CHECK(g.join(5));
  CHECK(g.dead());
}

TEST_CASE("gevent: a green thread cannot join itself") {
  CHECK_THROWS_AS(Greenlet::current().join(), GreenletError);
  bool refused = false;
  Greenlet g = spawn([&] {
    try {
      Greenlet::current().join();
    } catch (const GreenletError&) {
      refused = true;
    }
  });
  g.join();
  CHECK(refused);
}

// ---- kill ----

TEST_CASE("gevent: kill raises GreenletExit in the target, and its cleanup runs") {
  Event never;
  bool cleaned = false, caught = false, after_wait = false;
  Greenlet g = spawn([&] {
    Cleanup c(cleaned);
    try {
      never.wait();
      after_wait = true;
    } catch (const GreenletExit&) {
      caught = true;
      throw;
    }
  });
  greenrun::sleep(0);  // let it start and park
  REQUIRE(static_cast<bool>(g));
  g.kill();  // blocks until it is dead
  CHECK(g.dead());
  CHECK(caught);
  CHECK(cleaned);
  CHECK_FALSE(after_wait);
  CHECK(g.successful());  // gevent: a killed greenlet's value is the GreenletExit
  CHECK(g.get().type() == typeid(GreenletExit));
}

TEST_CASE("gevent: kill with another exception raises that one in the target") {
  std::string caught;
  Greenlet g = spawn([&] {
    try {
      greenrun::sleep(10);
    } catch (const std::runtime_error& e) {
      caught = e.what();
    }
  });
  greenrun::sleep(0);
  g.kill(true, -1, std::make_exception_ptr(std::runtime_error("custom kill")));
  CHECK(g.dead());
  CHECK(caught == "custom kill");
}

TEST_CASE("gevent: a spawned thread killed before it runs never runs") {
  bool ran = false;
  Greenlet g = spawn([&] { ran = true; });
  g.kill();
  CHECK(g.dead());
  CHECK_FALSE(ran);
  CHECK(g.get().type() == typeid(GreenletExit));

  Greenlet h = spawn([&] { ran = true; });
  h.kill(false);  // not blocking: it dies when it gets its turn
  CHECK(h.join(5));
  CHECK_FALSE(ran);
}

TEST_CASE("gevent: killall kills every thread") {
  Event never;
  int cleaned = 0;
  std::vector<Greenlet> threads;
  for (int i = 0; i < 4; ++i)
    threads.push_back(spawn([&] {
      try {
        never.wait();
      } catch (const GreenletExit&) {
        ++cleaned;
        throw;
      }
    }));
  greenrun::sleep(0);
  killall(threads);
  CHECK(cleaned == 4);
  for (auto& g : threads) CHECK(g.dead());
}

// ---- sleep ----

TEST_CASE("gevent: sleep(0) lets every other ready thread run once, in FIFO order") {
  std::string out;
  auto worker = [&](char name) {
    for (int i = 0; i < 3; ++i) {
      out += name;
      out += static_cast<char>('0' + i);
      out += ' ';
      greenrun::sleep(0);
    }
  };
  Greenlet a = spawn(worker, 'a');
  Greenlet b = spawn(worker, 'b');
  for (int i = 0; i < 3; ++i) {
    out += 'm';
    out += static_cast<char>('0' + i);
    out += ' ';
    greenrun::sleep(0);
  }
  joinall({a, b});
  CHECK(out == "m0 a0 b0 m1 a1 b1 m2 a2 b2 ");
}

TEST_CASE("gevent: sleep refuses a negative or NaN duration and never returns early") {
  CHECK_THROWS_AS(greenrun::sleep(-1), std::invalid_argument);
  CHECK_THROWS_AS(greenrun::sleep(-0.001), std::invalid_argument);
  CHECK_THROWS_AS(greenrun::sleep(std::nan("")), std::invalid_argument);
  rt::Nanos start = rt::monotonic_now();
  greenrun::sleep(0.02);
  double slept = seconds_since(start);
  CHECK(slept >= 0.02);
  CHECK(slept < 10);  // a sanity bound only: the machine is shared
}

TEST_CASE("gevent: a thread sleeping in a loop of sleep(0) still sees timers fire") {
  bool done = false;
  Greenlet g = spawn([&] {
    greenrun::sleep(0.005);
    done = true;
  });
  rt::Nanos start = rt::monotonic_now();
  while (!done && seconds_since(start) < 10) greenrun::sleep(0);
  CHECK(done);
  g.join();
}

// ---- Timeout ----

TEST_CASE("gevent: a Timeout raises TimeoutError, naming itself, in the thread that started it") {
  Event never;
  bool raised = false;
  {
    Timeout t(0.01);
    CHECK(t.pending());
    try {
      never.wait();
    } catch (const TimeoutError& e) {
      raised = true;
      CHECK(e.source == &t);
    }
    CHECK_FALSE(t.pending());
  }
  CHECK(raised);

  // The same in a spawned thread blocked on a queue.
  Queue<int> q;
  Greenlet g = spawn([&] {
    Timeout t(0.01);
    try {
      q.get();
      return std::string("got an item");
    } catch (const TimeoutError& e) {
      return std::string(e.source == &t ? "mine" : "someone else's");
    }
  });
  CHECK(as<std::string>(g.get()) == "mine");
}

TEST_CASE("gevent: a cancelled or destroyed Timeout does not fire") {
  {
    Timeout t(0.005);
    t.cancel();
    CHECK_FALSE(t.pending());
    CHECK_NOTHROW(greenrun::sleep(0.02));
  }
  {
    { Timeout t(0.005); }
    CHECK_NOTHROW(greenrun::sleep(0.02));
  }
  {
    Timeout t(0.005, false);  // not started
    CHECK_FALSE(t.pending());
    CHECK_NOTHROW(greenrun::sleep(0.02));
    t.start();
    CHECK(t.pending());
    CHECK_THROWS_AS(greenrun::sleep(1), TimeoutError);
  }
  {
    Timeout t(-1);  // gevent: a negative timeout never fires
    CHECK_NOTHROW(greenrun::sleep(0.01));
  }
}

TEST_CASE("gevent: nested Timeouts: whichever expires first is the source") {
  Event never;
  {
    Timeout outer(0.01);
    Timeout inner(30);
    try {
      never.wait();
      FAIL("the wait should have been interrupted");
    } catch (const TimeoutError& e) {
      CHECK(e.source == &outer);
      CHECK(e.source != &inner);
    }
  }
  {
    Timeout outer(30);
    bool inner_caught = false;
    {
      Timeout inner(0.01);
      try {
        never.wait();
      } catch (const TimeoutError& e) {
        inner_caught = e.source == &inner;
      }
    }
    CHECK(inner_caught);
    CHECK(outer.pending());  // the outer one is still running, and is cancelled on scope exit
  }
  CHECK_NOTHROW(greenrun::sleep(0.01));
}

// ---- Event ----

TEST_CASE("gevent: Event set wakes every waiter; clear resets; wait times out") {
  Event e;
  CHECK_FALSE(e.is_set());
  CHECK_FALSE(e.wait(0.01));
  CHECK_FALSE(e.wait(0));
  std::vector<int> woken;
  std::vector<Greenlet> waiters;
  for (int i = 0; i < 3; ++i)
    waiters.push_back(spawn([&, i] {
      if (e.wait()) woken.push_back(i);
    }));
  greenrun::sleep(0);
  CHECK(woken.empty());
  e.set();
  CHECK(e.is_set());
  joinall(waiters);
  CHECK(woken == std::vector<int>{0, 1, 2});
  CHECK(e.wait());  // set: returns at once
  CHECK(e.wait(0));
  e.clear();
  CHECK_FALSE(e.is_set());
  CHECK_FALSE(e.wait(0.005));
}

TEST_CASE("gevent: a waiter woken by set() reports true even if clear() came before it ran") {
  // gevent (like threading.Event since bpo-13502) reports the wake-up, not the flag's later state.
  Event e;
  std::vector<bool> results;
  std::vector<Greenlet> waiters;
  for (int i = 0; i < 2; ++i) waiters.push_back(spawn([&] { results.push_back(e.wait(5)); }));
  greenrun::sleep(0);
  e.set();
  e.clear();
  joinall(waiters);
  CHECK(results == std::vector<bool>{true, true});
}

// ---- Semaphore, BoundedSemaphore, Lock ----

TEST_CASE("gevent: the tutorial's BoundedSemaphore(2) example prints what gevent prints") {
  // sem = BoundedSemaphore(2)
  // def worker1(n): sem.acquire(); print acquired; sleep(0); sem.release(); print released
  // def worker2(n): with sem: print acquired; sleep(0)
  //                 print released
  // pool = Pool(); pool.map(worker1, xrange(0,2)); pool.map(worker2, xrange(3,6))
  std::vector<std::string> out;
  BoundedSemaphore sem(2);
  auto worker1 = [&](int n) {
    sem.acquire();
    out.push_back("Worker " + std::to_string(n) + " acquired semaphore");
    greenrun::sleep(0);
    sem.release();
    out.push_back("Worker " + std::to_string(n) + " released semaphore");
  };
  auto worker2 = [&](int n) {
    {
      std::lock_guard<BoundedSemaphore> with(sem);
      out.push_back("Worker " + std::to_string(n) + " acquired semaphore");
      greenrun::sleep(0);
    }
    out.push_back("Worker " + std::to_string(n) + " released semaphore");
  };
  Pool pool(100);
  for (int n = 0; n < 2; ++n) pool.spawn(worker1, n);  // pool.map: spawn each, wait for all
  pool.join();
  for (int n = 3; n < 6; ++n) pool.spawn(worker2, n);
  pool.join();
  CHECK(out == std::vector<std::string>{
                   "Worker 0 acquired semaphore", "Worker 1 acquired semaphore",
                   "Worker 0 released semaphore", "Worker 1 released semaphore",
                   "Worker 3 acquired semaphore", "Worker 4 acquired semaphore",
                   "Worker 3 released semaphore", "Worker 4 released semaphore",
                   "Worker 5 acquired semaphore", "Worker 5 released semaphore"});
  CHECK(sem.counter() == 2);
}

TEST_CASE("gevent: Semaphore(1) hands over to the waiting worker, so two workers alternate") {
  Semaphore sem(1);
  std::vector<std::string> out;
  int inside = 0, most_inside = 0;
  auto worker = [&](int n) {
    for (int round = 0; round < 2; ++round) {
      sem.acquire();
      most_inside = std::max(most_inside, ++inside);
      out.push_back(std::to_string(n) + " acquired");
      greenrun::sleep(0);
      out.push_back(std::to_string(n) + " released");
      --inside;
      sem.release();
    }
  };
  joinall({spawn(worker, 0), spawn(worker, 1)});
  CHECK(out == std::vector<std::string>{"0 acquired", "0 released", "1 acquired", "1 released",
                                        "0 acquired", "0 released", "1 acquired", "1 released"});
  CHECK(most_inside == 1);
  CHECK(sem.counter() == 1);
}

TEST_CASE("gevent: Semaphore acquire without blocking or with a timeout can fail") {
  CHECK_THROWS_AS(Semaphore(-1), std::invalid_argument);
  Semaphore sem(1);
  CHECK(sem.acquire(false));
  CHECK(sem.locked());
  CHECK_FALSE(sem.acquire(false));
  CHECK_FALSE(sem.acquire(true, 0.01));
  sem.release();
  sem.release();  // an unbounded semaphore may go above its initial value
  CHECK(sem.counter() == 2);
}

TEST_CASE("gevent: BoundedSemaphore refuses to be released too many times") {
  BoundedSemaphore sem(2);
  CHECK_THROWS_AS(sem.release(), std::logic_error);
  CHECK(sem.counter() == 2);
  sem.acquire();
  sem.release();
  CHECK_THROWS_AS(sem.release(), std::logic_error);
  Lock lock;
  CHECK_THROWS_AS(lock.release(), std::logic_error);
}

TEST_CASE("gevent: Lock lets one thread at a time into its critical section") {
  auto run = [](bool use_lock) {
    Lock lock;
    int inside = 0, most_inside = 0;
    std::vector<Greenlet> threads;
    for (int i = 0; i < 4; ++i)
      threads.push_back(spawn([&] {
        for (int round = 0; round < 3; ++round) {
          if (use_lock) lock.acquire();
          most_inside = std::max(most_inside, ++inside);
          greenrun::sleep(0);
          --inside;
          if (use_lock) lock.release();
        }
      }));
    joinall(threads);
    return most_inside;
  };
  CHECK(run(false) > 1);  // the workload does overlap without the lock...
  CHECK(run(true) == 1);  // ...and does not with it
}

// ---- AsyncResult ----

TEST_CASE("gevent: AsyncResult set by one green thread reaches every getter") {
  AsyncResult<int> result;
  std::vector<int> got;
  auto getter = [&] { got.push_back(result.get()); };
  std::vector<Greenlet> threads{spawn(getter), spawn(getter)};
  threads.push_back(spawn([&] {
    greenrun::sleep(0.005);
    result.set(7);
  }));
  CHECK_FALSE(result.ready());
  joinall(threads);
  CHECK(got == std::vector<int>{7, 7});
  CHECK(result.ready());
  CHECK(result.successful());
  CHECK(result.get() == 7);
  CHECK(result.get(false) == 7);
}

TEST_CASE("gevent: AsyncResult set_exception is raised by get; not ready raises or times out") {
  AsyncResult<int> result;
  CHECK_THROWS_AS(result.get(false), GreenletError);
  try {
    result.get(true, 0.005);
    FAIL("get should have timed out");
  } catch (const TimeoutError& e) {
    CHECK(e.source == nullptr);
  }
  Greenlet getter = spawn([&] { return result.get(); });
  greenrun::sleep(0);
  result.set_exception(std::make_exception_ptr(std::domain_error("no value")));
  CHECK_THROWS_WITH_AS(getter.get(), "no value", std::domain_error);
  CHECK(result.ready());
  CHECK_FALSE(result.successful());
  CHECK(result.exception() != nullptr);
  CHECK_THROWS_AS(result.get(), std::domain_error);
}

// ---- Queue ----

TEST_CASE("gevent: Queue carries items in order from a producer to a consumer") {
  Queue<int> q(2);
  std::vector<int> got;
  std::size_t largest = 0;
  Greenlet producer = spawn([&] {
    for (int i = 0; i < 10; ++i) {
      q.put(i);
      largest = std::max(largest, q.qsize());
    }
    q.put(-1);
  });
  Greenlet consumer = spawn([&] {
    for (int v; (v = q.get()) != -1;) got.push_back(v);
  });
  joinall({producer, consumer});
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(largest <= 2);
  CHECK(q.empty());
}

TEST_CASE("gevent: Queue put blocks while the queue is full") {
  Queue<int> q(2);
  int put = 0;
  Greenlet producer = spawn([&] {
    for (int i = 0; i < 3; ++i) {
      q.put(i);
      ++put;
    }
  });
  greenrun::sleep(0);
  CHECK(put == 2);
  CHECK(q.full());
  CHECK_FALSE(producer.dead());
  CHECK(q.get() == 0);
  greenrun::sleep(0);
  CHECK(put == 3);
  CHECK(producer.join(5));
  CHECK(q.get() == 1);
  CHECK(q.get() == 2);
}

TEST_CASE("gevent: Queue timeouts and nowait variants raise QueueEmpty and QueueFull") {
  Queue<int> q(1);
  CHECK_THROWS_AS(q.get_nowait(), QueueEmpty);
  CHECK_THROWS_AS(q.get(true, 0.005), QueueEmpty);
  CHECK_THROWS_AS(q.get(false), QueueEmpty);
  q.put_nowait(1);
  CHECK_THROWS_AS(q.put_nowait(2), QueueFull);
  CHECK_THROWS_AS(q.put(2, true, 0.005), QueueFull);
  CHECK(q.qsize() == 1);
  CHECK(q.get_nowait() == 1);

  // A getter blocked with a timeout is served by a put that comes in time.
  Greenlet getter = spawn([&] { return q.get(true, 5); });
  greenrun::sleep(0);
  q.put(9);
  CHECK(as<int>(getter.get()) == 9);
}

// ---- Pool ----

TEST_CASE("gevent: Pool(n) runs at most n threads at once and join waits for them") {
  CHECK_THROWS_AS(Pool(0), std::invalid_argument);
  Pool pool(3);
  CHECK(pool.size() == 3);
  int running = 0, most = 0, completed = 0;
  for (int i = 0; i < 10; ++i) {
    pool.spawn([&] {
      most = std::max(most, ++running);
      greenrun::sleep(0.001);
      --running;
      ++completed;
    });
    CHECK(pool.running() <= 3);
  }
  CHECK(pool.join(30));
  CHECK(most == 3);
  CHECK(completed == 10);
  CHECK(pool.running() == 0);
  CHECK(pool.free_count() == 3);
}

TEST_CASE("gevent: Pool wait_available waits for a slot, or times out") {
  Pool pool(1);
  Event go;
  pool.spawn([&] { go.wait(); });
  CHECK(pool.full());
  CHECK_THROWS_AS(pool.wait_available(0.005), TimeoutError);
  Greenlet opener = spawn([&] {
    greenrun::sleep(0.002);
    go.set();
  });
  pool.wait_available(5);
  CHECK_FALSE(pool.full());
  CHECK(pool.join(5));
  opener.join();
}

// ---- LoopExit, exception state, errno ----

TEST_CASE("gevent: waiting for something nobody can do raises LoopExit in the main thread") {
  Event nobody;
  CHECK_THROWS_AS(nobody.wait(), LoopExit);

  // Also when the main thread waits for a thread that waits for nobody; afterwards both can
  // go on normally.
  Greenlet stuck = spawn([&] { return nobody.wait(); });
  CHECK_THROWS_AS(stuck.join(), LoopExit);
  CHECK_FALSE(stuck.dead());
  nobody.set();
  CHECK(as<bool>(stuck.get(5)));
}

TEST_CASE("gevent: a thread parked in a catch block keeps its own current exception") {
  auto current_what = [] {
    std::exception_ptr e = std::current_exception();
    if (!e) return std::string("none");
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      return std::string(ex.what());
    }
  };
  std::vector<std::string> seen;
  Greenlet a = spawn([&] {
    try {
      throw std::runtime_error("A");
    } catch (...) {
      seen.push_back("a before: " + current_what());
      greenrun::sleep(0);  // b throws and catches meanwhile
      seen.push_back("a after: " + current_what());
    }
    seen.push_back("a outside: " + current_what());
  });
  Greenlet b = spawn([&] {
    seen.push_back("b start: " + current_what());
    try {
      throw std::runtime_error("B");
    } catch (...) {
      seen.push_back("b inside: " + current_what());
    }
    seen.push_back("b outside: " + current_what());
  });
  joinall({a, b});
  CHECK(seen == std::vector<std::string>{"a before: A", "b start: none", "b inside: B",
                                         "b outside: none", "a after: A", "a outside: none"});
  CHECK(current_what() == "none");
}

namespace {
struct ParksWhileUnwinding {
  int* before;
  int* after;
  ~ParksWhileUnwinding() {
    *before = std::uncaught_exceptions();
    greenrun::sleep(0);  // another thread runs while this one is mid-unwind
    *after = std::uncaught_exceptions();
  }
};
}  // namespace

TEST_CASE("gevent: std::uncaught_exceptions() is kept per green thread across a switch") {
  int before = -1, after = -1, other_outside = -1, other_inside = -1;
  std::string caught;
  Greenlet unwinding = spawn([&] {
    try {
      ParksWhileUnwinding guard{&before, &after};
      throw std::runtime_error("unwinding");
    } catch (const std::runtime_error& e) {
      caught = e.what();
    }
  });
  Greenlet other = spawn([&] {
    other_outside = std::uncaught_exceptions();
    try {
      struct Probe {
        int* out;
        ~Probe() { *out = std::uncaught_exceptions(); }
      } probe{&other_inside};
      throw std::logic_error("other");
    } catch (const std::logic_error&) {
    }
  });
  joinall({unwinding, other});
  CHECK(before == 1);
  CHECK(other_outside == 0);  // not the 1 of the thread that is mid-unwind
  CHECK(other_inside == 1);
  CHECK(after == 1);
  CHECK(caught == "unwinding");
  CHECK(std::uncaught_exceptions() == 0);
}

TEST_CASE("gevent: errno is kept per green thread across a switch") {
  int seen_a = 0, seen_b = 0;
  Greenlet a = spawn([&] {
    errno = EDOM;
    greenrun::sleep(0);
    greenrun::sleep(0.001);  // a trip through the hub and the loop's own system calls
    seen_a = errno;
  });
  Greenlet b = spawn([&] {
    errno = EILSEQ;
    greenrun::sleep(0);
    seen_b = errno;
  });
  errno = ERANGE;
  greenrun::sleep(0);
  CHECK(errno_name(errno) == "ERANGE");
  joinall({a, b});
  CHECK(errno_name(seen_a) == "EDOM");
  CHECK(errno_name(seen_b) == "EILSEQ");
}

TEST_CASE("gevent: set_default_stack_size refuses sizes below the minimum") {
  CHECK_THROWS_AS(set_default_stack_size(minimum_stack_size() - 1), std::invalid_argument);
  SpawnOptions small;
  small.stack_size = minimum_stack_size() - 1;
  CHECK_THROWS_AS(spawn_any([](std::any) -> std::any { return {}; }, small),
                  std::invalid_argument);
  SpawnOptions named;
  named.name = "worker";
  Greenlet g = spawn_any([](std::any) -> std::any { return Greenlet::current().name(); }, named);
  CHECK(as<std::string>(g.get()) == "worker");
}
