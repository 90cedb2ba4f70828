// In C++, pthread_exit and cancellation unwind the thread's stack: destructors of locals run,
// innermost first, catch (abi::__forced_unwind&) sees the unwind and must rethrow it, and
// pthread_cleanup_push handlers run in order with the destructors around them.
#include "progs.h"  // first: it defines _GNU_SOURCE
#include <cxxabi.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace {

std::atomic<bool> ready{false};

void wait_ready() {
  while (!ready.exchange(false)) usleep(1000);
  usleep(20000);  // let it get from the flag into the blocking call
}

struct Noisy {
  std::string name;
  explicit Noisy(std::string n) : name(std::move(n)) { std::printf("  construct %s\n", name.c_str()); }
  ~Noisy() { std::printf("  destroy %s\n", name.c_str()); }
};

void handler(void* text) { std::printf("  handler: %s\n", static_cast<const char*>(text)); }

int exit_depth = 2;

void nested(int depth) {
  Noisy local("nested " + std::to_string(depth));
  if (depth < exit_depth)
    nested(depth + 1);
  else if (depth == exit_depth)
    pthread_exit(reinterpret_cast<void*>(42));
}

void* exits_nested(void*) {
  Noisy outer("exit outer");
  nested(0);
  return nullptr;
}

void* cancelled_in_sleep(void*) {
  note_os_threads();
  Noisy outer("sleep outer");
  try {
    Noisy inner("sleep inner");
    pthread_cleanup_push(handler, const_cast<char*>("sleep handler"));
    Noisy innermost("sleep innermost");
    ready = true;
    sleep(100);
    std::printf("  not reached: sleep returned\n");
    pthread_cleanup_pop(0);
  } catch (abi::__forced_unwind&) {
    std::printf("  caught abi::__forced_unwind, rethrowing\n");
    throw;
  }
  return nullptr;
}

pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t never = PTHREAD_COND_INITIALIZER;

struct Unlocker {
  ~Unlocker() {
    std::printf("  destroy Unlocker, mutex held by me: %s\n",
                pthread_mutex_trylock(&m) == EBUSY ? "yes" : "no");
    pthread_mutex_unlock(&m);
  }
};

void* cancelled_in_cond_wait(void*) {
  pthread_mutex_lock(&m);
  Unlocker unlock;
  Noisy local("cond_wait local");
  ready = true;
  for (;;) pthread_cond_wait(&never, &m);
  return nullptr;
}

void* catch_all_rethrows(void*) {
  Noisy local("catch-all local");
  try {
    ready = true;
    sleep(100);
  } catch (...) {
    std::printf("  catch (...) saw the unwind, rethrowing\n");
    throw;
  }
  return nullptr;
}

const char* describe(void* r) {
  if (r == PTHREAD_CANCELED) return "PTHREAD_CANCELED";
  if (r == reinterpret_cast<void*>(42)) return "42";
  return "other";
}

}  // namespace

int main() {
  pthread_t t;
  void* r;

  std::printf("pthread_exit from depth 2\n");
  CHECK_RC(pthread_create(&t, nullptr, exits_nested, nullptr), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  std::printf("joined: %s\n", describe(r));

  std::printf("cancel in sleep\n");
  CHECK_RC(pthread_create(&t, nullptr, cancelled_in_sleep, nullptr), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  std::printf("joined: %s\n", describe(r));

  std::printf("cancel in cond_wait\n");
  CHECK_RC(pthread_create(&t, nullptr, cancelled_in_cond_wait, nullptr), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  std::printf("joined: %s\n", describe(r));
  std::printf("mutex free afterwards: %s\n", pthread_mutex_trylock(&m) == 0 ? "yes" : "no");
  pthread_mutex_unlock(&m);

  std::printf("cancel through catch (...)\n");
  CHECK_RC(pthread_create(&t, nullptr, catch_all_rethrows, nullptr), 0);
  wait_ready();
  CHECK_RC(pthread_cancel(t), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  std::printf("joined: %s\n", describe(r));

  std::fflush(stdout);
  report_os_threads();
  return 0;
}
