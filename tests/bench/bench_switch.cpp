// Cost of one one-way switch, each measured as a ping-pong between two contexts:
//   switch.swapcontext   glibc swapcontext between two ucontexts (the anchor: it makes an
//                        rt_sigprocmask system call per switch)
//   switch.raw           rt::context_switch, the bare register switch of the compiled-in backend,
//                        both sides running the same loop
//   switch.raw_two_sites the same, each side switching from its own loop
//   switch.greenlet      greenrun::Greenlet::switch_to() with no value (the full greenlet switch:
//                        errno, exception state, canary check, settrace hook, value passing)
//   switch.greenlet_symmetric  the same with both sides switching from one loop (no mispredicted
//                        return: compare raw with raw_two_sites)
//   switch.greenlet_value  the same handing an int over each way
//   switch.c_api         greenrun_switch(g, ptr) from C
//   park.scheduler       two green threads alternating through rt::Scheduler: ready(other) then
//                        park(); each one-way switch is one ready + one park + one switch
//   park.event           the same through the API: two greenrun::Event, set() + wait() + clear()
//   park.scheduler_tls   park.scheduler between two threads with TLS of their own (as the
//                        preload's pthreads have): each switch also moves the thread pointer
//   tp.write             the anchor for that: write_thread_pointer() alone, as the switch does it
//                        (wrfsbase here, when the kernel allows it)
//   tp.arch_prctl        arch_prctl(ARCH_SET_FS) alone, the system call wrfsbase replaces
// Every figure is ns per one-way switch, the best of several runs.
#include <sys/mman.h>
#include <ucontext.h>

#include <any>
#include <cstdint>
#include <limits>

#include "bench.h"
#include "context.h"
#include "greenrun.h"
#include "greenrun.hpp"
#include "hub.h"
#include "scheduler.h"
#include "thread_pointer.h"
#include "tls_block.h"

#include <asm/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// ---- (a) swapcontext ----

ucontext_t uc_main, uc_peer;

void uc_peer_body() {
  for (;;) swapcontext(&uc_peer, &uc_main);
}

double bench_swapcontext(long round_trips) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  getcontext(&uc_peer);
  uc_peer.uc_stack.ss_sp = stack;
  uc_peer.uc_stack.ss_size = sizeof stack;
  uc_peer.uc_link = nullptr;
  makecontext(&uc_peer, &uc_peer_body, 0);
  return bench::best_ns_per_op(bench::runs(), 2 * round_trips, [&] {
    for (long i = 0; i < round_trips; ++i) swapcontext(&uc_main, &uc_peer);
  });
}

// ---- (b) the raw register switch ----
// `raw`: both contexts run the same loop, so each side resumes at the address the other left
// from and the return-stack predictor is always right: the cost of the switch itself.
// `raw_two_sites`: each side switches from its own loop, as in any ping-pong between two
// different pieces of code; each switch then costs one mispredicted return on top.

greenrun::rt::Context raw_main, raw_peer;
bool raw_symmetric = true;

[[gnu::noinline]] void raw_loop(greenrun::rt::Context& me, greenrun::rt::Context& other,
                                long round_trips) {
  for (long i = 0; i < round_trips; ++i) greenrun::rt::context_switch(me, other);
}

void raw_peer_body() {
  if (raw_symmetric) raw_loop(raw_peer, raw_main, std::numeric_limits<long>::max());
  for (;;) greenrun::rt::context_switch(raw_peer, raw_main);
}

double bench_raw(long round_trips, bool symmetric) {
  constexpr std::size_t kSize = 64 * 1024;
  static void* stack = nullptr;
  if (!stack) {
    stack = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) bench::die("mmap failed");
  }
  raw_symmetric = symmetric;
  // The peer never ends; making a context on the same stack again simply starts it over.
  greenrun::rt::context_make(raw_peer, stack, kSize, &raw_peer_body);
  if (symmetric)
    return bench::best_ns_per_op(bench::runs(), 2 * round_trips,
                                 [&] { raw_loop(raw_main, raw_peer, round_trips); });
  return bench::best_ns_per_op(bench::runs(), 2 * round_trips, [&] {
    for (long i = 0; i < round_trips; ++i) greenrun::rt::context_switch(raw_main, raw_peer);
  });
}

// ---- (c) greenlet switch, C++ and C ----

