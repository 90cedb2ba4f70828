// The hub: wake-ups from other OS threads, the loop's turn while threads keep each other busy,
// and blocking work on the threadpool.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "greenrun.hpp"
#include "hub.h"
#include "threadpool.h"

using namespace greenrun;

namespace {

struct WakeTask : rt::RemoteTask {
  rt::GreenThread* target = nullptr;
  bool ran_on_hub_thread = false;
  std::thread::id hub_thread;
};

}  // namespace

TEST_CASE("hub: another OS thread wakes a parked green thread through post()") {
  rt::Hub& hub = rt::Hub::get();
  WakeTask task;
  task.target = rt::current();
  task.hub_thread = std::this_thread::get_id();
  task.run = [](rt::RemoteTask* t) {
    auto* w = static_cast<WakeTask*>(t);
    w->ran_on_hub_thread = std::this_thread::get_id() == w->hub_thread;
    w->target->hub->scheduler().ready(w->target);
  };
  hub.add_external_waker();  // without it the park below would be reported as a deadlock
  std::thread poster([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hub.post(&task);
  });
  rt::Wake why = hub.scheduler().park(rt::WaitReason::event);
  poster.join();
  hub.remove_external_waker();
  CHECK(why == rt::Wake::woken);
  CHECK(task.ran_on_hub_thread);
}

TEST_CASE("hub: timers fire while two threads yield to each other forever") {
  std::atomic<bool> stop{false};
  long spins = 0;
  auto spinner = [&] {
    while (!stop) {
      ++spins;
      greenrun::sleep(0.0);
    }
  };
  Greenlet a = spawn(spinner), b = spawn(spinner);
  greenrun::sleep(0.02);  // the main thread's timer must fire although a and b are always ready
  stop = true;
  joinall({a, b});
  CHECK(spins > 0);
}

TEST_CASE("threadpool: blocking work runs on another OS thread while green threads go on") {
  // The job blocks its OS thread until the green ticker has run five times: it can only finish
  // if the hub kept scheduling green threads meanwhile (no timing assumption involved).
  struct Work {
    std::thread::id ran_on;
    std::atomic<int> ticks{0};
    bool saw_ticks = false;
  } work;
  bool work_done = false;
  Greenlet ticker = spawn([&] {
    while (!work_done) {
      ++work.ticks;
      greenrun::sleep(0.001);
    }
  });
  Greenlet worker = spawn([&] {
    int rc = rt::run_in_threadpool(
        [](void* arg) {
          auto* w = static_cast<Work*>(arg);
          w->ran_on = std::this_thread::get_id();
          auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
          while (w->ticks < 5 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          w->saw_ticks = w->ticks >= 5;
        },
        &work);
    CHECK(rc == 0);
    work_done = true;
  });
  joinall({worker, ticker});
  CHECK(work.ran_on != std::this_thread::get_id());
  CHECK(work.saw_ticks);
}

TEST_CASE("hub: after fork, the child runs only the forking thread and its loop still works") {
  rt::Hub& hub = rt::Hub::get();
  bool stop = false;
  int ticks = 0;
  Greenlet ticker = spawn([&] {
    while (!stop) {
      ++ticks;
      greenrun::sleep(0.001);
    }
  });
  int child_status = -1;
  Greenlet forker = spawn([&] {
    greenrun::sleep(0.005);
    pid_t pid = fork();
    if (pid == 0) {
      // No doctest here: the child reports through its exit status.
      hub.after_fork_child();
      int code = hub.threads_alive() == 2 ? 0 : 1;  // this thread and the hub's
      int before = ticks;
      greenrun::sleep(0.03);                         // a timer of the forked loop
      if (ticks != before) code |= 2;                // the ticker must never run here
      if (hub.root() != rt::current()) code |= 4;
      _exit(code);
    }
    waitpid(pid, &child_status, 0);
    stop = true;
  });
  joinall({forker, ticker});
  CHECK(WIFEXITED(child_status));
  CHECK(WEXITSTATUS(child_status) == 0);
}

TEST_CASE("hub: a sleeper always wakes, though libuv's millisecond clock can fire early") {
  // libuv arms its timer in whole milliseconds of its own clock, so it can fire up to a
  // millisecond before the deadline; the hub must then arm it again, not poll without a
  // timeout while something else keeps the loop alive (here a reader parked on a pipe nobody
  // writes to yet). Deadlines spread over a millisecond hit that window often. A hang is ended
  // by the alarm (SIGALRM's default kills the test, which then fails).
  int p[2];
  REQUIRE(pipe(p) == 0);
  Greenlet reader = spawn([&] {
    rt::FdTable& fds = rt::Hub::get().fds();
    CHECK(fds.wait(*fds.entry(p[0]), rt::Want::read, rt::kNever) == 0);
  });
  alarm(20);
  Greenlet sleeper = spawn([] {
    for (int i = 0; i < 1500; ++i) greenrun::sleep(0.0002 + 0.00001 * (i % 100));
  });
  sleeper.join();
  alarm(0);
  CHECK(sleeper.dead());
  CHECK(write(p[1], "x", 1) == 1);
  reader.join();
  rt::Hub::get().fds().forget(p[0]);
  close(p[0]);
  close(p[1]);
}
