// The blocking monitor (see blocking_monitor.h). The hub bumps a counter each loop turn and
// flags the time it waits in libuv; the watchdog samples both every quarter threshold. No
// progress while not idle for a whole threshold is a stall: the watchdog signals the hub's OS
// thread, whose handler records the running green thread and unw_backtrace()s it into the
// shared sample, and the watchdog prints that (symbolised with dladdr, off the hub thread).
#include "blocking_monitor.h"

#define UNW_LOCAL_ONLY
#include <cxxabi.h>
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "diagnostic_output.h"
#include "diagnostics.h"
#include "handoff.h"
#include "hub.h"
#include "service_thread.h"

namespace greenrun::rt {
namespace {

constexpr int kMaxFrames = 32;

// Process-lifetime (leaked on purpose): the watchdog and the handler outlive everything else.
struct Monitor {
  Hub* hub = nullptr;
  pid_t hub_tid = 0;
  int threshold_ms = 0;
  int signal = 0;                         // 0: no sampling, name and id only
  GreenThread* const* running = nullptr;  // the hub OS thread's "current green thread"
  std::atomic<int> sample_state{0};       // 0 idle, 1 requested, 2 taken
  char name[32] = {};
  unsigned long long id = 0;
  void* frames[kMaxFrames] = {};
  int depth = 0;
};
Monitor* g_monitor = nullptr;

void copy_thread(Monitor& m, const GreenThread* t) {
  if (!t) {
    std::strcpy(m.name, "?");
    m.id = 0;
    return;
  }
  std::memcpy(m.name, t->name, sizeof m.name);
  m.name[sizeof m.name - 1] = '\0';
  m.id = t->id;
}

}  // namespace

bool take_blocking_sample() {
  if (!g_monitor) return false;
  Monitor& m = *g_monitor;
  if (m.sample_state.load(std::memory_order_acquire) != 1) return false;
  int saved_errno = errno;
  copy_thread(m, current());
  m.depth = unw_backtrace(m.frames, kMaxFrames);
  m.sample_state.store(2, std::memory_order_release);
  errno = saved_errno;
  return true;
}

namespace {

void on_sample_signal(int) { take_blocking_sample(); }

void pause_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void report(Monitor& m, long long stalled_ms) {
  bool sampled = false;
  if (m.signal) {
    m.sample_state.store(1, std::memory_order_release);
    if (syscall(SYS_tgkill, getpid(), loop_os_thread(m.hub_tid), m.signal) == 0) {
      for (int i = 0; i < 100 && m.sample_state.load(std::memory_order_acquire) != 2; ++i)
        pause_ms(1);
      sampled = m.sample_state.load(std::memory_order_acquire) == 2;
    }
    m.sample_state.store(0, std::memory_order_release);
  }
  if (!sampled) {
    // The hub's thread is stuck in the offender, so the record cannot go away under us.
    copy_thread(m, __atomic_load_n(m.running, __ATOMIC_RELAXED));
    m.depth = 0;
  }
  print_diagnostic(2,
                   "greenrun: blocking: green thread '%s' (id %llu) has kept the loop from running "
                   "for %lld ms (GREENRUN_BLOCKING_MS=%d); it should park (sleep, wait, I/O) or "
                   "yield%s\n",
                   m.name, m.id, stalled_ms, m.threshold_ms, m.depth > 0 ? ":" : "");
  // Frame 0 is the handler itself, frame 1 the signal trampoline.
  for (int i = 2; i < m.depth; ++i) {
    Dl_info info;
    if (dladdr(m.frames[i], &info) && info.dli_sname) {
      int status = 0;  // the watchdog's own thread: demangling may allocate
      char* readable = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
      print_diagnostic(2, "    #%-2d %s+0x%lx\n", i - 2, readable ? readable : info.dli_sname,
                       static_cast<unsigned long>(static_cast<char*>(m.frames[i]) -
                                                  static_cast<char*>(info.dli_saddr)));
      std::free(readable);
    } else if (info.dli_fname)
      print_diagnostic(2, "    #%-2d %p in %s\n", i - 2, m.frames[i], info.dli_fname);
    else
      print_diagnostic(2, "    #%-2d %p\n", i - 2, m.frames[i]);
  }
}

void* watch(void*) {
  Monitor& m = *g_monitor;
  const long period = m.threshold_ms >= 4 ? m.threshold_ms / 4 : 1;
  std::uint64_t last = m.hub->loop_turns();
  Nanos last_progress = monotonic_now();
  bool reported = false;
  for (;;) {
    pause_ms(period);
    Nanos now = monotonic_now();
    std::uint64_t turns = m.hub->loop_turns();
    if (turns != last || m.hub->loop_idle()) {
      last = turns;
      last_progress = now;
      reported = false;
      continue;
    }
    long long stalled_ms = (now - last_progress) / 1'000'000;
    if (!reported && stalled_ms >= m.threshold_ms) {
      report(m, stalled_ms);
      reported = true;
    }
  }
  return nullptr;
}

}  // namespace

int start_blocking_monitor(Hub& hub, int threshold_ms, int sample_signal, bool routed) {
  if (g_monitor) return -EALREADY;
  // The watchdog is a native OS thread, and sigaction, pthread_sigmask and pthread_create must
  // reach libc: within a RuntimeCall the preload's shims pass them through.
  RuntimeCall runtime;
  auto* m = new Monitor();
  m->hub = &hub;
  m->hub_tid = static_cast<pid_t>(syscall(SYS_gettid));
  m->threshold_ms = threshold_ms;
  m->running = hub.running_slot();
  if (sample_signal && routed) {
    m->signal = sample_signal;
  } else if (sample_signal) {
    struct sigaction old {};
    if (sigaction(sample_signal, nullptr, &old) == 0 && old.sa_handler == SIG_DFL &&
        !(old.sa_flags & SA_SIGINFO)) {
      struct sigaction sa {};
      sa.sa_handler = &on_sample_signal;
      sa.sa_flags = SA_RESTART;
      sigemptyset(&sa.sa_mask);
      if (sigaction(sample_signal, &sa, nullptr) == 0) m->signal = sample_signal;
    }
  }
  g_monitor = m;
  return -start_service_thread(&watch, nullptr);
}

}  // namespace greenrun::rt
