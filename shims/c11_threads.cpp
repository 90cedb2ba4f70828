// C11 <threads.h>. glibc implements these on its internal pthread functions, which our
// interposed pthread_* never see, so each is wrapped here on top of the pthread shims (called
// directly: they already decide between green and real).
// Defines: thrd_create thrd_join thrd_detach thrd_exit thrd_current thrd_equal mtx_init
//          mtx_lock mtx_trylock mtx_timedlock mtx_unlock mtx_destroy cnd_init cnd_signal
//          cnd_broadcast cnd_wait cnd_timedwait cnd_destroy tss_create tss_delete tss_get
//          tss_set call_once
#include <errno.h>
#include <pthread.h>
#include <threads.h>

#include <cstdint>
#include <new>

#include "export.h"

namespace {

// glibc's mapping from pthread error numbers to thrd_* results.
int to_thrd(int error) {
  switch (error) {
    case 0: return thrd_success;
    case ENOMEM: case EAGAIN: return thrd_nomem;
    case ETIMEDOUT: return thrd_timedout;
    case EBUSY: return thrd_busy;
    default: return thrd_error;
  }
}

struct Start {
  thrd_start_t fn;
  void* arg;
};

void* run_c11(void* p) {
  Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(start.fn(start.arg)));
}

}  // namespace

GREENRUN_EXPORT int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
  auto* start = new (std::nothrow) Start{fn, arg};
  if (!start) return thrd_nomem;
  int rc = pthread_create(reinterpret_cast<pthread_t*>(thr), nullptr, &run_c11, start);
  if (rc != 0) delete start;
  return to_thrd(rc);
}

GREENRUN_EXPORT int thrd_join(thrd_t thr, int* result) {
  void* value = nullptr;
  int rc = pthread_join(thr, &value);
  if (rc == 0 && result) *result = static_cast<int>(reinterpret_cast<std::intptr_t>(value));
  return rc == 0 ? thrd_success : thrd_error;
}

GREENRUN_EXPORT int thrd_detach(thrd_t thr) noexcept {
  return pthread_detach(thr) == 0 ? thrd_success : thrd_error;
}

GREENRUN_EXPORT void thrd_exit(int result) {
  pthread_exit(reinterpret_cast<void*>(static_cast<std::intptr_t>(result)));
}

GREENRUN_EXPORT thrd_t thrd_current(void) noexcept { return pthread_self(); }

GREENRUN_EXPORT int thrd_equal(thrd_t a, thrd_t b) noexcept { return a == b; }

GREENRUN_EXPORT int mtx_init(mtx_t* m, int type) noexcept {
  if (type != mtx_plain && type != mtx_timed && type != (mtx_plain | mtx_recursive) &&
      type != (mtx_timed | mtx_recursive))
    return thrd_error;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, (type & mtx_recursive) ? PTHREAD_MUTEX_RECURSIVE
                                                          : PTHREAD_MUTEX_NORMAL);
  int rc = pthread_mutex_init(reinterpret_cast<pthread_mutex_t*>(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return to_thrd(rc);
}

GREENRUN_EXPORT int mtx_lock(mtx_t* m) {
  return to_thrd(pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(m)));
}

GREENRUN_EXPORT int mtx_trylock(mtx_t* m) {
  return to_thrd(pthread_mutex_trylock(reinterpret_cast<pthread_mutex_t*>(m)));
}

GREENRUN_EXPORT int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return to_thrd(pthread_mutex_timedlock(reinterpret_cast<pthread_mutex_t*>(m), t));
}

GREENRUN_EXPORT int mtx_unlock(mtx_t* m) {
  return to_thrd(pthread_mutex_unlock(reinterpret_cast<pthread_mutex_t*>(m)));
}

GREENRUN_EXPORT void mtx_destroy(mtx_t* m) noexcept {
  pthread_mutex_destroy(reinterpret_cast<pthread_mutex_t*>(m));
}

GREENRUN_EXPORT int cnd_init(cnd_t* c) noexcept {
  return to_thrd(pthread_cond_init(reinterpret_cast<pthread_cond_t*>(c), nullptr));
}

GREENRUN_EXPORT int cnd_signal(cnd_t* c) noexcept {
  return to_thrd(pthread_cond_signal(reinterpret_cast<pthread_cond_t*>(c)));
}

GREENRUN_EXPORT int cnd_broadcast(cnd_t* c) noexcept {
  return to_thrd(pthread_cond_broadcast(reinterpret_cast<pthread_cond_t*>(c)));
}

GREENRUN_EXPORT int cnd_wait(cnd_t* c, mtx_t* m) {
  return to_thrd(pthread_cond_wait(reinterpret_cast<pthread_cond_t*>(c),
                                   reinterpret_cast<pthread_mutex_t*>(m)));
}

GREENRUN_EXPORT int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m,
                                  const struct timespec* __restrict t) {
  return to_thrd(pthread_cond_timedwait(reinterpret_cast<pthread_cond_t*>(c),
                                        reinterpret_cast<pthread_mutex_t*>(m), t));
}

GREENRUN_EXPORT void cnd_destroy(cnd_t* c) noexcept {
  pthread_cond_destroy(reinterpret_cast<pthread_cond_t*>(c));
}

GREENRUN_EXPORT int tss_create(tss_t* key, tss_dtor_t destructor) noexcept {
  return pthread_key_create(reinterpret_cast<pthread_key_t*>(key), destructor) == 0 ? thrd_success
                                                                                     : thrd_error;
}

GREENRUN_EXPORT void tss_delete(tss_t key) noexcept { pthread_key_delete(key); }

GREENRUN_EXPORT void* tss_get(tss_t key) noexcept { return pthread_getspecific(key); }

GREENRUN_EXPORT int tss_set(tss_t key, void* value) noexcept {
  return pthread_setspecific(key, value) == 0 ? thrd_success : thrd_error;
}

GREENRUN_EXPORT void call_once(once_flag* flag, void (*fn)(void)) {
  pthread_once(reinterpret_cast<pthread_once_t*>(flag), fn);
}
