// Start-up: configuration is read before main (so a bad GREENRUN_* value stops the program
// there); the hub is made on the first call that needs one.
#include "startup.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"
#include "thread_report.h"

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

[[gnu::constructor]] void load_config_before_main() { (void)config(); }

}  // namespace

bool on_main_os_thread() { return gettid() == getpid(); }

rt::Hub* ensure_hub() {
  if (rt::Hub* hub = rt::Hub::get_if_exists()) return hub;
  if (!on_main_os_thread()) return nullptr;
  rt::Hub& hub = rt::Hub::get();
  hub.set_default_stack_size(config().stack_size);
  hub.set_deadlock_handler(&report_deadlock);
  shim::adopt_root(hub.root());
  return &hub;
}

}  // namespace greenrun::preload
