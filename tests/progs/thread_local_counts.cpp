// C++ thread_local storage belongs to each thread: counters kept across sleeps (where green
// threads switch), an object with a constructor and a destructor built once per thread that
// touches it and destroyed on that thread before join returns, a dynamically initialised
// std::string, and std::async(std::launch::async) tasks summing into a thread_local.
#include "progs.h"  // first: it defines _GNU_SOURCE

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr int kThreads = 8;
std::atomic<int> wrong{0};

void expect(bool ok, const char* what, int thread, long got, long want) {
  if (ok) return;
  std::fprintf(stderr, "thread %d: %s: got %ld, want %ld\n", thread, what, got, want);
  ++wrong;
}

// Counters: thread i counts to 10 * (i + 1), sleeping after each step.
thread_local int count = 0;

void counters() {
  std::vector<std::thread> threads;
  std::atomic<int> own{0};
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([i, &own] {
      bool ok = count == 0;
      expect(count == 0, "count at thread start", i, count, 0);
      for (int k = 1; k <= 10 * (i + 1); ++k) {
        ++count;
        std::this_thread::sleep_for(1ms);
        if (count != k) {
          expect(false, "count after a sleep", i, count, k);
          ok = false;
          break;
        }
      }
      if (ok) ++own;
    });
  for (auto& t : threads) t.join();
  std::printf("thread_local counters: %d of %d threads saw only their own count\n", own.load(),
              kThreads);
  expect(count == 0, "main's count after the threads", -1, count, 0);
  std::printf("main's thread_local count after the threads: %d\n", count);
}

// An object per thread: its constructor numbers it, its destructor checks it runs on the
// thread that built it (the thread's own `who` still says so) and counts.
std::atomic<int> constructed{0}, destroyed{0}, destroyed_elsewhere{0};
thread_local int who = -1;

struct PerThread {
  int owner;
  PerThread() : owner(who) { ++constructed; }
  ~PerThread() {
    if (who != owner) ++destroyed_elsewhere;
    ++destroyed;
  }
};
thread_local PerThread tracker;

// Dynamically initialised on first use in each thread.
std::atomic<int> names_made{0};
std::string make_name() {
  ++names_made;
  return "worker-" + std::to_string(who);
}
thread_local std::string name = make_name();

void objects() {
  std::vector<std::thread> threads;
  std::atomic<int> good_names{0};
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([i, &good_names] {
      who = i;
      note_os_threads();
      expect(tracker.owner == i, "tracker's owner", i, tracker.owner, i);
      std::this_thread::sleep_for(5ms);
      expect(tracker.owner == i, "tracker's owner after a sleep", i, tracker.owner, i);
      std::string want = "worker-" + std::to_string(i);
      std::this_thread::sleep_for(5ms);
      if (name == want) ++good_names;
      else std::fprintf(stderr, "thread %d: name is \"%s\", want \"%s\"\n", i, name.c_str(),
                        want.c_str());
      std::this_thread::sleep_for(5ms);
    });
  for (auto& t : threads) t.join();
  std::printf("thread_local objects: constructed %d, destroyed %d (%d on another thread) by the "
              "time %d threads were joined\n",
              constructed.load(), destroyed.load(), destroyed_elsewhere.load(), kThreads);
  std::printf("thread_local std::string: initialised %d times, %d threads saw their own\n",
              names_made.load(), good_names.load());
  expect(constructed == kThreads, "objects constructed", -1, constructed, kThreads);
  expect(destroyed == kThreads, "objects destroyed", -1, destroyed, kThreads);
  expect(destroyed_elsewhere == 0, "objects destroyed on another thread", -1,
         destroyed_elsewhere, 0);
  expect(names_made == kThreads, "names made", -1, names_made, kThreads);
  expect(good_names == kThreads, "threads with their own name", -1, good_names, kThreads);
}

// std::async(std::launch::async) runs each task on a new thread: each sums into its own total.
thread_local long total = 0;

long accumulate(long k) {
  for (int i = 0; i < 5; ++i) {
    total += k;
    std::this_thread::sleep_for(2ms);
  }
  return total;
}

void async_tasks() {
  std::vector<std::future<long>> futures;
  for (long k = 1; k <= kThreads; ++k)
    futures.push_back(std::async(std::launch::async, accumulate, k * 100));
  std::printf("std::async totals:");
  for (long k = 1; k <= kThreads; ++k) {
    long got = futures[k - 1].get();
    std::printf(" %ld", got);
    expect(got == 5 * k * 100, "std::async total", static_cast<int>(k), got, 5 * k * 100);
  }
  std::printf("\n");
  std::printf("main's thread_local total: %ld\n", total);
  expect(total == 0, "main's total", -1, total, 0);
}

}  // namespace

int main() {
  counters();
  objects();
  async_tasks();
  report_os_threads();
  if (wrong) std::printf("%d checks failed\n", wrong.load());
  return wrong ? 1 : 0;
}
