// StackPool (sizes, reuse, guard kinds, canaries) and the stack-overflow diagnostic for each
// guard kind. Overflows run in a forked child: the child must die of SIGABRT after printing one
// "greenrun: stack overflow" line. This process never creates a hub itself, so each child
// starts its own from scratch (no libuv loop shared across fork).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <signal.h>
#include <alloca.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "greenrun.hpp"
#include "green_thread.h"
#include "hub.h"
#include "stack_pool.h"

using greenrun::rt::GuardKind;
using greenrun::rt::Stack;
using greenrun::rt::StackPool;

namespace {

const char* name_of(GuardKind kind) {
  switch (kind) {
    case GuardKind::guard_region: return "guard_region";
    case GuardKind::guard_page: return "guard_page";
    case GuardKind::canary: return "canary";
    case GuardKind::none: return "none";
  }
  return "?";
}

// Whether this kernel accepts MADV_GUARD_INSTALL (Linux 6.13+), asked independently of the pool.
bool kernel_has_guard_regions() {
  long page = sysconf(_SC_PAGESIZE);
  void* m = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(m != MAP_FAILED);
  bool ok = madvise(m, page, 102 /* MADV_GUARD_INSTALL */) == 0;
  munmap(m, 2 * page);
  return ok;
}

std::uint64_t lowest_word(const Stack& s) { return *static_cast<const std::uint64_t*>(s.lo); }

}  // namespace

TEST_CASE("stack_pool: a size below the minimum is refused with EINVAL") {
  StackPool pool;
  Stack s;
  CHECK(pool.acquire(StackPool::kMinimumSize - 1, s) == -EINVAL);
  CHECK(pool.acquire(0, s) == -EINVAL);
  CHECK(s.mapping == nullptr);
  CHECK(pool.acquire(StackPool::kMinimumSize, s) == 0);
  CHECK(s.size == StackPool::kMinimumSize);
  pool.release(s);
}

