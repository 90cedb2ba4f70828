// Many threads asleep at once:  bench_sleepers green|pthread <threads> <seconds>
// Starts <threads> threads that each sleep <seconds>, then joins them all, and reports
//   sleepers.<mode>.wall_s       first spawn to last join
//   sleepers.<mode>.spawned_s, all_asleep_s, first_woken_s, all_woken_s: when the spawning loop
//                                ended, the last thread began its sleep, the first and the last
//                                woke (from the first spawn)
//   sleepers.<mode>.peak_rss_mib ru_maxrss at the end (the process's high-water mark)
//   sleepers.<mode>.base_rss_mib VmRSS before the first spawn
//   sleepers.<mode>.kernel_mib   KernelStack + Slab + PageTables (/proc/meminfo, whole machine)
//                                while all sleep, minus the same before the first spawn; also
//                                each part alone (Slab moves with whatever else the machine
//                                does), and own_page_tables_mib: this process's VmPTE delta
//   sleepers.<mode>.min_sleep_s  the shortest sleep any thread observed (must be >= <seconds>)
//   sleepers.<mode>.maps         lines of /proc/self/maps while all sleep
// The last thread to start takes the samples, so they see every thread asleep.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "bench.h"
#include "green_thread.h"
#include "hub.h"
#include "greenrun.hpp"

namespace {

struct Sample {
  long kernel_stack_kib = 0;  // /proc/meminfo, whole machine
  long slab_kib = 0;
  long page_tables_kib = 0;
  long own_page_tables_kib = 0;  // VmPTE: this process's page tables
  long rss_kib = 0;
  long maps = 0;
  long kernel_kib() const { return kernel_stack_kib + slab_kib + page_tables_kib; }
};

// Sum of the named /proc/meminfo-style fields ("Name:   123 kB") of `path`, in KiB.
long sum_fields(const char* path, std::initializer_list<const char*> names) {
  FILE* f = std::fopen(path, "re");
  if (!f) return -1;
  char line[256];
  long total = 0;
  while (std::fgets(line, sizeof line, f)) {
    for (const char* name : names) {
      std::size_t n = std::strlen(name);
      if (std::strncmp(line, name, n) == 0 && line[n] == ':') total += std::atol(line + n + 1);
    }
  }
  std::fclose(f);
  return total;
}

long count_maps() {
  FILE* f = std::fopen("/proc/self/maps", "re");
  if (!f) return -1;
  long lines = 0;
  for (int c; (c = std::fgetc(f)) != EOF;) lines += (c == '\n');
  std::fclose(f);
  return lines;
}

Sample take_sample() {
  Sample s;
  s.kernel_stack_kib = sum_fields("/proc/meminfo", {"KernelStack"});
  s.slab_kib = sum_fields("/proc/meminfo", {"Slab"});
  s.page_tables_kib = sum_fields("/proc/meminfo", {"PageTables"});
  s.own_page_tables_kib = sum_fields("/proc/self/status", {"VmPTE"});
  s.rss_kib = sum_fields("/proc/self/status", {"VmRSS"});
  s.maps = count_maps();
  return s;
}

long read_long(const char* path) {
  FILE* f = std::fopen(path, "re");
  if (!f) return -1;
  long v = -1;
  if (std::fscanf(f, "%ld", &v) != 1) v = -1;
  std::fclose(f);
  return v;
}

struct Run {
  long threads = 0;
  double seconds = 0;
  std::atomic<long> started{0};
  std::atomic<long> min_sleep_ns{-1};
  double t_start = 0;
  double t_spawned = 0;      // the spawning loop is done
  double t_all_started = 0;  // the last thread has begun its sleep
  std::atomic<long> woken{0};
  double t_first_woken = 0;
  double t_all_woken = 0;
  Sample at_peak;

