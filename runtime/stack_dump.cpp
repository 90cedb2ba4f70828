// The stack dump (see stack_dump.h). A suspended thread is unwound by loading the registers its
// context saved into a libunwind context (context_registers); libunwind then walks its stack as
// it would a live one. Output goes through stack buffers and write_diagnostic(); only
// demangling allocates.
#include "stack_dump.h"

#define UNW_LOCAL_ONLY
#include <cxxabi.h>
#include <libunwind.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "diagnostic_output.h"
#include "diagnostics.h"
#include "hub.h"

namespace greenrun::rt {
namespace {

constexpr int kMaxFrames = 48;

void walk(int fd, unw_cursor_t& cursor, int skip) {
  for (int depth = 0; depth < kMaxFrames + skip; ++depth) {
    unw_word_t ip = 0;
    unw_get_reg(&cursor, UNW_REG_IP, &ip);
    if (ip == 0) break;
    if (depth >= skip) {
      char name[256];
      unw_word_t offset = 0;
      if (unw_get_proc_name(&cursor, name, sizeof name, &offset) == 0) {
        // Off any signal handler (see the header), so demangling may allocate.
        int status = 0;
        char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
        print_diagnostic(fd, "    #%-2d %s+0x%lx\n", depth - skip, readable ? readable : name,
                         static_cast<unsigned long>(offset));
        std::free(readable);
      } else
        print_diagnostic(fd, "    #%-2d 0x%lx\n", depth - skip, static_cast<unsigned long>(ip));
    }
    if (unw_step(&cursor) <= 0) break;
  }
}

void write_backtrace_of(int fd, const GreenThread* t) {
  unw_context_t uc;
  unw_getcontext(&uc);
  if (!context_registers(t->context, &uc)) {
    print_diagnostic(fd, "    (no backtrace: the context was never suspended)\n");
    return;
  }
  unw_cursor_t cursor;
  if (unw_init_local(&cursor, &uc) != 0) {
    print_diagnostic(fd, "    (no backtrace: libunwind cannot start from the saved context)\n");
    return;
  }
  walk(fd, cursor, 0);
}

void write_state(int fd, const GreenThread* t, Nanos now) {
  char who[96];
  describe(t, who, sizeof who);
  long long ms = t->state_since ? (now - t->state_since) / 1'000'000 : -1;
  char since[48] = "";
  if (ms >= 0) std::snprintf(since, sizeof since, " for %lld ms", ms);
  if (t == current()) {
    print_diagnostic(fd, "  %s: running (this thread)\n", who);
    return;
  }
  if (t->state != ThreadState::parked) {
    print_diagnostic(fd, "  %s: %s\n", who, to_string(t->state));
    return;
  }
  const void* on = t->wait_object;
  char until[64] = "";
  if (t->park_timer.queued())
    std::snprintf(until, sizeof until, " until +%lld ms",
                  static_cast<long long>((t->park_timer.deadline - monotonic_now()) / 1'000'000));
  switch (t->wait_reason) {
    case WaitReason::fd_readable:
    case WaitReason::fd_writable:
      if (on) {
        print_diagnostic(fd, "  %s: waiting for fd %ld %s%s%s\n", who, reinterpret_cast<long>(on),
                         t->wait_reason == WaitReason::fd_readable ? "readable" : "writable",
                         until, since);
        return;
      }
      print_diagnostic(fd, "  %s: waiting for several fds%s%s\n", who, until, since);
      return;
    case WaitReason::sleep:
      print_diagnostic(fd, "  %s: sleeping%s%s\n", who, until, since);
      return;
    default:
      if (on)
        print_diagnostic(fd, "  %s: %s at %p%s%s\n", who, to_string(t->wait_reason), on, until,
                         since);
      else
        print_diagnostic(fd, "  %s: %s%s%s\n", who, to_string(t->wait_reason), until, since);
  }
}

}  // namespace

void write_backtrace_here(int fd, int skip) {
  unw_context_t uc;
  unw_getcontext(&uc);
  unw_cursor_t cursor;
  if (unw_init_local(&cursor, &uc) != 0) return;
  walk(fd, cursor, skip + 1);
}

void dump_threads(Hub& hub, int fd) {
  Nanos now = coarse_now();
  std::size_t count = 0;
  hub.for_each_thread([&](GreenThread* t) { count += !t->is_hub && !t->dead(); });
  print_diagnostic(fd, "greenrun: stack dump, %zu green threads (%llu created, backend %s):\n",
                   count, static_cast<unsigned long long>(hub.threads_created()),
                   context_backend());
  hub.for_each_thread([&](GreenThread* t) {
    if (t->is_hub || t->dead()) return;
    write_state(fd, t, now);
    if (t == current())
      write_backtrace_here(fd, 1);
    else if (t->started() && t->state != ThreadState::away)  // its stack is in use elsewhere
      write_backtrace_of(fd, t);
  });
  print_diagnostic(fd, "greenrun: end of stack dump\n");
}

}  // namespace greenrun::rt
