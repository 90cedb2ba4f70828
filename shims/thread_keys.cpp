// Thread-specific data. Keys are created by glibc (so native threads and glibc agree on the
// numbers); the values of green threads live in their PosixThread, tagged with the key's
// generation so a deleted and re-created key reads NULL, as glibc's do. The main thread keeps
// using glibc's storage, which it already used before the hub existed.
// Defines: pthread_key_create pthread_key_delete pthread_getspecific pthread_setspecific
#include <errno.h>
#include <pthread.h>

#include <mutex>

#include "export.h"
#include "spin_lock.h"
#include "handoff.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {
namespace {

struct KeySlot {
  std::uint64_t generation = 0;  // 0: not in use
  void (*destructor)(void*) = nullptr;
};

// Indexed by key. Any OS thread may create or delete keys, hence the lock; a spin lock, because
// pthread_mutex_lock is ours to interpose and must not be used to implement itself. The table
// is fixed (glibc has PTHREAD_KEYS_MAX keys) so that nothing allocates under the lock: an
// allocator's first malloc (jemalloc's) creates a key of its own from inside the allocation
// that a growing table would have made here, on the same OS thread.
rt::SpinLock keys_lock;
using KeysGuard = std::lock_guard<rt::SpinLock>;

constexpr std::size_t kKeys = PTHREAD_KEYS_MAX;
KeySlot key_table[kKeys];

std::uint64_t next_generation = 1;

bool uses_glibc_storage(PosixThread* p) { return !p || p->green->is_root; }

}  // namespace

// Green threads are the only readers of their own values; the lock is for the key table.
void run_key_destructors(PosixThread* p) {
  if (uses_glibc_storage(p)) return;  // glibc runs the main thread's at exit
  for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; ++round) {
    bool again = false;
    for (std::size_t key = 0; key < p->specific.size(); ++key) {
      auto [generation, value] = p->specific[key];
      void (*destructor)(void*) = nullptr;
      {
        KeysGuard lock(keys_lock);
        if (!value || key >= kKeys || key_table[key].generation != generation) continue;
        destructor = key_table[key].destructor;
      }
      p->specific[key].second = nullptr;
      if (destructor) {
        destructor(const_cast<void*>(value));
        rt::return_to_scheduler();
        again = true;
      }
    }
    if (!again) break;
  }
  p->specific.clear();
  p->specific.shrink_to_fit();
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int pthread_key_create(pthread_key_t* key, void (*destructor)(void*)) noexcept {
  int rc = real::pthread_key_create(key, destructor);
  if (rc != 0) return rc;
  if (*key >= shim::kKeys) return 0;  // not glibc's: it never gives more than PTHREAD_KEYS_MAX
  shim::KeysGuard lock(shim::keys_lock);
  shim::key_table[*key] = shim::KeySlot{shim::next_generation++, destructor};
  return 0;
}

GREENRUN_EXPORT int pthread_key_delete(pthread_key_t key) noexcept {
  int rc = real::pthread_key_delete(key);
  if (rc != 0 || key >= shim::kKeys) return rc;
  shim::KeysGuard lock(shim::keys_lock);
  shim::key_table[key] = shim::KeySlot{};
  return rc;
}

GREENRUN_EXPORT void* pthread_getspecific(pthread_key_t key) noexcept {
  shim::PosixThread* p = rt::on_green_thread(rt::CallFamily::thread) ? shim::self() : nullptr;
  if (shim::uses_glibc_storage(p)) return real::pthread_getspecific(key);
  if (key >= p->specific.size()) return nullptr;
  auto [generation, value] = p->specific[key];
  shim::KeysGuard lock(shim::keys_lock);
  return key < shim::kKeys && generation == shim::key_table[key].generation
             ? const_cast<void*>(value)
             : nullptr;
}

GREENRUN_EXPORT int pthread_setspecific(pthread_key_t key, const void* value) noexcept {
  shim::PosixThread* p = rt::on_green_thread(rt::CallFamily::thread) ? shim::self() : nullptr;
  if (shim::uses_glibc_storage(p)) return real::pthread_setspecific(key, value);
  std::uint64_t generation;
  {
    shim::KeysGuard lock(shim::keys_lock);
    if (key >= shim::kKeys || shim::key_table[key].generation == 0) return EINVAL;
    generation = shim::key_table[key].generation;
  }
  if (p->specific.size() <= key) p->specific.resize(key + 1);
  p->specific[key] = {generation, value};
  return 0;
}
