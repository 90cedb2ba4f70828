// The C++ standard library's threads, each printing a deterministic result: std::thread with
// std::mutex, std::condition_variable ping-pong, std::shared_mutex (readers together, writer
// alone), sleep_for and yield, std::async(std::launch::async), std::timed_mutex and
// std::recursive_mutex, and std::jthread stopped through a stop_token while it waits on a
// std::condition_variable_any.
#include "progs.h"  // first: it defines _GNU_SOURCE

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <shared_mutex>
#include <stop_token>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void threads_and_mutex() {
  std::mutex m;
  long counter = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 1000; ++k) {
        std::lock_guard<std::mutex> g(m);
        long seen = counter;
        if (k % 100 == 0) std::this_thread::yield();  // hold the lock across a switch
        counter = seen + 1;
      }
    });
  for (auto& t : threads) t.join();
  std::printf("std::thread x8 + std::mutex: counter %ld\n", counter);
}

void ping_pong() {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0, rounds = 0;
  auto player = [&](int me) {
    for (int i = 0; i < 1000; ++i) {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [&] { return turn == me; });
      ++rounds;
      turn = 1 - me;
      cv.notify_one();
    }
  };
  std::thread a(player, 0), b(player, 1);
  a.join();
  b.join();
  std::printf("condition_variable ping-pong: %d rounds, last turn %d\n", rounds, turn);
}

void shared_mutex() {
  std::shared_mutex rw;
  std::mutex m;
  std::condition_variable cv;
  int readers_inside = 0, most_inside = 0;
  bool writer_saw_reader = false;
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i)
    readers.emplace_back([&] {
      std::shared_lock<std::shared_mutex> shared(rw);
      std::unique_lock<std::mutex> lock(m);
      ++readers_inside;
      if (readers_inside > most_inside) most_inside = readers_inside;
      cv.notify_all();
      // Only leaves once all four hold the shared lock at the same time.
      cv.wait(lock, [&] { return most_inside == 4; });
      --readers_inside;
    });
  for (auto& t : readers) t.join();
  std::thread writer([&] {
    std::unique_lock<std::shared_mutex> exclusive(rw);
    std::lock_guard<std::mutex> lock(m);
    writer_saw_reader = readers_inside != 0;
  });
  writer.join();
  bool try_shared_while_writing;
  {
    std::unique_lock<std::shared_mutex> exclusive(rw);
    std::thread probe([&] { try_shared_while_writing = rw.try_lock_shared(); });
    probe.join();
  }
  std::printf("shared_mutex: readers together %d, writer saw a reader: %s, "
              "try_lock_shared while writing: %s\n",
              most_inside, writer_saw_reader ? "yes" : "no",
              try_shared_while_writing ? "true" : "false");
}

void sleep_and_yield() {
  std::thread t([] {
    note_os_threads();
    auto t0 = Clock::now();
    std::this_thread::sleep_for(50ms);
    auto slept = Clock::now() - t0;
    std::printf("sleep_for(50ms): %s\n", slept >= 50ms ? "not early" : "EARLY");
    auto until = Clock::now() + 20ms;
    std::this_thread::sleep_until(until);
    std::printf("sleep_until(+20ms): %s\n", Clock::now() >= until ? "not early" : "EARLY");
  });
  int yields = 0;
  for (int i = 0; i < 1000; ++i, ++yields) std::this_thread::yield();
  t.join();
  std::printf("yield: %d yields returned\n", yields);
}

void async_tasks() {
  std::vector<std::future<long>> futures;
  const auto main_id = std::this_thread::get_id();
  for (long i = 1; i <= 4; ++i)
    futures.push_back(std::async(std::launch::async, [i, main_id] {
      std::this_thread::sleep_for(10ms);
      if (std::this_thread::get_id() == main_id) return -1L;  // must be another thread
      return i * i;
    }));
  long sum = 0;
  for (auto& f : futures) sum += f.get();
  auto thrown = std::async(std::launch::async, []() -> int { throw std::runtime_error("boom"); });
  const char* what = "nothing";
  try {
    thrown.get();
  } catch (const std::runtime_error& e) {
    what = e.what();
  }
  std::printf("std::async x4: sum of squares %ld, exception carried: %s\n", sum, what);
}

void timed_and_recursive() {
  std::timed_mutex tm;
  std::recursive_mutex rm;
  tm.lock();
  rm.lock();
  rm.lock();
  bool timed_got = true, recursive_got = true;
  Clock::duration waited{};
  std::thread t([&] {
    auto t0 = Clock::now();
    timed_got = tm.try_lock_for(30ms);
    waited = Clock::now() - t0;
    recursive_got = rm.try_lock();
  });
  t.join();
  rm.unlock();
  bool still_held = true;
  std::thread t2([&] { still_held = !rm.try_lock(); if (!still_held) rm.unlock(); });
  t2.join();
  rm.unlock();
  bool free_now = false;
  std::thread t3([&] { free_now = rm.try_lock(); if (free_now) rm.unlock(); });
  t3.join();
  tm.unlock();
  std::printf("timed_mutex try_lock_for(30ms) on a held lock: %s, %s\n",
              timed_got ? "true" : "false", waited >= 30ms ? "not early" : "EARLY");
  std::printf("recursive_mutex: other thread try_lock while held twice: %s, "
              "after one unlock still held: %s, after two: free %s\n",
              recursive_got ? "true" : "false", still_held ? "yes" : "no",
              free_now ? "yes" : "no");
}

void jthread_stop() {
  std::mutex m;
  std::condition_variable_any cv;
  bool woke_by_stop = false;
  int ticks = 0;
  {
    std::jthread worker([&](std::stop_token stop) {
      std::unique_lock<std::mutex> lock(m);
      // Never notified: only the stop request ends this wait.
      bool pred = cv.wait(lock, stop, [] { return false; });
      woke_by_stop = !pred && stop.stop_requested();
    });
    std::jthread ticker([&](std::stop_token stop) {
      do {
        ++ticks;
        std::this_thread::sleep_for(1ms);
      } while (!stop.stop_requested());
    });
    std::this_thread::sleep_for(30ms);
    worker.request_stop();
    worker.join();
    // `ticker` is stopped and joined by its destructor.
  }
  std::printf("jthread + condition_variable_any: woken by stop request: %s, "
              "ticker ticked and was stopped by the destructor: %s\n",
              woke_by_stop ? "yes" : "no", ticks > 0 ? "yes" : "no");
}

}  // namespace

int main() {
  threads_and_mutex();
  ping_pong();
  shared_mutex();
  sleep_and_yield();
  async_tasks();
  timed_and_recursive();
  jthread_stop();
  std::fflush(stdout);
  report_os_threads();
  return 0;
}
