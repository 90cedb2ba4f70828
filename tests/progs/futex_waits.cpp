// C++20 waiting primitives across 100 threads. libstdc++ builds std::latch, std::barrier,
// std::counting_semaphore and std::atomic<T>::wait/notify on syscall(SYS_futex) directly,
// not on pthread calls, so these exercise the futex path.
#include "progs.h"  // first: it defines _GNU_SOURCE

#include <atomic>
#include <barrier>
#include <cstdio>
#include <latch>
#include <semaphore>
#include <thread>
#include <vector>

namespace {

constexpr int kThreads = 100;

void join_all(std::vector<std::thread>& threads) {
  for (auto& t : threads) t.join();
  threads.clear();
}

void latch() {
  std::latch start(kThreads), done(kThreads);
  std::atomic<int> before{0}, after_all_arrived{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      before.fetch_add(1);
      start.arrive_and_wait();
      // Everyone has arrived before anyone passes.
      if (before.load() == kThreads) after_all_arrived.fetch_add(1);
      done.count_down();
    });
  done.wait();
  join_all(threads);
  std::printf("latch: %d threads passed, %d saw all %d arrive first\n", kThreads,
              after_all_arrived.load(), kThreads);
}

void barrier() {
  constexpr int kPhases = 3;
  std::atomic<int> arrived{0}, bad{0};
  int completions = 0;
  std::barrier sync(kThreads, [&]() noexcept { ++completions; });
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      for (int phase = 0; phase < kPhases; ++phase) {
        arrived.fetch_add(1);
        sync.arrive_and_wait();
        // After phase p's barrier, (p + 1) * kThreads arrivals have happened, and no thread
        // can have arrived at phase p + 2 yet.
        int seen = arrived.load();
        if (seen < (phase + 1) * kThreads || seen > (phase + 2) * kThreads) bad.fetch_add(1);
        sync.arrive_and_wait();
      }
    });
  join_all(threads);
  std::printf("barrier: %d phases x2, completion ran %d times, out-of-phase views %d\n", kPhases,
              completions, bad.load());
}

void semaphore() {
  std::counting_semaphore<5> slots(5);
  std::atomic<int> inside{0}, most{0}, entries{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      slots.acquire();
      int now = inside.fetch_add(1) + 1;
      int m = most.load();
      while (now > m && !most.compare_exchange_weak(m, now)) {
      }
      entries.fetch_add(1);
      std::this_thread::yield();
      inside.fetch_sub(1);
      slots.release();
    });
  join_all(threads);
  std::printf("counting_semaphore<5>: %d entries, at most 5 inside: %s\n", entries.load(),
              most.load() <= 5 ? "yes" : "no");
  std::binary_semaphore gate(0);
  bool got = gate.try_acquire_for(std::chrono::milliseconds(20));
  std::printf("binary_semaphore try_acquire_for(20ms) on 0: %s\n", got ? "true" : "false");
}

void atomic_wait() {
  // A relay: thread i waits until the value is i, then passes it on to i + 1.
  std::atomic<int> baton{-1};
  std::vector<std::thread> threads;
  for (int i = kThreads - 1; i >= 0; --i)
    threads.emplace_back([&, i] {
      if (i == kThreads / 2) note_os_threads();
      for (int v = baton.load(); v != i; v = baton.load()) baton.wait(v);
      baton.store(i + 1);
      baton.notify_all();
    });
  baton.store(0);
  baton.notify_all();
  join_all(threads);
  std::printf("atomic<int>::wait/notify_all relay: final value %d\n", baton.load());

  std::atomic<int> flag{0};
  std::atomic<int> woke{0};
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      flag.wait(0);
      woke.fetch_add(1);
    });
  flag.store(1);
  flag.notify_all();
  join_all(threads);
  std::printf("atomic<int>::wait, one notify_all: %d woke\n", woke.load());
}

}  // namespace

int main() {
  latch();
  barrier();
  semaphore();
  atomic_wait();
  std::fflush(stdout);
  report_os_threads();
  return 0;
}
