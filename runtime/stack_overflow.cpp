// The stack-overflow handler. It runs on the alternate signal stack, looks only at the current
// green thread (an overflow happens on the stack in use), and writes only through
// write_diagnostic() (fatal()).
#include "stack_overflow.h"

#include <signal.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "diagnostics.h"
#include "green_thread.h"

namespace greenrun::rt {
namespace {

constexpr std::size_t kAltStackSize = 64 * 1024;
struct sigaction g_previous_segv;
struct sigaction g_previous_bus;
thread_local bool t_altstack_installed = false;

void chain(int sig, siginfo_t* info, void* uctx) {
  const struct sigaction& prev = sig == SIGSEGV ? g_previous_segv : g_previous_bus;
  if (prev.sa_flags & SA_SIGINFO) {
    prev.sa_sigaction(sig, info, uctx);
  } else if (prev.sa_handler == SIG_IGN) {
    return;
  } else if (prev.sa_handler != SIG_DFL) {
    prev.sa_handler(sig);
  } else {
    // Default action: restore it and return, so the faulting instruction faults again and the
    // process dies of the signal as it would have without us.
    signal(sig, SIG_DFL);
  }
}

[[gnu::noinline]] void green_thread_stack_overflow(const GreenThread* t) {
  char what[160];
  std::snprintf(what, sizeof what, "stack overflow (stack of %zu KiB exhausted)",
                t->stack.size / 1024);
  fatal(t, what,
        "give the thread a larger stack (GREENRUN_STACK_SIZE, pthread_attr_setstacksize or the "
        "stack_size argument)");
}

void on_fault(int sig, siginfo_t* info, void* uctx) {
  const GreenThread* t = current();
  // Canary stacks count too. A runaway recursion writes through the unguarded page below the
  // usable range and faults before any switch could check the canary: just under the mapping,
  // or, when the stack below is a neighbour in the same slab, only after running through it.
  // Either way the canary it wrote over first is gone, so a fault then is that overflow.
  if (t && t->stack.mapping &&
      (t->stack.overflow_address(info->si_addr) || !StackPool::canary_intact(t->stack)))
    green_thread_stack_overflow(t);
  chain(sig, info, uctx);
}

void install_process_handler() {
  struct sigaction sa {};
  sa.sa_sigaction = &on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, &g_previous_segv);
  sigaction(SIGBUS, &sa, &g_previous_bus);
}

}  // namespace

void install_overflow_handler() {
  static std::once_flag once;
  std::call_once(once, install_process_handler);
  if (t_altstack_installed) return;
  stack_t current_alt{};
  if (sigaltstack(nullptr, &current_alt) == 0 && !(current_alt.ss_flags & SS_DISABLE)) {
    t_altstack_installed = true;  // the program has its own; use it
    return;
  }
  void* mem = mmap(nullptr, kAltStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (mem == MAP_FAILED) return;
  stack_t alt{};
  alt.ss_sp = mem;
  alt.ss_size = kAltStackSize;
  if (sigaltstack(&alt, nullptr) == 0) t_altstack_installed = true;
}

}  // namespace greenrun::rt
