// Start-up: configuration is read before main (so a bad GREENRUN_* value stops the program
// there); the hub is made on the first call that needs one.
#include "startup.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "config.h"
#include "diagnostics.h"
#include "handoff.h"
#include "hub.h"
#include "observe.h"
#include "posix_thread.h"
#include "preemption.h"
#include "process_shim.h"
#include "signal_shim.h"
#include "real.h"
#include "thread_report.h"
#include "threadpool.h"
#include "tls_block.h"

namespace greenrun::preload {
namespace {

// Every thread is blocked on something only another thread could change. A native program
// would hang here; so do we, after saying why once.
void report_deadlock(rt::Hub& hub) {
  static bool reported = false;
  if (!reported) {
    reported = true;
    rt::report_threads(hub, 2,
                       "greenrun: deadlock: every green thread is blocked and nothing can wake "
                       "them (the program would hang natively too):\n");
  }
  hub.add_external_waker();  // keep the loop waiting (a signal or another OS thread may act)
}

// GREENRUN_INHERIT=0: our library leaves this process's LD_PRELOAD, so programs it execs (and
// the shells of system and popen) start without it. LD_PRELOAD separates entries by spaces or
// colons; an entry is ours if it names this very file (dladdr) or a file called
// libgreenrun.so.
bool is_us(const char* entry, std::size_t length, const char* our_path) {
  std::string_view e(entry, length);
  if (our_path && e == our_path) return true;
  std::size_t slash = e.rfind('/');
  return e.substr(slash == std::string_view::npos ? 0 : slash + 1) == "libgreenrun.so";
}

void leave_ld_preload() {
  const char* value = std::getenv("LD_PRELOAD");
  if (!value) return;
  Dl_info info{};
  const char* our_path =
      dladdr(reinterpret_cast<void*>(&leave_ld_preload), &info) ? info.dli_fname : nullptr;
  std::string kept;
  for (const char* p = value; *p;) {
    std::size_t n = std::strcspn(p, " :");
    if (n > 0 && !is_us(p, n, our_path)) {
      if (!kept.empty()) kept += ' ';
      kept.append(p, n);
    }
    p += n;
    if (*p) ++p;
  }
  if (kept.empty()) unsetenv("LD_PRELOAD");
  else setenv("LD_PRELOAD", kept.c_str(), 1);
}

[[gnu::constructor]] void load_config_before_main() {
  if (!config().inherit) leave_ld_preload();
  rt::FdTable::note_inherited();
  shim::note_forks();
}

// The monitor thread. GREENRUN_HANDOFF_MS: when the loop's OS thread has sat that long in a
// system call the program made itself (a raw futex, a disk read), the loop moves to another OS
// thread. GREENRUN_TIMESLICE: a thread that runs a whole slice without switching is preempted,
// with SIGURG as Go does (ignored by default, rarely used). A program that handles SIGURG
// itself keeps it, and is told once that nothing is preempted then. In every mode the monitor
// names the threads no pthread_create made (runtime/foreign_threads.h).
constexpr int kPreemptSignal = SIGURG;

void start_monitor(rt::Hub& hub) {
  if (config().handoff_ms && config().own_tls && rt::tls::available()) {
    if (rt::enable_handoff(hub, rt::Nanos{config().handoff_ms} * 1'000'000) != 0)
      rt::warn(hub.root(), "cannot prepare the hand-off of the loop (GREENRUN_HANDOFF_MS)",
               "check the memory limit (ulimit -v)");
  }
  rt::Nanos slice = rt::Nanos{config().timeslice_ms} * 1'000'000;
  if (!rt::preemption_available(nullptr)) slice = 0;
  if (slice && !shim::preempt_with(kPreemptSignal, &rt::on_preemption_signal)) {
    rt::warn(hub.root(), "the program handles SIGURG itself, so no thread is preempted (a thread that never parks stalls the others)",
             "set GREENRUN_TIMESLICE=0 to say so");
    slice = 0;
  }
  // With neither, the monitor still runs, every 100 ms, to name threads made by raw clones.
  if (rt::start_preemption(hub, slice, slice ? kPreemptSignal : 0) != 0)
    rt::warn(hub.root(), "cannot start the monitor thread (GREENRUN_TIMESLICE, GREENRUN_HANDOFF_MS)",
             "check the limit on threads (ulimit -u)");
}

// Pool threads: enough for about 64 name lookups at once.
constexpr unsigned kThreadpoolSize = 64;

}  // namespace

bool on_main_os_thread() { return gettid() == getpid(); }

rt::Hub* ensure_hub() {
  if (rt::Hub* hub = rt::Hub::get_if_exists()) return hub;
  if (!on_main_os_thread()) return nullptr;
  // Enough pool threads for about 64 name lookups at once (shims/dns.cpp); they start only as
  // lookups need them. The pool is greenrun's own, so the program's environment and a libuv it
  // uses itself are left alone.
  rt::size_threadpool(kThreadpoolSize);
  rt::Hub& hub = rt::Hub::get();
  // On the main OS thread, before any green thread has TLS of its own: the check builds its
  // probe block from this thread's.
  const char* why = nullptr;
  if (config().own_tls && !rt::tls::available(&why))
    rt::warn(hub.root(), why,
             "green threads share the main thread's thread-local storage, errno and thread "
             "descriptor; report this glibc version to greenrun");
  if (config().stack_size) hub.set_default_stack_size(config().stack_size);
  hub.set_deadlock_handler(&report_deadlock);
  hub.set_interrupt_hook(&shim::test_cancel);
  hub.set_resume_hook([](rt::GreenThread* t) {
    if (auto* p = static_cast<shim::PosixThread*>(t->posix)) shim::take_pending_signals(p);
  });
  shim::adopt_root(hub.root());
  shim::adopt_early_handlers();
  start_monitor(hub);  // first: the blocking monitor's sampler then shares its signal
  start_observers(hub);
  return &hub;
}

}  // namespace greenrun::preload