double bench_greenlet(long round_trips) {
  greenrun::Greenlet main = greenrun::Greenlet::current();
  greenrun::Greenlet peer([&main](std::any) -> std::any {
    for (;;) main.switch_to();
  });
  double ns = bench::best_ns_per_op(bench::runs(), 2 * round_trips, [&] {
    for (long i = 0; i < round_trips; ++i) peer.switch_to();
  });
  return ns;  // peer is destroyed suspended: GreenletExit unwinds it
}

// Both sides switch from the same loop: no mispredicted return (compare raw vs raw_two_sites).
[[gnu::noinline]] void greenlet_loop(greenrun::Greenlet& other, long round_trips) {
  for (long i = 0; i < round_trips; ++i) other.switch_to();
}

double bench_greenlet_symmetric(long round_trips) {
  greenrun::Greenlet main = greenrun::Greenlet::current();
  greenrun::Greenlet peer([&main](std::any) -> std::any {
    greenlet_loop(main, std::numeric_limits<long>::max());
    return {};
  });
  return bench::best_ns_per_op(bench::runs(), 2 * round_trips,
                               [&] { greenlet_loop(peer, round_trips); });
}

double bench_greenlet_value(long round_trips) {
  greenrun::Greenlet main = greenrun::Greenlet::current();
  greenrun::Greenlet peer([&main](std::any v) -> std::any {
    for (;;) v = main.switch_to(std::any(std::any_cast<int>(v) + 1));
  });
  long sum = 0;
  double ns = bench::best_ns_per_op(bench::runs(), 2 * round_trips, [&] {
    for (long i = 0; i < round_trips; ++i)
      sum += std::any_cast<int>(peer.switch_to(std::any(static_cast<int>(i))));
  });
  if (sum == 0) bench::die("greenlet values did not travel");
  return ns;
}

greenrun_greenlet* c_main;

void* c_peer_body(void* value) {
  for (;;) value = greenrun_switch(c_main, value);
}

double bench_c_api(long round_trips) {
  c_main = greenrun_current();
  greenrun_greenlet* peer = greenrun_greenlet_new(&c_peer_body, nullptr, 0);
  if (!peer) bench::die("greenrun_greenlet_new failed");
  std::uintptr_t check = 0;
  double ns = bench::best_ns_per_op(bench::runs(), 2 * round_trips, [&] {
    for (long i = 0; i < round_trips; ++i)
      check += reinterpret_cast<std::uintptr_t>(greenrun_switch(peer, reinterpret_cast<void*>(i)));
  });
  if (check == 0) bench::die("greenrun_switch values did not travel");
  greenrun_greenlet_release(peer);
  greenrun_greenlet_release(c_main);
  return ns;
}

// ---- (d) park-and-wake through the scheduler ----

struct PingPong {
  long limit = 0;
  long switches = 0;
  greenrun::rt::GreenThread* thread[2] = {nullptr, nullptr};
};

void scheduler_player(PingPong& p, int me) {
  greenrun::rt::Scheduler& s = greenrun::rt::Hub::get().scheduler();
  greenrun::rt::GreenThread* other = p.thread[1 - me];
  while (p.switches < p.limit) {
    ++p.switches;
    s.ready(other);
    s.park(greenrun::rt::WaitReason::event);
  }
  s.ready(other);  // let the other one see the limit and finish
}

double bench_park_scheduler(long switches) {
  return bench::best_ns_per_op(bench::runs(), switches, [&] {
    PingPong p;
    p.limit = switches;
    greenrun::Greenlet a = greenrun::spawn([&p] { scheduler_player(p, 0); });
    greenrun::Greenlet b = greenrun::spawn([&p] { scheduler_player(p, 1); });
    p.thread[0] = a.native();
    p.thread[1] = b.native();
    a.join();
    b.join();
    if (p.switches != switches) bench::die("scheduler ping-pong lost a switch");
  });
}

// The same ping-pong between two threads made as the preload makes a pthread: TLS of their own.
struct TlsPingPong {
  PingPong p;
  int me[2] = {0, 1};
};

void tls_player_body(greenrun::rt::GreenThread* self) {
  auto* pp = static_cast<TlsPingPong*>(self->user);
  int me = self == pp->p.thread[0] ? 0 : 1;
  scheduler_player(pp->p, me);
  self->hub->scheduler().exit_current();
}

