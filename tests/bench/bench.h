// Shared by the benchmarks: a monotonic clock, best-of-N timing, and the machine-readable lines
// scripts/bench parses. Every benchmark prints
//   RESULT <key> <value> <unit>     one figure (keys are stable; scripts/bench looks them up)
//   INFO <key> <text...>            context (backend, guard kind, iteration counts)
// and nothing else on stdout. Timing claims live here, never in unit tests.
#pragma once
#include <sys/resource.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

inline double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Runs `once` (which performs `ops` operations) `runs` times; returns the best ns per operation.
// The best run is the one least disturbed by the other tenants of this machine.
template <class F>
double best_ns_per_op(int runs, long ops, F&& once) {
  double best = 0;
  for (int r = 0; r < runs; ++r) {
    double t0 = now_ns();
    once();
    double per_op = (now_ns() - t0) / static_cast<double>(ops);
    if (r == 0 || per_op < best) best = per_op;
  }
  return best;
}

inline void result(const char* key, double value, const char* unit) {
  std::printf("RESULT %s %.4g %s\n", key, value, unit);
  std::fflush(stdout);
}

inline void info(const char* key, const char* text) {
  std::printf("INFO %s %s\n", key, text);
  std::fflush(stdout);
}

inline void info(const char* key, long value) {
  std::printf("INFO %s %ld\n", key, value);
  std::fflush(stdout);
}

// Iteration counts can be scaled down for a quick look: BENCH_SCALE=0.1.
inline long scaled(long n) {
  const char* s = std::getenv("BENCH_SCALE");
  double k = s ? std::atof(s) : 1.0;
  long v = static_cast<long>(static_cast<double>(n) * (k > 0 ? k : 1.0));
  return v < 1 ? 1 : v;
}

inline int runs() {
  const char* s = std::getenv("BENCH_RUNS");
  int r = s ? std::atoi(s) : 5;
  return r < 1 ? 1 : r;
}

[[noreturn]] inline void die(const char* what) {
  std::fprintf(stderr, "bench: %s\n", what);
  std::exit(2);
}

}  // namespace bench
