// The watch for threads made by a raw clone: a task without a robust-futex list is named once,
// after the grace, and never a thread glibc started (pthread_create, its own timer helper),
// one that ended meanwhile, or the kernel's io_uring worker.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "clock.h"
#include "foreign_threads.h"

using namespace greenrun;
using rt::ForeignThreadWatch;
using rt::kForeignThreadsGrace;
using rt::kForeignThreadsPeriod;
using rt::Nanos;

namespace {

// A thread made by clone() alone, as a runtime without libc makes one: its own stack, the
// caller's TLS. It names itself and waits for `stop`; its tid word is cleared when it has gone.
struct RawThread {
  alignas(16) char stack[64 * 1024];
  std::atomic<bool> stop{false};
  std::atomic<bool> named{false};
  int gate = 1;   // with wait_first: the thread waits until open() makes this 0
  bool wait_first = false;
  pid_t tid = 0;  // CLONE_PARENT_SETTID / CLONE_CHILD_CLEARTID

  static int body(void* arg) {
    auto* self = static_cast<RawThread*>(arg);
    syscall(SYS_prctl, PR_SET_NAME, "raw-clone", 0, 0, 0);
    self->named.store(true);
    while (self->wait_first && __atomic_load_n(&self->gate, __ATOMIC_ACQUIRE))
      syscall(SYS_futex, &self->gate, FUTEX_WAIT_PRIVATE, 1, nullptr, nullptr, 0);
    while (!self->stop.load()) sched_yield();
    return 0;
  }
  void open() {
    __atomic_store_n(&gate, 0, __ATOMIC_RELEASE);
    syscall(SYS_futex, &gate, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  void start() {
    const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                      CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    REQUIRE(clone(&body, stack + sizeof stack, flags, this, &tid, nullptr, &tid) > 0);
    while (!named.load()) sched_yield();
  }
  void end() {
    stop.store(true);
    while (__atomic_load_n(&tid, __ATOMIC_ACQUIRE) != 0) sched_yield();
  }
};

// The watch's reports, through a pipe.
struct Reports {
  int fds[2];
  Reports() { REQUIRE(pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0); }
  ~Reports() {
    close(fds[0]);
    close(fds[1]);
  }
  std::string take() {
    std::string text;
    char buf[1024];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, n);
    return text;
  }
};

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// Looks every 5 ms of real time for three periods: long enough for glibc to have registered
// the robust list of every thread it was starting, and for any suspect's grace to pass.
void look_over_a_while(ForeignThreadWatch& watch) {
  const Nanos end = rt::monotonic_now() + 3 * kForeignThreadsPeriod;
  for (Nanos now; (now = rt::monotonic_now()) < end; usleep(5000)) watch.look(now);
}

}  // namespace

TEST_CASE("foreign_threads: the main thread and a pthread are started by libc, a clone is not") {
  CHECK(rt::started_by_libc(getpid()) == 1);
  pid_t pthread_tid = 0;
  std::atomic<bool> stop{false};
  struct Args {
    pid_t* tid;
    std::atomic<bool>* stop;
  } args{&pthread_tid, &stop};
  pthread_t t;
  REQUIRE(pthread_create(&t, nullptr, [](void* p) -> void* {
    auto* a = static_cast<Args*>(p);
    __atomic_store_n(a->tid, gettid(), __ATOMIC_RELEASE);
    while (!a->stop->load()) sched_yield();
    return nullptr;
  }, &args) == 0);
  while (!__atomic_load_n(&pthread_tid, __ATOMIC_ACQUIRE)) sched_yield();
  CHECK(rt::started_by_libc(pthread_tid) == 1);
  stop.store(true);
  pthread_join(t, nullptr);

  static RawThread raw;
  raw.start();
  const pid_t raw_tid = raw.tid;
  CHECK(rt::started_by_libc(raw_tid) == 0);
  raw.end();
  // Gone, once the kernel has finished its exit (its list is dropped first, on the way out).
  for (int i = 0; i < 1000 && rt::started_by_libc(raw_tid) != -1; ++i) usleep(1000);
  CHECK(rt::started_by_libc(raw_tid) == -1);
}

TEST_CASE("foreign_threads: a thread made by clone alone is named once, after the grace") {
  static RawThread raw;
  raw.start();
  Reports reports;
  ForeignThreadWatch watch(reports.fds[1]);
  const Nanos start = rt::monotonic_now();
  watch.look(start);
  watch.look(start + kForeignThreadsGrace - 1);
  CHECK(reports.take() == "");  // a thread glibc is starting may not have its list yet
  look_over_a_while(watch);
  const std::string text = reports.take();
  const std::string named = "greenrun: thread " + std::to_string(raw.tid) +
                            " (raw-clone) was not made by pthread_create (a raw clone): it runs "
                            "natively beside the green threads";
  raw.end();
  CHECK(count_lines(text) == 1);
  CHECK(watch.reported() == 1);
  CHECK_MESSAGE(text.rfind(named, 0) == 0, text);
}

TEST_CASE("foreign_threads: a clone is judged once it has run, not before") {
  // A thread glibc starts registers its list in its first microseconds of CPU, but may wait
  // long for a CPU first: one that has barely run (here a clone that waits at once) is not
  // judged yet. Once it runs, it is named.
  static RawThread raw;
  raw.wait_first = true;
  raw.start();
  Reports reports;
  ForeignThreadWatch watch(reports.fds[1]);
  look_over_a_while(watch);
  CHECK(reports.take() == "");
  raw.open();
  look_over_a_while(watch);
  const std::string text = reports.take();
  raw.end();
  CHECK_MESSAGE(count_lines(text) == 1, text);
  CHECK_MESSAGE(text.find(" (raw-clone) was not made by pthread_create") != std::string::npos,
                text);
}

TEST_CASE("foreign_threads: a clone that ends within the grace is not named") {
  static RawThread raw;
  raw.start();
  Reports reports;
  ForeignThreadWatch watch(reports.fds[1]);
  const Nanos start = rt::monotonic_now();
  watch.look(start);
  raw.end();
  look_over_a_while(watch);
  CHECK(reports.take() == "");
  CHECK(watch.reported() == 0);
}

TEST_CASE("foreign_threads: threads glibc or the kernel started are never named") {
  // A pthread, glibc's timer helper (made by glibc's own pthread_create, which no interposer
  // sees), and where io_uring is allowed, its SQPOLL kernel thread, which has no robust list.
  std::atomic<bool> stop{false};
  pthread_t t;
  REQUIRE(pthread_create(&t, nullptr, [](void* p) -> void* {
    while (!static_cast<std::atomic<bool>*>(p)->load()) sched_yield();
    return nullptr;
  }, &stop) == 0);
  sigevent event{};
  event.sigev_notify = SIGEV_THREAD;
  event.sigev_notify_function = [](sigval) {};
  timer_t timer;
  REQUIRE(timer_create(CLOCK_MONOTONIC, &event, &timer) == 0);
  io_uring_params params{};
  params.flags = IORING_SETUP_SQPOLL;
  params.sq_thread_idle = 1000;
  const int ring = static_cast<int>(syscall(SYS_io_uring_setup, 4, &params));
  MESSAGE(std::string(ring >= 0 ? "io_uring's SQPOLL thread is there" : "io_uring is not allowed here"));

  Reports reports;
  ForeignThreadWatch watch(reports.fds[1]);
  look_over_a_while(watch);
  CHECK(reports.take() == "");
  CHECK(watch.reported() == 0);

  if (ring >= 0) close(ring);
  timer_delete(timer);
  stop.store(true);
  pthread_join(t, nullptr);
}
