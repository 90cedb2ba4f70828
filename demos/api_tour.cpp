// The greenrun API in a page: greenlet switches passing values, then gevent-style threads
// sharing a bounded queue under a Pool, with a Timeout guarding a slow consumer.
#include <greenrun.hpp>

#include <cstdio>
#include <string>

int main() {
  using namespace greenrun;
  std::printf("context switch backend: %s\n", context_backend());

  // greenlet: two coroutines hand values back and forth.
  Greenlet consumer([](std::any first) -> std::any {
    int total = 0;
    for (std::any item = first; std::any_cast<int>(item) >= 0;)
      total += std::any_cast<int>(item), item = Greenlet::current().parent().switch_to();
    return total;
  });
  for (int i = 1; i <= 4; ++i) consumer.switch_to(i);
  std::printf("greenlet consumer summed to %d\n", std::any_cast<int>(consumer.switch_to(-1)));

  // gevent: 1,000 producers, at most 50 at a time, feeding one queue.
  Queue<int> queue(100);
  Pool pool(50);
  Greenlet summer = spawn([&] {
    long sum = 0;
    for (int received = 0; received < 1000; ++received) sum += queue.get();
    return sum;
  });
  for (int i = 0; i < 1000; ++i)
    pool.spawn([&queue, i] {
      sleep(0.001 * (i % 10));
      queue.put(i);
    });
  pool.join();
  std::printf("1000 producers through a Pool(50): sum %ld\n", std::any_cast<long>(summer.get()));

  // Timeout: a wait that would take too long is cut short.
  try {
    Timeout limit(0.05);
    queue.get();  // nobody puts anything now
  } catch (const TimeoutError& e) {
    std::printf("queue.get() gave up after 50 ms: %s\n", e.what());
  }
  return 0;
}
