// futex through syscall(SYS_futex, ...), which libstdc++ uses for std::atomic::wait,
// std::counting_semaphore, std::latch and std::barrier. Green waiters park on the futex word's
// address; wakes, bitsets, requeues and WAKE_OP are done on those parked waiters. Every other
// system call, and futex calls off green threads, go to the real syscall(), except that on green
// threads those that take or report a thread id go to shims/thread_identity.cpp, and those that
// can wait in the kernel for long are made as BlockingCalls (the loop may be handed off).
// Priority-inheritance futex operations cannot be emulated faithfully and pass through.
// Defines: syscall
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include <climits>
#include <cstdint>

#include "export.h"
#include "handoff.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"
#include "thread_identity.h"

namespace greenrun::shim {
namespace {

long fail(int error) {
  errno = error;
  return -1;
}

long futex_wait(std::uint32_t* word, std::uint32_t expected, rt::Nanos deadline, unsigned bits) {
  if (bits == 0) return fail(EINVAL);
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != expected) return fail(EAGAIN);
  rt::Waiter w;
  w.bits = bits;
  rt::Wake why = rt::current()->hub->address_waiters().wait(word, w, rt::WaitReason::event, deadline);
  if (why == rt::Wake::woken) return 0;
  if (why == rt::Wake::timed_out) return fail(ETIMEDOUT);
  return fail(EINTR);
}

long futex_wake(std::uint32_t* word, long count, unsigned bits) {
  if (bits == 0) return fail(EINVAL);
  if (count <= 0) return 0;
  return static_cast<long>(rt::current()->hub->address_waiters().wake(
      word, static_cast<std::size_t>(count), bits));
}

bool wake_op_condition(unsigned cmp, int old, int arg) {
  switch (cmp) {
    case FUTEX_OP_CMP_EQ: return old == arg;
    case FUTEX_OP_CMP_NE: return old != arg;
    case FUTEX_OP_CMP_LT: return old < arg;
    case FUTEX_OP_CMP_LE: return old <= arg;
    case FUTEX_OP_CMP_GT: return old > arg;
    case FUTEX_OP_CMP_GE: return old >= arg;
  }
  return false;
}

long futex_wake_op(std::uint32_t* word1, long count1, std::uint32_t* word2, long count2,
                   std::uint32_t encoded) {
  unsigned op = (encoded >> 28) & 7, cmp = (encoded >> 24) & 15;
  int oparg = static_cast<int>(encoded << 8) >> 20;  // 12-bit signed fields
  int cmparg = static_cast<int>(encoded << 20) >> 20;
  if (encoded & (FUTEX_OP_OPARG_SHIFT << 28)) oparg = 1 << (oparg & 31);
  auto* target = reinterpret_cast<int*>(word2);
  int old = *target;
  switch (op & 7) {
    case FUTEX_OP_SET: *target = oparg; break;
    case FUTEX_OP_ADD: *target = old + oparg; break;
    case FUTEX_OP_OR: *target = old | oparg; break;
    case FUTEX_OP_ANDN: *target = old & ~oparg; break;
    case FUTEX_OP_XOR: *target = old ^ oparg; break;
    default: return fail(ENOSYS);
  }
  long woken = futex_wake(word1, count1, FUTEX_BITSET_MATCH_ANY);
  if (wake_op_condition(cmp, old, cmparg)) woken += futex_wake(word2, count2, FUTEX_BITSET_MATCH_ANY);
  return woken;
}

long futex(std::uint32_t* word, int op, std::uint32_t val, const struct timespec* timeout,
           std::uint32_t* word2, std::uint32_t val3) {
  const int command = op & FUTEX_CMD_MASK;
  const clockid_t clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
  rt::Nanos deadline = rt::kNever;
  switch (command) {
    case FUTEX_WAIT:
      if (timeout && rt::deadline_from_relative(timeout, deadline) != 0) return fail(EINVAL);
      return futex_wait(word, val, deadline, FUTEX_BITSET_MATCH_ANY);
    case FUTEX_WAIT_BITSET:
      if (timeout && rt::deadline_from_abstime(clock, timeout, deadline) != 0) return fail(EINVAL);
      return futex_wait(word, val, deadline, val3);
    case FUTEX_WAKE:
      return futex_wake(word, static_cast<int>(val), FUTEX_BITSET_MATCH_ANY);
    case FUTEX_WAKE_BITSET:
      return futex_wake(word, static_cast<int>(val), val3);
    case FUTEX_CMP_REQUEUE:
      if (__atomic_load_n(word, __ATOMIC_SEQ_CST) != val3) return fail(EAGAIN);
      [[fallthrough]];
    case FUTEX_REQUEUE: {
      long moved_limit = static_cast<long>(reinterpret_cast<std::uintptr_t>(timeout));
      long woken = futex_wake(word, static_cast<int>(val), FUTEX_BITSET_MATCH_ANY);
      auto moved = rt::current()->hub->address_waiters().move(
          word, word2, moved_limit < 0 ? 0 : static_cast<std::size_t>(moved_limit));
      return woken + static_cast<long>(moved);
    }
    case FUTEX_WAKE_OP:
      return futex_wake_op(word, static_cast<int>(val), word2,
                           static_cast<long>(reinterpret_cast<std::uintptr_t>(timeout)), val3);
    default:
      return real::syscall(SYS_futex, word, op, val, timeout, word2, val3);
  }
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

namespace greenrun::shim {
namespace {

// System calls that can wait for long, made by the program through syscall() (the runtime
// makes none of these through it on a green thread).
bool may_wait(long number) {
  switch (number) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev: case SYS_pread64:
    case SYS_pwrite64: case SYS_preadv: case SYS_pwritev: case SYS_preadv2: case SYS_pwritev2:
    case SYS_fsync: case SYS_fdatasync: case SYS_syncfs: case SYS_sync_file_range:
    case SYS_flock: case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_wait4:
    case SYS_waitid: case SYS_ppoll: case SYS_pselect6: case SYS_epoll_pwait:
    case SYS_accept4: case SYS_connect: case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg:
    case SYS_sendmsg: case SYS_openat: case SYS_getrandom: case SYS_rt_sigtimedwait:
#ifdef SYS_poll
    case SYS_poll: case SYS_select: case SYS_epoll_wait: case SYS_accept: case SYS_open:
#endif
      return true;
    default:
      return false;
  }
}

}  // namespace
}  // namespace greenrun::shim

GREENRUN_EXPORT long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long& arg : a) arg = va_arg(ap, long);
  va_end(ap);
  if (number == SYS_futex && rt::on_green_thread(rt::CallFamily::sync))
    return shim::futex(reinterpret_cast<std::uint32_t*>(a[0]), static_cast<int>(a[1]),
                       static_cast<std::uint32_t>(a[2]),
                       reinterpret_cast<const struct timespec*>(a[3]),
                       reinterpret_cast<std::uint32_t*>(a[4]), static_cast<std::uint32_t>(a[5]));
  if (shim::is_identity_syscall(number) && rt::on_green_thread(rt::CallFamily::thread))
    return shim::identity_syscall(number, a);  // gettid, tgkill, sched_*, ...: thread_identity.cpp
  if (shim::may_wait(number) && rt::on_green_thread() && !rt::current()->hub->alone())
    return rt::in_blocking_call(
        [&] { return real::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]); });
  return real::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
