// Asynchronous preemption (see preemption.h).
#include "preemption.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sched.h>
#include <link.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "blocking_monitor.h"
#include "diagnostics.h"
#include "foreign_threads.h"
#include "handoff.h"
#include "hub.h"
#include "service_thread.h"

extern "C" {
// preempt_entry_x86_64.S
void greenrun_async_preempt();
// The XSAVE area's size for what XCR0 enables, rounded up to 64 (read by the entry).
__attribute__((visibility("hidden"))) unsigned long greenrun_xsave_size = 0;
// Called by the entry on the preempted thread, in its normal context.
__attribute__((visibility("hidden"))) void greenrun_preempted();
}

namespace greenrun::rt {
namespace {

// Where preempting is never safe: code that may hold a lock of libc's, the loader's, the
// unwinder's, libuv's or ours (every green thread would then block on it), by load address.
struct Range {
  std::uintptr_t begin, end;
};
constexpr int kMaxRanges = 64;
struct Ranges {
  Range range[kMaxRanges];
  int count = 0;
  unsigned long long loads = 0;  // dl_iterate_phdr's count of objects loaded when made
};

constexpr const char* kUnsafe[] = {"libc.so", "ld-linux", "ld64.so", "libpthread", "libdl.so",
                                   "libgcc_s", "libunwind", "libuv", "libgreenrun", "libstdc++"};

// Process-lifetime (leaked on purpose): the monitor and the handler outlive everything else.
struct Preemption {
  Hub* hub = nullptr;
  pid_t hub_tid = 0;
  Nanos slice = 0;
  int signal = 0;
  std::uintptr_t self_base = 0;  // libgreenrun's own load address (dladdr)
  // Two tables: the monitor fills the one not in use and publishes it before signalling.
  Ranges tables[2];
  std::atomic<Ranges*> unsafe{nullptr};
  std::atomic<unsigned long long> count{0};
  std::atomic<bool> named{false};  // the monitor has its name: start_preemption may return
};
Preemption* g = nullptr;

// The slice of a thread seen spinning (kSpinLooks in green_thread.h).
constexpr Nanos kSpinSlice = 200'000;

bool unsafe_name(const char* name, std::uintptr_t base) {
  if (base == g->self_base) return true;
  if (!name || !*name) return false;  // the executable: the program's own code
  for (const char* u : kUnsafe)
    if (std::strstr(name, u)) return true;
  return false;
}

int collect(dl_phdr_info* info, std::size_t, void* data) {
  auto* t = static_cast<Ranges*>(data);
  t->loads = info->dlpi_adds;
  if (!unsafe_name(info->dlpi_name, info->dlpi_addr)) return 0;
  for (int i = 0; i < info->dlpi_phnum && t->count < kMaxRanges; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    t->range[t->count++] = {begin, begin + ph.p_memsz};
  }
  return 0;
}

// On the monitor's thread (dl_iterate_phdr takes the loader's lock: never in the handler).
void refresh_ranges() {
  Ranges* in_use = g->unsafe.load(std::memory_order_acquire);
  Ranges* next = in_use == &g->tables[0] ? &g->tables[1] : &g->tables[0];
  next->count = 0;
  dl_iterate_phdr(&collect, next);
  g->unsafe.store(next, std::memory_order_release);
}

bool in_unsafe_code(std::uintptr_t pc) {
  const Ranges* t = g->unsafe.load(std::memory_order_acquire);
  if (!t) return true;
  for (int i = 0; i < t->count; ++i)
    if (pc >= t->range[i].begin && pc < t->range[i].end) return true;
  return false;
}

void pause_for(Nanos span) {
  timespec ts{static_cast<time_t>(span / 1'000'000'000), static_cast<long>(span % 1'000'000'000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// Whether a signal can preempt the hub's OS thread now: it runs user code (a spin), or waits in
// futex (a wait greenrun cannot see, which the kernel restarts after the handler). Any other
// system call would return EINTR to a program that never asked for signals (a sleep greenrun
// itself made because nothing else could run, a disk read): left alone.
bool worth_signalling(pid_t tid, const SyscallSample& sample) {
  if (sample.text[0]) return sample.running || sample.number == SYS_futex;
  // A process that is not dumpable may not read its own syscall file: the scheduler state
  // still tells a spin ('R') from a wait (a futex wait then goes unpreempted).
  char text[128];
  read_task_file(tid, "stat", text, sizeof text);
  const char* state = std::strrchr(text, ')');  // after "pid (comm)"
  return state && state[1] == ' ' && state[2] == 'R';
}

bool program_code(std::uintptr_t pc) { return !in_unsafe_code(pc); }

// The monitor (Go's sysmon): every tick, has anything switched? When the same thread has held
// the loop for the hand-off threshold inside a system call, the loop moves to another OS thread
// (handoff.h); when it has run a whole slice, its OS thread gets the preemption signal, and
// again every tick until it switches.
void* monitor(void*) {
  prctl(PR_SET_NAME, "greenrun-preempt");  // greenrun's own, for anyone listing the threads
  Preemption& p = *g;
  p.named.store(true, std::memory_order_release);
  const Nanos handoff = handoff_threshold();
  if (!p.slice && !handoff) {  // nothing to preempt or hand off: it only looks for raw clones
    for (;;) {
      pause_for(kForeignThreadsPeriod);
      look_for_foreign_threads(monotonic_now());
    }
  }
  Nanos busy_tick = p.slice ? p.slice / 2 : handoff / 2;
  if (handoff && handoff / 2 < busy_tick) busy_tick = handoff / 2;
  // While the loop waits for events, nothing can need the monitor: after 20 such looks it looks
  // less and less often, up to every 10 ms (as Go's sysmon does), so that an idle program does
  // not wake a thousand times a second. The first look after it wakes up may come that late.
  constexpr Nanos kIdleTick = 10'000'000;
  Nanos tick = busy_tick;
  int idle_looks = 0;
  Nanos held_back_since = 0;  // since when due preemptions were held back by the kernel's mask
  bool blocked_notice_given = false;
  std::uint64_t last = 0;
  Nanos since = monotonic_now();
  unsigned long long loads_seen = 0;
  for (;;) {
    pause_for(tick);
    const Nanos now = monotonic_now();
    look_for_foreign_threads(now);  // reads the thread list every 100 ms (foreign_threads.h)
    const std::uint64_t switches = __atomic_load_n(&p.hub->stats().switches, __ATOMIC_RELAXED);
    if (p.hub->loop_idle()) {
      if (++idle_looks >= 20 && tick < kIdleTick) tick = tick * 2 < kIdleTick ? tick * 2 : kIdleTick;
      last = switches;
      since = now;
      continue;
    }
    idle_looks = 0;
    // A thread seen spinning gets a short slice, and the monitor looks often enough to end it.
    const bool spinner = p.slice > kSpinSlice && p.hub->spinner_running();
    const Nanos slice = spinner ? kSpinSlice : p.slice;
    tick = spinner && kSpinSlice / 2 < busy_tick ? kSpinSlice / 2 : busy_tick;
    if (switches != last) {
      last = switches;
      since = now;
      continue;
    }
    const Nanos held = now - since;
    const bool may_hand_off = handoff && held >= handoff;
    const bool may_preempt = p.slice && held >= slice;
    if (!may_hand_off && !may_preempt) continue;
    // Libraries loaded since the last look (dlopen) may be ones never to preempt in.
    unsigned long long loads = 0;
    dl_iterate_phdr([](dl_phdr_info* info, std::size_t, void* data) {
      *static_cast<unsigned long long*>(data) = info->dlpi_adds;
      return 1;
    }, &loads);
    if (loads != loads_seen) {
      refresh_ranges();
      loads_seen = loads;
    }
    const pid_t tid = loop_os_thread(p.hub_tid);
    const SyscallSample sample = sample_syscall(tid);
    if (may_hand_off && try_handoff(*p.hub, sample, &program_code)) {
      since = now;
      continue;
    }
    if (!may_preempt || !p.signal || !worth_signalling(tid, sample)) continue;
    if (kernel_signal_mask(tid) & (std::uint64_t{1} << (p.signal - 1))) {
      // The program blocks the signal in every green thread (the OS mask is their
      // intersection): said once, when preemptions were due and held back for a whole second
      // (Perl blocks every signal in each new thread until it runs: a burst of thread creations
      // holds preemption back for a while, which is not worth a notice).
      if (!held_back_since) held_back_since = now;
      if (now - held_back_since >= 1'000'000'000 && !blocked_notice_given) {
        blocked_notice_given = true;
        warn(__atomic_load_n(p.hub->running_slot(), __ATOMIC_ACQUIRE),
             "every thread blocks SIGURG: no thread is preempted while they do",
             "leave SIGURG unblocked in one thread, or set GREENRUN_TIMESLICE=0 to say so");
      }
      continue;
    }
    held_back_since = 0;
    syscall(SYS_tgkill, getpid(), tid, p.signal);
  }
  return nullptr;
}

bool xsave_ready(const char** why) {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
  if (!(c & (1u << 27))) {  // OSXSAVE: the kernel has enabled XSAVE and XGETBV
    *why = "this CPU or kernel has no XSAVE, which preemption needs to save a thread's registers";
    return false;
  }
  __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
  greenrun_xsave_size = (b + 63) & ~63ul;  // EBX: the size for the features XCR0 enables
  return greenrun_xsave_size >= 576;
#else
  *why = "asynchronous preemption is written for x86-64 only";
  return false;
#endif
}

// Starts the monitor thread (in a RuntimeCall). 0 or a negative errno.
int spawn_monitor() {
  int rc = start_service_thread(&monitor, nullptr);
  // Until it has its name, a program listing its threads would take it for one of its own.
  while (rc == 0 && !g->named.load(std::memory_order_acquire)) sched_yield();
  return -rc;
}

}  // namespace

bool preemption_available(const char** why) {
  static const char* reason = nullptr;
  static const bool ready = xsave_ready(&reason);
  if (!ready && why) *why = reason;
  return ready;
}

int start_preemption(Hub& hub, Nanos slice, int signal) {
  if (g) return -EALREADY;
  if (slice > 0 && !preemption_available(nullptr)) return -ENOTSUP;
  if (slice <= 0) {  // the monitor for hand-off alone, or (without it) for raw clones alone
    slice = 0;
    signal = 0;
  }
  RuntimeCall runtime;  // pthread_create and friends must reach libc
  auto* p = new Preemption();
  p->hub = &hub;
  p->hub_tid = static_cast<pid_t>(syscall(SYS_gettid));
  p->slice = slice;
  p->signal = signal;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&start_preemption), &info))
    p->self_base = reinterpret_cast<std::uintptr_t>(info.dli_fbase);
  g = p;
  refresh_ranges();
  return spawn_monitor();
}

void restart_preemption_after_fork() {
  if (!g) return;
  // Only the forking thread survives fork: the child needs a monitor of its own, for its own
  // hub's OS thread (the signal's routing is inherited with the dispositions).
  RuntimeCall runtime;
  g->hub_tid = static_cast<pid_t>(syscall(SYS_gettid));
  g->named.store(false, std::memory_order_relaxed);
  spawn_monitor();
}

void on_preemption_signal(siginfo_t*, void* context) {
  take_blocking_sample();  // the blocking monitor samples with the same signal
#if defined(__x86_64__)
  if (!g || !g->signal) return;
  Hub* hub = g->hub;
  GreenThread* t = *hub->running_slot();
  // Only on the OS thread that runs the loop, never on a thread left away by a hand-off.
  if (!t || t != current() || t->away.load(std::memory_order_relaxed) || t->is_hub || t->in_runtime || t->handler_depth > 0 || t->state != ThreadState::running)
    return;
  if (!t->own_tls && t != hub->root()) return;  // greenlets share the OS thread's TLS
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  const auto pc = static_cast<std::uintptr_t>(regs[REG_RIP]);
  if (in_unsafe_code(pc)) return;
  // Caught in the same few bytes as last time: a loop that polls memory (compute moves on).
  const std::uintptr_t distance = pc > t->preempted_pc ? pc - t->preempted_pc : t->preempted_pc - pc;
  t->preempted_pc = pc;
  if (distance >= kSpinLoopBytes) t->spin_looks = 0;
  else if (t->spin_looks < 255) ++t->spin_looks;
  // Enter greenrun_async_preempt as if called from the interrupted instruction, below the
  // red zone; it returns there with `ret 128`.
  auto* sp = reinterpret_cast<std::uintptr_t*>(static_cast<std::uintptr_t>(regs[REG_RSP]) - 128);
  *--sp = pc;
  regs[REG_RSP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(sp));
  regs[REG_RIP] = static_cast<greg_t>(reinterpret_cast<std::uintptr_t>(&greenrun_async_preempt));
#else
  (void)context;
#endif
}

unsigned long long preemptions() { return g ? g->count.load(std::memory_order_relaxed) : 0; }

bool preemption_running() { return g && g->signal; }

}  // namespace greenrun::rt

void greenrun_preempted() {
  using namespace greenrun::rt;
  g->count.fetch_add(1, std::memory_order_relaxed);
  current()->hub->scheduler().preempted();
}