TEST_CASE("stack_pool: sizes are rounded up to whole pages, below a one-page guard") {
  StackPool pool;
  const std::size_t page = pool.page_size();
  CHECK(page == static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  Stack s;
  REQUIRE(pool.acquire(StackPool::kMinimumSize + 1, s) == 0);
  CHECK(s.size == StackPool::kMinimumSize + page);
  CHECK(reinterpret_cast<std::uintptr_t>(s.lo) % page == 0);
  CHECK(static_cast<char*>(s.lo) - static_cast<char*>(s.mapping) == static_cast<long>(page));
  CHECK(s.mapping_size == s.size + page);
  CHECK(s.hi() == static_cast<char*>(s.lo) + s.size);
  // The whole usable range is writable.
  std::memset(s.lo, 0xab, s.size);
  CHECK(static_cast<unsigned char*>(s.hi())[-1] == 0xab);
  CHECK(s.contains(s.lo));
  CHECK(s.contains(s.mapping));
  CHECK_FALSE(s.contains(s.hi()));
  pool.release(s);
  CHECK(s.mapping == nullptr);  // release clears the caller's copy
}

TEST_CASE("stack_pool: a released stack is reused by the next acquire of the same size") {
  StackPool pool;
  Stack a, b, c;
  REQUIRE(pool.acquire(64 * 1024, a) == 0);
  void* first = a.lo;
  GuardKind kind = a.guard;
  pool.release(a);
  REQUIRE(pool.acquire(64 * 1024, b) == 0);
  CHECK(b.lo == first);
  CHECK(b.guard == kind);
  REQUIRE(pool.acquire(64 * 1024, c) == 0);  // the cache is empty again: a new mapping
  CHECK(c.lo != first);
  Stack other;
  pool.release(b);
  REQUIRE(pool.acquire(32 * 1024, other) == 0);  // another size does not take it
  CHECK(other.lo != first);
  pool.release(c);
  pool.release(other);
}

TEST_CASE("stack_pool: by default the cheapest guard the kernel offers is used") {
  StackPool pool;
  Stack s;
  REQUIRE(pool.acquire(StackPool::kDefaultSize, s) == 0);
  INFO("guard kind: " << name_of(s.guard));
  if (kernel_has_guard_regions()) {
    CHECK(s.guard == GuardKind::guard_region);
  } else {
    CHECK(s.guard == GuardKind::guard_page);
  }
  pool.release(s);
}

TEST_CASE("stack_pool: limit_guards(false, 0) gives canary stacks") {
  StackPool pool;
  pool.limit_guards(false, 0);
  Stack s;
  REQUIRE(pool.acquire(StackPool::kMinimumSize, s) == 0);
  CHECK(s.guard == GuardKind::canary);
  CHECK(StackPool::canary_intact(s));
  // Without a guard the page below the usable range is ordinary memory.
  std::memset(s.mapping, 0, pool.page_size());
  pool.release(s);
}

TEST_CASE("stack_pool: limit_guards(false, N) gives N guard_page stacks, then canaries") {
  StackPool pool;
  pool.limit_guards(false, 3);
  CHECK(pool.guard_pages_left() == 3);
  std::vector<Stack> stacks(5);
  for (auto& s : stacks) REQUIRE(pool.acquire(StackPool::kMinimumSize, s) == 0);
  CHECK(stacks[0].guard == GuardKind::guard_page);
  CHECK(stacks[1].guard == GuardKind::guard_page);
  CHECK(stacks[2].guard == GuardKind::guard_page);
  CHECK(stacks[3].guard == GuardKind::canary);
  CHECK(stacks[4].guard == GuardKind::canary);
  CHECK(pool.guard_pages_left() == 0);
  for (auto& s : stacks) pool.release(s);
}

TEST_CASE("stack_pool: canary_intact detects a clobbered canary, and release re-arms it") {
  StackPool pool;
  pool.limit_guards(false, 0);
  Stack s;
  REQUIRE(pool.acquire(StackPool::kMinimumSize, s) == 0);
  REQUIRE(s.guard == GuardKind::canary);
  const std::uint64_t canary = lowest_word(s);
  *static_cast<std::uint64_t*>(s.lo) = canary ^ 1;  // one bit is enough
  CHECK_FALSE(StackPool::canary_intact(s));
  void* lo = s.lo;
  pool.release(s);
  REQUIRE(pool.acquire(StackPool::kMinimumSize, s) == 0);
  REQUIRE(s.lo == lo);
  CHECK(StackPool::canary_intact(s));
  CHECK(lowest_word(s) == canary);
  pool.release(s);
}

TEST_CASE("stack_pool: guarded stacks carry no canary to check") {
  StackPool pool;
  Stack s;
  REQUIRE(pool.acquire(StackPool::kMinimumSize, s) == 0);
  REQUIRE(s.guard != GuardKind::canary);
  *static_cast<std::uint64_t*>(s.lo) = 0;
  CHECK(StackPool::canary_intact(s));
  pool.release(s);
}

TEST_CASE("stack_pool: overflow_address covers the guard and one guard's width below it") {
  StackPool pool;
  Stack s;
  REQUIRE(pool.acquire(StackPool::kMinimumSize, s) == 0);
  const std::size_t page = pool.page_size();
  char* lo = static_cast<char*>(s.lo);
  char* base = static_cast<char*>(s.mapping);
  CHECK(s.overflow_address(lo - 1));
  CHECK(s.overflow_address(base));
  CHECK(s.overflow_address(base - page));
  CHECK_FALSE(s.overflow_address(base - page - 1));
  CHECK_FALSE(s.overflow_address(lo));
  CHECK_FALSE(s.overflow_address(lo + s.size / 2));
  pool.release(s);
}

// ---- overflow diagnostics, each in a child process ----

namespace {

struct ChildOutcome {
  int status = 0;
  std::string err;  // everything the child wrote to stderr
};

// Runs scenario() in a forked child whose stderr is captured.
ChildOutcome run_in_child(void (*scenario)()) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    close(fds[1]);
    // Behave like an ordinary program: no doctest crash handlers or alternate signal stack, and
    // no core file for the abort we expect.
    for (int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTERM, SIGINT})
      signal(sig, SIG_DFL);
    stack_t off{};
    off.ss_flags = SS_DISABLE;
    sigaltstack(&off, nullptr);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0);
    scenario();
    _exit(0);  // the scenario should not come back
  }
  close(fds[1]);
  ChildOutcome out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.err.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  REQUIRE(waitpid(pid, &out.status, 0) == pid);
  return out;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> found;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) found.push_back(line);
    at = end + 1;
  }
  return found;
}