double bench_park_scheduler_tls(long switches) {
  if (!greenrun::rt::tls::available()) bench::die("no TLS of their own for green threads here");
  greenrun::rt::Hub& hub = greenrun::rt::Hub::get();
  return bench::best_ns_per_op(bench::runs(), switches, [&] {
    TlsPingPong pp;
    pp.p.limit = switches;
    greenrun::rt::ThreadSpec spec;
    spec.stack_size = 256 * 1024;
    spec.own_tls = true;
    for (auto& t : pp.p.thread) {
      int error = 0;
      t = hub.create_thread(&tls_player_body, &pp, spec, &error);
      if (!t) bench::die("cannot create a thread with TLS of its own");
      greenrun::rt::retain(t);
    }
    for (auto* t : pp.p.thread) hub.scheduler().ready(t);
    for (auto* t : pp.p.thread) {  // the root parks, as join() does, so only the two take turns
      while (!t->dead()) {
        greenrun::rt::Waiter w;
        hub.scheduler().wait_on(t->joiners, w, greenrun::rt::WaitReason::join, t,
                                greenrun::rt::kNever);
      }
    }
    for (auto* t : pp.p.thread) greenrun::rt::release(t);
    if (pp.p.switches != switches) bench::die("TLS ping-pong lost a switch");
  });
}

// Writing the thread pointer as the switch does (the same value each time: another thread's
// block would change what this loop reads).
double bench_tp_write(long writes) {
  void* tp = greenrun::rt::read_thread_pointer();
  return bench::best_ns_per_op(bench::runs(), writes, [&] {
    for (long i = 0; i < writes; ++i) greenrun::rt::write_thread_pointer(tp);
  });
}

double bench_tp_arch_prctl(long writes) {
  void* tp = greenrun::rt::read_thread_pointer();
  return bench::best_ns_per_op(bench::runs(), writes, [&] {
    for (long i = 0; i < writes; ++i) syscall(SYS_arch_prctl, ARCH_SET_FS, tp);
  });
}

double bench_park_event(long round_trips) {
  return bench::best_ns_per_op(bench::runs(), 2 * round_trips, [&] {
    greenrun::Event ping, pong;
    long seen = 0;
    greenrun::Greenlet a = greenrun::spawn([&] {
      for (long i = 0; i < round_trips; ++i) {
        ping.set();
        pong.wait();
        pong.clear();
      }
    });
    greenrun::Greenlet b = greenrun::spawn([&] {
      for (long i = 0; i < round_trips; ++i) {
        ping.wait();
        ping.clear();
        ++seen;
        pong.set();
      }
    });
    a.join();
    b.join();
    if (seen != round_trips) bench::die("event ping-pong lost a round");
  });
}

}  // namespace

// With arguments, runs only the named figures (e.g. `bench_switch greenlet`, for callgrind).
int main(int argc, char** argv) {
  const long fast = bench::scaled(5'000'000);  // round trips: 10M one-way switches
  const long slow = bench::scaled(1'000'000);  // swapcontext: 2M one-way switches
  auto wanted = [argc, argv](const char* name) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; ++i)
      if (std::strcmp(argv[i], name) == 0) return true;
    return false;
  };
  bench::info("context_backend", greenrun::rt::context_backend());
  bench::info("runs", bench::runs());
  bench::info("switches_fast", 2 * fast);
  bench::info("switches_swapcontext", 2 * slow);

  if (wanted("swapcontext")) bench::result("switch.swapcontext", bench_swapcontext(slow), "ns");
  if (wanted("raw")) bench::result("switch.raw", bench_raw(fast, true), "ns");
  if (wanted("raw_two_sites"))
    bench::result("switch.raw_two_sites", bench_raw(fast, false), "ns");
  if (wanted("greenlet")) bench::result("switch.greenlet", bench_greenlet(fast), "ns");
  if (wanted("greenlet_symmetric"))
    bench::result("switch.greenlet_symmetric", bench_greenlet_symmetric(fast), "ns");
  if (wanted("greenlet_value"))
    bench::result("switch.greenlet_value", bench_greenlet_value(fast), "ns");
  if (wanted("c_api")) bench::result("switch.c_api", bench_c_api(fast), "ns");
  if (wanted("park_scheduler"))
    bench::result("park.scheduler", bench_park_scheduler(2 * fast), "ns");
  if (wanted("park_event")) bench::result("park.event", bench_park_event(fast), "ns");
  if (wanted("park_scheduler_tls"))
    bench::result("park.scheduler_tls", bench_park_scheduler_tls(2 * fast), "ns");
  if (wanted("tp_write")) bench::result("tp.write", bench_tp_write(fast), "ns");
  if (wanted("tp_arch_prctl")) bench::result("tp.arch_prctl", bench_tp_arch_prctl(slow), "ns");
  bench::info("thread_pointer_method", greenrun::rt::thread_pointer_method());
  return 0;
}
