// Cost of starting and finishing an empty thread, one after another (each is joined before the
// next is spawned, so stacks come from the pool after the first):
//   spawn.greenrun  greenrun::spawn(empty) + Greenlet::join()
//   spawn.c_api     greenrun_spawn + greenrun_join + greenrun_greenlet_release
//   spawn.pthread   pthread_create + pthread_join of an empty native thread (the anchor)
// Figures are µs per spawn+join, the best of several runs.
#include <pthread.h>

#include "bench.h"
#include "greenrun.h"
#include "greenrun.hpp"

namespace {

long g_ran = 0;

void* empty_c(void*) {
  ++g_ran;
  return nullptr;
}

void* empty_native(void*) { return nullptr; }

double bench_greenrun(long n) {
  return bench::best_ns_per_op(bench::runs(), n, [n] {
    for (long i = 0; i < n; ++i) {
      greenrun::Greenlet g = greenrun::spawn([] { ++g_ran; });
      g.join();
    }
  });
}

double bench_c_api(long n) {
  return bench::best_ns_per_op(bench::runs(), n, [n] {
    for (long i = 0; i < n; ++i) {
      greenrun_greenlet* g = greenrun_spawn(&empty_c, nullptr, 0);
      if (!g || greenrun_join(g, -1) != 0) bench::die("greenrun_spawn/join failed");
      greenrun_greenlet_release(g);
    }
  });
}

double bench_pthread(long n) {
  return bench::best_ns_per_op(bench::runs(), n, [n] {
    for (long i = 0; i < n; ++i) {
      pthread_t t;
      if (pthread_create(&t, nullptr, &empty_native, nullptr) != 0) bench::die("pthread_create");
      pthread_join(t, nullptr);
    }
  });
}

}  // namespace

int main() {
  const long green = bench::scaled(200'000);
  const long native = bench::scaled(5'000);
  bench::info("runs", bench::runs());
  bench::info("spawns_green", green);
  bench::info("spawns_pthread", native);
  bench::info("context_backend", greenrun::context_backend());

  bench::result("spawn.pthread", bench_pthread(native) / 1e3, "us");
  bench::result("spawn.greenrun", bench_greenrun(green) / 1e3, "us");
  bench::result("spawn.c_api", bench_c_api(green) / 1e3, "us");
  if (g_ran != 2L * bench::runs() * green) bench::die("a green thread did not run");
  return 0;
}