void say(const char* text) {
  ssize_t ignored = write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

// Recursion that is not a tail call and writes every frame, so it walks straight down the
// stack one small frame (well under a page) at a time.
[[gnu::noinline]] int recurse(int depth) {
  volatile char frame[192];
  for (auto& c : frame) c = static_cast<char>(depth);
  if (depth == 0) return frame[0];
  return recurse(depth - 1) + frame[7];
}

// One frame whose locals reach `past` bytes below `floor`, all written: an overflow of less
// than a page, which on a canary stack stays inside the mapping and only clobbers the canary.
[[gnu::noinline]] int overrun(const char* floor, std::size_t past) {
  volatile char here = 0;
  auto top = reinterpret_cast<std::uintptr_t>(&here);
  std::size_t n = top - reinterpret_cast<std::uintptr_t>(floor) + past;
  auto* locals = static_cast<volatile char*>(alloca(n));
  for (std::size_t i = 0; i < n; ++i) locals[i] = 1;
  return locals[0] + here;
}

constexpr const char* kThreadName = "deep-diver";
constexpr std::size_t kSmallStack = 16 * 1024;

void report_guard_kind() {
  std::string line = std::string("guard kind: ") +
                     name_of(greenrun::rt::current()->stack.guard) + "\n";
  say(line.c_str());
}

void spawn_and_join(greenrun::Greenlet::Run body) {
  greenrun::SpawnOptions options;
  options.stack_size = kSmallStack;
  options.name = kThreadName;
  greenrun::Greenlet g = greenrun::spawn_any(std::move(body), options);
  g.join();
  say("the overflowing thread finished\n");
}

void deep_recursion() {
  spawn_and_join([](std::any) -> std::any {
    report_guard_kind();
    return recurse(1 << 20);  // 1M frames: far more than 16 KiB
  });
}

void child_with_guard_regions() {
  greenrun::rt::Hub::get();
  deep_recursion();
}
void child_with_guard_pages() {
  greenrun::rt::Hub::get().stacks().limit_guards(false, 16);
  deep_recursion();
}
void child_with_canaries() {
  greenrun::rt::Hub::get().stacks().limit_guards(false, 0);
  deep_recursion();
}
// A parked thread whose stack was taken just before the overflowing one's: with slabs, the
// runaway recursion runs through the unguarded canary page into this neighbour's stack and
// faults only further down, far from the overflowing stack.
void child_with_canaries_and_a_neighbour() {
  greenrun::rt::Hub::get().stacks().limit_guards(false, 0);
  greenrun::Event never;
  greenrun::SpawnOptions options;
  options.stack_size = kSmallStack;
  options.name = "bystander";
  greenrun::Greenlet bystander = greenrun::spawn_any(
      [&](std::any) -> std::any { return never.wait(); }, options);
  greenrun::sleep(0);  // it parks, keeping its stack
  deep_recursion();
}

void child_with_canaries_small_overflow() {
  greenrun::rt::Hub::get().stacks().limit_guards(false, 0);
  spawn_and_join([](std::any) -> std::any {
    report_guard_kind();
    int r = overrun(static_cast<const char*>(greenrun::rt::current()->stack.lo), 256);
    say("wrote below the stack\n");
    greenrun::sleep(0);  // the switch away checks the canary
    return r;
  });
}

void check_overflow_report(const ChildOutcome& out, const char* kind) {
  INFO("child stderr:\n" << out.err);
  CHECK(out.err.find(std::string("guard kind: ") + kind + "\n") != std::string::npos);
  REQUIRE(WIFSIGNALED(out.status));
  CHECK(WTERMSIG(out.status) == SIGABRT);
  auto reports = lines_starting(out.err, "greenrun: stack overflow");
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].find(kThreadName) != std::string::npos);
  CHECK(reports[0].find("16 KiB") != std::string::npos);
  CHECK(out.err.find("finished") == std::string::npos);
}

}  // namespace

TEST_CASE("stack_overflow: an overflow into a guard region is reported, then aborts") {
  if (!kernel_has_guard_regions()) {
    MESSAGE("this kernel has no MADV_GUARD_INSTALL; guard_region is not used here");
    return;
  }
  check_overflow_report(run_in_child(&child_with_guard_regions), "guard_region");
}

TEST_CASE("stack_overflow: an overflow into an mprotect guard page is reported, then aborts") {
  check_overflow_report(run_in_child(&child_with_guard_pages), "guard_page");
}

TEST_CASE("stack_overflow: a runaway recursion on a canary stack is reported, then aborts") {
  check_overflow_report(run_in_child(&child_with_canaries), "canary");
}

TEST_CASE("stack_overflow: a runaway recursion into a neighbouring canary stack is reported") {
  check_overflow_report(run_in_child(&child_with_canaries_and_a_neighbour), "canary");
}

TEST_CASE("stack_overflow: a clobbered canary is reported at the next switch, then aborts") {
  auto out = run_in_child(&child_with_canaries_small_overflow);
  check_overflow_report(out, "canary");
  CHECK(out.err.find("wrote below the stack\n") != std::string::npos);
}

TEST_CASE("stack_pool: free stacks beyond the cache give their pages back when trimmed, not before") {
  greenrun::rt::StackPool pool;
  const std::size_t count = 2 * greenrun::rt::StackPool::kCachedPerSize + 64;
  std::vector<greenrun::rt::Stack> stacks(count);
  for (auto& s : stacks) {
    REQUIRE(pool.acquire(64 * 1024, s) == 0);
    static_cast<char*>(s.hi())[-1] = 1;  // touch the top page, as a thread does
  }
  void* first_top = static_cast<char*>(stacks.front().hi()) - pool.page_size();
  auto resident = [&](void* page) {
    unsigned char v = 0;
    REQUIRE(mincore(page, pool.page_size(), &v) == 0);
    return (v & 1) != 0;
  };
  for (auto& s : stacks) pool.release(s);
  CHECK(pool.has_excess());
  CHECK(resident(first_top));  // releasing alone keeps the pages: no work in a burst of exits
  pool.trim_excess();
  CHECK_FALSE(pool.has_excess());
  CHECK_FALSE(resident(first_top));  // the oldest free stacks are trimmed first
}
