// context.h against one backend: this file is built once per backend (context_test_asm,
// context_test_ucontext) and every case must pass with each. Contexts report what they saw in
// globals and the main context asserts, so no assertion unwinds across a switch.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <sys/mman.h>

#include <cfenv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "context.h"

using greenrun::rt::Context;
using greenrun::rt::context_make;
using greenrun::rt::context_switch;

namespace {

constexpr std::size_t kStackSize = 64 * 1024;

// A plain mmap'd stack, as the stack pool would hand out (without the guard).
struct MappedStack {
  MappedStack() {
    lo = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    REQUIRE(lo != MAP_FAILED);
  }
  ~MappedStack() { munmap(lo, kStackSize); }
  MappedStack(const MappedStack&) = delete;
  MappedStack& operator=(const MappedStack&) = delete;
  void* lo;
};

Context g_main, g_ping, g_pong;
std::string g_log;
int g_ping_bad = 0, g_pong_bad = 0;  // callee-saved values found changed after a switch
std::uintptr_t g_entry_frame = 0;
char g_formatted[64];

constexpr int kRounds = 5;

// Several values live across each switch: the compiler keeps them in callee-saved registers
// or the frame, and the other context uses the same registers for its own values.
void ping_entry() {
  volatile int seed = 3;
  int a = seed * 2, b = seed * 3, c = seed * 5, d = seed * 7, e = seed * 11, f = seed * 13;
  double x = seed * 0.25;
  for (int i = 0; i < kRounds; ++i) {
    g_log += "ping" + std::to_string(i) + " ";
    context_switch(g_ping, g_pong);
    if (a != 6 + i || b != 9 + 2 * i || c != 15 + 3 * i || d != 21 + 4 * i || e != 33 + 5 * i ||
        f != 39 + 6 * i || x != 0.75 + 0.5 * i)
      ++g_ping_bad;
    ++a, b += 2, c += 3, d += 4, e += 5, f += 6, x += 0.5;
  }
  context_switch(g_ping, g_main);  // the last switch: an entry function never returns
}

void pong_entry() {
  volatile int seed = 1000;
  int a = seed + 1, b = seed + 2, c = seed + 3, d = seed + 4, e = seed + 5, f = seed + 6;
  double x = seed * -1.5;
  for (int i = 0;; ++i) {
    g_log += "pong" + std::to_string(i) + " ";
    context_switch(g_pong, g_ping);
    if (a != 1001 + 7 * i || b != 1002 - i || c != 1003 * (i + 1) || d != 1004 || e != 1005 ||
        f != 1006 + i || x != -1500.0 - i)
      ++g_pong_bad;
    a += 7, b -= 1, c += 1003, f += 1, x -= 1.0;
  }
}

void alignment_entry() {
  // Right after the prologue's push of the frame pointer, the frame address is 16-byte
  // aligned iff the entry was called with the ABI's alignment. Formatting a double with
  // printf uses aligned SSE stores and would crash on a misaligned stack.
  g_entry_frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  volatile double v = 2.5;
  std::snprintf(g_formatted, sizeof g_formatted, "%.3f", static_cast<double>(v));
  context_switch(g_ping, g_main);
}

// ---- rounding mode ----

// +1/5 and -1/5 computed at run time. Their last bits depend on the rounding mode in the SSE
// (or FPCR) control register, which fegetround alone would not show on x86-64 (it reads the x87
// word), and the pair differs for each of the four modes.
struct Probe {
  double pos, neg;
  bool operator==(const Probe& o) const { return pos == o.pos && neg == o.neg; }
};
Probe fifths() {
  volatile double one = 1.0, five = 5.0;
  return {one / five, -one / five};
}

struct RoundingSeen {
  int mode_at_start = -1;
  int mode_after_first_switch = -1;
  Probe probe_after_first_switch{};
};
RoundingSeen g_rounding_seen;
Context g_rounding;

void rounding_entry() {
  g_rounding_seen.mode_at_start = std::fegetround();
  std::fesetround(FE_DOWNWARD);
  context_switch(g_rounding, g_main);
  // Main changed its own mode meanwhile; ours must be as we left it.
  g_rounding_seen.mode_after_first_switch = std::fegetround();
  g_rounding_seen.probe_after_first_switch = fifths();
  std::fesetround(FE_UPWARD);
  context_switch(g_rounding, g_main);
  for (;;) context_switch(g_rounding, g_main);
}

}  // namespace

