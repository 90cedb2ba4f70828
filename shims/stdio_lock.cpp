// Explicit FILE locking between green threads. glibc's FILE lock is recursive and records its
// owner as the thread descriptor, which each green pthread now has of its own: a green thread
// that parks while it holds the lock (flockfile, then a blocking call, then funlockfile) would
// make another green thread's flockfile wait in the kernel, with the whole OS thread, for a
// thread that can then never run. So a green thread's flockfile is ours: one owner per FILE,
// counted, and waiters park. glibc's lock is left to glibc's own short internal sections, which
// never park.
// Defines: flockfile ftrylockfile funlockfile
#include <stdio.h>

#include <unordered_map>

#include "export.h"
#include "hub.h"
#include "readiness.h"
#include "real.h"

namespace greenrun::shim {
namespace {

struct FileOwner {
  rt::GreenThread* owner = nullptr;
  unsigned count = 0;
};

// Only the hub's OS thread touches this; a FILE is in it while some green thread holds it.
std::unordered_map<FILE*, FileOwner>& held() {
  static auto* h = new std::unordered_map<FILE*, FileOwner>();  // leaked: see STYLE
  return *h;
}

// Takes `f` for the current thread; false (when `wait` is false) if another thread holds it.
bool take(FILE* f, bool wait) {
  rt::GreenThread* self = rt::current();
  for (;;) {
    FileOwner& o = held()[f];
    if (!o.owner || o.owner == self) {
      o.owner = self;
      ++o.count;
      return true;
    }
    if (!wait) return false;
    rt::Waiter w;
    self->hub->address_waiters().wait(f, w, rt::WaitReason::lock);
  }
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT void flockfile(FILE* f) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::stdio)) return real::flockfile(f);
  shim::take(f, true);
}

GREENRUN_EXPORT int ftrylockfile(FILE* f) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::stdio)) return real::ftrylockfile(f);
  return shim::take(f, false) ? 0 : shim::declined_at_once(1);
}

GREENRUN_EXPORT void funlockfile(FILE* f) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::stdio)) return real::funlockfile(f);
  auto& held = shim::held();
  auto it = held.find(f);
  if (it == held.end() || it->second.owner != rt::current()) {
    real::funlockfile(f);  // taken natively (before the hub existed, or off green threads)
    return;
  }
  if (--it->second.count > 0) return;
  held.erase(it);
  rt::current()->hub->address_waiters().wake(f, 1);
}