  void on_started() {  // called by each thread just before it sleeps
    if (started.fetch_add(1) + 1 == threads) {
      t_all_started = bench::now_ns();
      at_peak = take_sample();
    }
  }
  void on_woken(double slept_ns) {
    long n = woken.fetch_add(1) + 1;
    if (n == 1) t_first_woken = bench::now_ns();
    if (n == threads) t_all_woken = bench::now_ns();
    long v = static_cast<long>(slept_ns);
    long cur = min_sleep_ns.load();
    while ((cur < 0 || v < cur) && !min_sleep_ns.compare_exchange_weak(cur, v)) {
    }
  }
};

Run g_run;

void report(const char* mode, const Sample& before, double t_end) {
  auto key = [mode](const char* what) { return std::string("sleepers.") + mode + "." + what; };
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  bench::result(key("threads").c_str(), static_cast<double>(g_run.threads), "threads");
  bench::result(key("wall_s").c_str(), (t_end - g_run.t_start) / 1e9, "s");
  bench::result(key("spawned_s").c_str(), (g_run.t_spawned - g_run.t_start) / 1e9, "s");
  bench::result(key("all_asleep_s").c_str(), (g_run.t_all_started - g_run.t_start) / 1e9, "s");
  bench::result(key("first_woken_s").c_str(), (g_run.t_first_woken - g_run.t_start) / 1e9, "s");
  bench::result(key("all_woken_s").c_str(), (g_run.t_all_woken - g_run.t_start) / 1e9, "s");
  bench::result(key("peak_rss_mib").c_str(), static_cast<double>(ru.ru_maxrss) / 1024, "MiB");
  bench::result(key("rss_at_peak_mib").c_str(), static_cast<double>(g_run.at_peak.rss_kib) / 1024,
                "MiB");
  bench::result(key("base_rss_mib").c_str(), static_cast<double>(before.rss_kib) / 1024, "MiB");
  const Sample& peak = g_run.at_peak;
  auto mib = [](long kib) { return static_cast<double>(kib) / 1024; };
  bench::result(key("kernel_mib").c_str(), mib(peak.kernel_kib() - before.kernel_kib()), "MiB");
  bench::result(key("kernel_stack_mib").c_str(),
                mib(peak.kernel_stack_kib - before.kernel_stack_kib), "MiB");
  bench::result(key("slab_mib").c_str(), mib(peak.slab_kib - before.slab_kib), "MiB");
  bench::result(key("page_tables_mib").c_str(),
                mib(peak.page_tables_kib - before.page_tables_kib), "MiB");
  bench::result(key("own_page_tables_mib").c_str(),
                mib(peak.own_page_tables_kib - before.own_page_tables_kib), "MiB");
  bench::result(key("min_sleep_s").c_str(), static_cast<double>(g_run.min_sleep_ns.load()) / 1e9,
                "s");
  bench::result(key("maps").c_str(), static_cast<double>(g_run.at_peak.maps), "maps");
}

int run_green() {
  greenrun::Greenlet::current();  // creates the hub first: it is not part of the cost per thread
  std::vector<greenrun::Greenlet> threads;
  threads.reserve(static_cast<std::size_t>(g_run.threads));
  long guards[3] = {0, 0, 0};
  Sample before = take_sample();

  g_run.t_start = bench::now_ns();
  for (long i = 0; i < g_run.threads; ++i) {
    threads.push_back(greenrun::spawn([] {
      g_run.on_started();
      double t0 = bench::now_ns();
      greenrun::sleep(g_run.seconds);
      g_run.on_woken(bench::now_ns() - t0);
    }));
    ++guards[static_cast<int>(threads.back().native()->stack.guard)];
  }
  g_run.t_spawned = bench::now_ns();
  for (auto& t : threads) t.join();
  double t_end = bench::now_ns();

  bench::info("context_backend", greenrun::context_backend());
  bench::info("stack_size", static_cast<long>(greenrun::rt::Hub::get().default_stack_size()));
  bench::info("max_map_count", read_long("/proc/sys/vm/max_map_count"));
  bench::info("guard.guard_region", guards[static_cast<int>(greenrun::rt::GuardKind::guard_region)]);
  bench::info("guard.guard_page", guards[static_cast<int>(greenrun::rt::GuardKind::guard_page)]);
  bench::info("guard.canary", guards[static_cast<int>(greenrun::rt::GuardKind::canary)]);
  const char* kind = guards[0] == g_run.threads   ? "guard_region"
                     : guards[1] == g_run.threads ? "guard_page"
                     : guards[2] == g_run.threads ? "canary"
                                                  : "mixed";
  bench::info("guard_kind", kind);
  report("green", before, t_end);
  return 0;
}

void* native_sleeper(void*) {
  g_run.on_started();
  double t0 = bench::now_ns();
  timespec ts{static_cast<time_t>(g_run.seconds),
              static_cast<long>((g_run.seconds - static_cast<double>(static_cast<time_t>(g_run.seconds))) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
  g_run.on_woken(bench::now_ns() - t0);
  return nullptr;
}

int run_pthread() {
  std::vector<pthread_t> threads(static_cast<std::size_t>(g_run.threads));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  std::size_t stack_size = 0;
  pthread_attr_getstacksize(&attr, &stack_size);
  Sample before = take_sample();

  g_run.t_start = bench::now_ns();
  for (auto& t : threads)
    if (pthread_create(&t, &attr, &native_sleeper, nullptr) != 0) bench::die("pthread_create failed");
  g_run.t_spawned = bench::now_ns();
  for (auto& t : threads) pthread_join(t, nullptr);
  double t_end = bench::now_ns();

  bench::info("stack_size", static_cast<long>(stack_size));
  bench::info("pid_max", read_long("/proc/sys/kernel/pid_max"));
  report("pthread", before, t_end);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) bench::die("usage: bench_sleepers green|pthread <threads> <seconds>");
  g_run.threads = std::atol(argv[2]);
  g_run.seconds = std::atof(argv[3]);
  if (g_run.threads < 1 || !(g_run.seconds >= 0)) bench::die("bad thread count or duration");
  if (std::strcmp(argv[1], "green") == 0) return run_green();
  if (std::strcmp(argv[1], "pthread") == 0) return run_pthread();
  bench::die("mode must be green or pthread");
}
