// Green threads with TLS of their own (tls_block.h, thread_pointer.h): each sees its own
// __thread variables, errno and C++ exception state, initialised from the module's image, while
// threads without (greenlets, the root) keep sharing the OS thread's.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "hub.h"
#include "thread_pointer.h"
#include "tls_block.h"

using namespace greenrun;

namespace {

__thread int t_initialised = 42;  // .tdata: every block starts with the image's value
__thread int t_zeroed;            // .tbss
__thread char t_big[8192];        // a block larger than a page

struct Probe {
  int start_initialised = 0, start_zeroed = 0, start_big = 0;
  int own_errno = 0;
  void* tp = nullptr;
  void* self_pointer = nullptr;
  bool caught_own = false;
  int rounds = 0;
};

// Runs on a green thread: records what a new thread finds, then takes turns with the others,
// changing its own TLS in between and checking nobody else touched it.
void probe_body(rt::GreenThread* self) {
  auto* p = static_cast<Probe*>(self->user);
  p->start_initialised = t_initialised;
  p->start_zeroed = t_zeroed;
  p->start_big = t_big[sizeof t_big - 1];
  p->tp = rt::read_thread_pointer();
  p->self_pointer = reinterpret_cast<void*>(pthread_self());  // glibc: the descriptor's self
  const int mine = static_cast<int>(self->id);
  for (int i = 0; i < 3; ++i) {
    t_initialised = mine;
    t_zeroed = mine * 2;
    t_big[sizeof t_big - 1] = static_cast<char>(mine);
    try {
      throw std::runtime_error("mine");
    } catch (const std::exception&) {
      errno = mine;  // after the throw: unwinding may change errno
      self->hub->scheduler().yield();  // others run (and throw) while this one is in its catch
      p->caught_own = std::uncaught_exceptions() == 0;
    }
    if (t_initialised == mine && t_zeroed == mine * 2 && t_big[sizeof t_big - 1] == mine &&
        errno == mine)
      ++p->rounds;
    p->own_errno = errno;
  }
  self->hub->scheduler().exit_current();
}

}  // namespace

TEST_CASE("tls_block: this glibc's layout is known, so green pthreads get TLS of their own") {
  const char* why = nullptr;
  bool available = rt::tls::available(&why);
  CHECK_MESSAGE(available, (why ? why : ""));
  CHECK(rt::tls::static_size() > 2048);  // the descriptor alone is over 2 KiB
}

TEST_CASE("tls_block: each thread sees its own __thread variables, errno and exception state") {
  rt::Hub& hub = rt::Hub::get();
  REQUIRE(rt::tls::available());
  t_initialised = 7;  // the root's copy: new threads must still start from the image
  errno = 0;
  constexpr int kThreads = 4;
  Probe probes[kThreads];
  rt::GreenThread* threads[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    rt::ThreadSpec spec;
    spec.stack_size = 256 * 1024;
    spec.own_tls = true;
    int error = 0;
    threads[i] = hub.create_thread(&probe_body, &probes[i], spec, &error);
    REQUIRE_MESSAGE(threads[i], "error " << std::strerror(error));
    rt::retain(threads[i]);
    hub.scheduler().ready(threads[i]);
  }
  void* root_tp = rt::read_thread_pointer();
  for (int i = 0; i < 50 && hub.threads_alive() > 2; ++i) hub.scheduler().yield();
  CHECK(rt::read_thread_pointer() == root_tp);
  CHECK(t_initialised == 7);
  CHECK(errno == 0);
  for (int i = 0; i < kThreads; ++i) {
    CAPTURE(i);
    CHECK(probes[i].start_initialised == 42);
    CHECK(probes[i].start_zeroed == 0);
    CHECK(probes[i].start_big == 0);
    CHECK(probes[i].rounds == 3);
    CHECK(probes[i].caught_own);
    CHECK(probes[i].own_errno == static_cast<int>(threads[i]->id));
    CHECK(probes[i].tp != root_tp);
    CHECK(probes[i].self_pointer == probes[i].tp);  // glibc's THREAD_SELF is the new block
    for (int j = 0; j < i; ++j) CHECK(probes[i].tp != probes[j].tp);
    rt::release(threads[i]);
  }
}

TEST_CASE("tls_block: a stack too small for the TLS block is refused with EINVAL") {
  rt::Hub& hub = rt::Hub::get();
  REQUIRE(rt::tls::available());
  rt::ThreadSpec spec;
  spec.stack_size = 16 * 1024;
  spec.own_tls = true;
  alignas(64) static char tiny[4096 + 512];
  spec.user_stack = tiny;
  spec.stack_size = sizeof tiny;
  int error = 0;
  CHECK(hub.create_thread(&probe_body, nullptr, spec, &error) == nullptr);
  CHECK(error == EINVAL);
}

TEST_CASE("thread_pointer: names the way it is written on this machine") {
  std::string method = rt::thread_pointer_method();
  CHECK((method == "wrfsbase" || method == "arch_prctl" || method == "msr tpidr_el0"));
}