TEST_CASE("context: the backend is the one this binary was linked with") {
  CHECK(std::string(greenrun::rt::context_backend()) == GREENRUN_EXPECTED_BACKEND);
}

TEST_CASE("context: two made contexts ping-pong and keep their callee-saved values") {
  MappedStack ping_stack, pong_stack;
  g_log.clear();
  g_ping_bad = g_pong_bad = 0;
  g_main = Context{};  // an adopted context is switched from without being made
  context_make(g_ping, ping_stack.lo, kStackSize, &ping_entry);
  context_make(g_pong, pong_stack.lo, kStackSize, &pong_entry);

  volatile int seed = 42;
  int m1 = seed, m2 = seed * 2, m3 = seed * 3;
  double mx = seed / 4.0;
  context_switch(g_main, g_ping);

  CHECK(g_log == "ping0 pong0 ping1 pong1 ping2 pong2 ping3 pong3 ping4 pong4 ");
  CHECK(g_ping_bad == 0);
  CHECK(g_pong_bad == 0);
  CHECK(m1 == 42);
  CHECK(m2 == 84);
  CHECK(m3 == 126);
  CHECK(mx == 10.5);
}

TEST_CASE("context: a new context starts on a 16-byte aligned stack inside its own stack") {
  MappedStack stack;
  g_entry_frame = 0;
  g_formatted[0] = '\0';
  context_make(g_ping, stack.lo, kStackSize, &alignment_entry);
  context_switch(g_main, g_ping);
  auto lo = reinterpret_cast<std::uintptr_t>(stack.lo);
  CHECK(g_entry_frame % 16 == 0);
  CHECK(g_entry_frame > lo);
  CHECK(g_entry_frame < lo + kStackSize);
  CHECK(std::string(g_formatted) == "2.500");
}

TEST_CASE("context: the floating-point rounding mode is kept per context") {
  Probe by_mode[4];
  const int modes[4] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(std::fesetround(modes[i]) == 0);
    by_mode[i] = fifths();
  }
  REQUIRE(std::fesetround(FE_TONEAREST) == 0);
  for (int i = 0; i < 4; ++i)  // the probe itself must tell every mode apart
    for (int j = i + 1; j < 4; ++j) REQUIRE_FALSE(by_mode[i] == by_mode[j]);
  const Probe nearest = by_mode[0], down = by_mode[1], zero = by_mode[3];

  MappedStack stack;
  g_rounding_seen = RoundingSeen{};
  context_make(g_rounding, stack.lo, kStackSize, &rounding_entry);

  context_switch(g_main, g_rounding);  // it sets FE_DOWNWARD and switches back
  CHECK(g_rounding_seen.mode_at_start == FE_TONEAREST);
  CHECK(std::fegetround() == FE_TONEAREST);  // its mode did not leak into ours
  CHECK(fifths() == nearest);

  std::fesetround(FE_TOWARDZERO);
  context_switch(g_main, g_rounding);  // it checks its mode survived, then sets FE_UPWARD
  CHECK(g_rounding_seen.mode_after_first_switch == FE_DOWNWARD);
  CHECK(g_rounding_seen.probe_after_first_switch == down);
  CHECK(std::fegetround() == FE_TOWARDZERO);
  CHECK(fifths() == zero);

  std::fesetround(FE_TONEAREST);
}
