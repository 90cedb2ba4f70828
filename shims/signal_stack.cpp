// sigaltstack per green thread. The kernel keeps one alternate signal stack per OS thread, which
// every green thread shares: a thread that disables "its" stack when it ends (Rust's std does it
// for every thread) would disable the one another thread installed, and a new thread would find
// an earlier thread's in place. So a green thread's alternate stack is a record of its own: it
// starts disabled, as a new thread's does, and what it sets is what it reads back, with the
// kernel's checks. The OS thread keeps the stack the hub installed for overflow reports (or the
// one the main thread set), and handlers with SA_ONSTACK run there.
// Defines: sigaltstack
#include <errno.h>
#include <signal.h>

#include <cstddef>

#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {
namespace {

constexpr int kAutoDisarm = static_cast<int>(1u << 31);  // SS_AUTODISARM (<linux/signal.h>)
// The kernel's MINSIGSTKSZ on x86-64 (what do_sigaltstack compares with; glibc's macro is now a
// sysconf() call, which may ask for more than the kernel does).
constexpr std::size_t kKernelMinStack = 2048;

int own_sigaltstack(PosixThread* p, const stack_t* ss, stack_t* old) {
  if (ss) {
    // The kernel's checks (do_sigaltstack): only SS_DISABLE and SS_AUTODISARM are flags one may
    // set, and an enabled stack must hold MINSIGSTKSZ bytes.
    const int mode = ss->ss_flags & ~kAutoDisarm;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK) return EINVAL;
    if (mode != SS_DISABLE && ss->ss_size < kKernelMinStack) return ENOMEM;
  }
  if (old) *old = p->alt_stack;
  if (ss) {
    if ((ss->ss_flags & ~kAutoDisarm) == SS_DISABLE)
      p->alt_stack = stack_t{nullptr, SS_DISABLE, 0};
    else
      p->alt_stack = stack_t{ss->ss_sp, ss->ss_flags & kAutoDisarm, ss->ss_size};
  }
  return 0;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int sigaltstack(const stack_t* ss, stack_t* old) noexcept {
  shim::PosixThread* p = rt::on_green_thread() ? shim::self() : nullptr;
  if (!p || p->green->is_root) return real::sigaltstack(ss, old);  // the OS thread's own
  int error = shim::own_sigaltstack(p, ss, old);
  if (error == 0) return 0;
  errno = error;
  return -1;
}
