// Thread ids, and what the kernel keeps per task, for green threads. Each green thread has an id
// of its own (green_tid: beyond PID_MAX_LIMIT, so never a real task's), and every call that
// reports or takes a thread id answers for it as the kernel answers for a task: signals sent
// with tgkill/tkill, the CPU mask, scheduling policy and nice value (recorded per thread, never
// applied to the OS thread, which every green thread shares) and the name (prctl). The main
// thread is a real task: its id is the process id, and calls about it go to the kernel.
// Defines: gettid tgkill sched_setaffinity sched_getaffinity sched_setscheduler
//          sched_getscheduler sched_setparam sched_getparam setpriority getpriority prctl
//          timer_create
#include "thread_identity.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "export.h"
#include "hub.h"
#include "real.h"

namespace greenrun::shim {
namespace {

// A result meaning "the kernel answers": the id names a real task (the main thread, another
// process, a native OS thread), or the caller is the main thread, which is one.
constexpr long kKernel = LONG_MIN;

long fail(int error) {
  errno = error;
  return -1;
}

// A system call's result as its glibc wrapper returns it: -1 and errno, or the value.
int as_wrapper(long result) {
  return static_cast<int>(result < 0 ? fail(static_cast<int>(-result)) : result);
}

pid_t thread_id() {
  PosixThread* s = self();
  return s ? s->tid : green_tid(rt::current());  // a green thread of the C API has no record
}

// The green thread that a scheduling call's `pid` names, pid 0 being the caller. nullptr with
// *error 0: the kernel answers; with ESRCH: the thread has finished (for the kernel it is gone).
PosixThread* named_thread(pid_t pid, int* error) {
  *error = 0;
  if (pid == 0) {
    PosixThread* s = self();
    return s && !s->green->is_root ? s : nullptr;
  }
  if (pid < kFirstGreenTid) return nullptr;
  PosixThread* p = find_by_tid(pid);
  if (p && !p->finished) return p;
  *error = ESRCH;
  return nullptr;
}

// Whether a call the kernel answers changes the main thread's own values (pid 0 from it, or its
// id), which green threads that never set theirs would otherwise follow.
bool names_main(pid_t pid) {
  PosixThread* s = self();
  return pid == 0 ? s && s->green->is_root : pid == getpid();
}

// Privilege, as the kernel judges it: CAP_SYS_NICE lifts every limit below.
bool has_cap_sys_nice() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
  if (real::syscall(SYS_capget, &header, data) != 0) return false;
  return data[CAP_TO_INDEX(CAP_SYS_NICE)].effective & CAP_TO_MASK(CAP_SYS_NICE);
}

rlim_t soft_limit(int resource) {
  rlimit r{};
  return getrlimit(resource, &r) == 0 ? r.rlim_cur : 0;
}

// The kernel's is_nice_reduction: RLIMIT_NICE allows nice values down to 20 - limit.
bool nice_within_limit(int nice) {
  return static_cast<rlim_t>(20 - nice) <= soft_limit(RLIMIT_NICE);
}

int os_nice() { return 20 - static_cast<int>(real::syscall(SYS_getpriority, PRIO_PROCESS, 0)); }
int nice_of(const PosixThread* p) { return p->has_nice ? p->nice : os_nice(); }

bool is_realtime(int policy) { return policy == SCHED_FIFO || policy == SCHED_RR; }

// The kernel's user_check_sched_setscheduler: what a caller without CAP_SYS_NICE may change.
bool allowed_unprivileged(const PosixThread* p, int policy, unsigned priority, bool reset) {
  if (is_realtime(policy)) {
    rlim_t limit = soft_limit(RLIMIT_RTPRIO);
    if (policy != p->sched_policy && limit == 0) return false;
    if (priority > static_cast<unsigned>(p->sched_priority) && priority > limit) return false;
  }
  if (p->sched_policy == SCHED_IDLE && policy != SCHED_IDLE && !nice_within_limit(nice_of(p)))
    return false;
  return !(p->sched_reset_on_fork && !reset);
}

// tgkill (`group`) and tkill, with the kernel's checks in the kernel's order.
long signal_thread(bool group, pid_t tgid, pid_t tid, int sig) {
  if (tid <= 0 || (group && tgid <= 0)) return kKernel;  // EINVAL
  PosixThread* p = find_by_tid(tid);  // the main thread's record too: its signal waits for it
  if (!p) return tid >= kFirstGreenTid ? -ESRCH : kKernel;
  if (p->finished || (group && tgid != getpid())) return -ESRCH;
  if (sig < 0 || sig >= NSIG) return -EINVAL;
  if (sig == 0) return 0;
  // glibc's own signals (32 and 33: cancellation, setxid) mean something only when glibc sends
  // them, and pthread_kill, through which send_to delivers, refuses them: dropped.
  if (sig > SIGSYS && sig < SIGRTMIN) return 0;
  int rc = send_to(p, sig);
  return rc ? -rc : 0;
}

long get_affinity(pid_t pid, std::size_t size, cpu_set_t* set) {
  int error;
  PosixThread* p = named_thread(pid, &error);
  return p ? affinity_of(p, size, set) : error ? -error : kKernel;
}

long set_affinity(pid_t pid, std::size_t size, const cpu_set_t* set) {
  int error;
  PosixThread* p = named_thread(pid, &error);
  if (p) return set_affinity_of(p, size, set);
  if (!error && names_main(pid)) keep_inherited(Inherited::affinity);
  return error ? -error : kKernel;
}

// sched_setscheduler, and sched_setparam as policy -1. The kernel refuses a negative policy
// and a missing parameter before it looks the thread up.
long set_scheduler(pid_t pid, int policy, const sched_param* param, bool setparam) {
  if ((!setparam && policy < 0) || !param) return kKernel;
  int error;
  PosixThread* p = named_thread(pid, &error);
  return p ? set_scheduler_of(p, setparam ? -1 : policy, param) : error ? -error : kKernel;
}

long get_scheduler(pid_t pid) {
  int error;
  PosixThread* p = named_thread(pid, &error);
  return p ? scheduler_of(p) : error ? -error : kKernel;
}

long get_param(pid_t pid, sched_param* param) {
  if (!param) return kKernel;
  int error;
  PosixThread* p = named_thread(pid, &error);
  if (!p) return error ? -error : kKernel;
  param->sched_priority = p->sched_priority;
  return 0;
}

// getpriority for PRIO_PROCESS (on Linux it names a thread): 20 - nice, as the system call.
long get_priority(int which, id_t who) {
  if (which != PRIO_PROCESS) return kKernel;
  int error;
  PosixThread* p = named_thread(static_cast<pid_t>(who), &error);
  return p ? 20 - nice_of(p) : error ? -error : kKernel;
}

long set_priority(int which, id_t who, int nice) {
  if (which != PRIO_PROCESS) return kKernel;
  int error;
  PosixThread* p = named_thread(static_cast<pid_t>(who), &error);
  if (!p && !error && names_main(static_cast<pid_t>(who))) keep_inherited(Inherited::nice);
  if (!p) return error ? -error : kKernel;
  nice = std::clamp(nice, -20, 19);
  if (nice < nice_of(p) && !nice_within_limit(nice) && !has_cap_sys_nice()) return -EACCES;
  p->nice = nice;
  p->has_nice = true;
  return 0;
}

// PR_SET_NAME and PR_GET_NAME name the calling thread; every other option is the process's.
long name_call(int option, unsigned long arg) {
  PosixThread* s = self();
  if (!s || (option != PR_SET_NAME && option != PR_GET_NAME)) return kKernel;
  auto* name = reinterpret_cast<char*>(arg);
  if (s->green->is_root) {
    // The main thread's name is the process's (its comm): the kernel keeps it.
    if (option == PR_GET_NAME) return kKernel;
    keep_inherited(Inherited::name);
    if (real::prctl(PR_SET_NAME, arg, 0ul, 0ul, 0ul) != 0) return -errno;
    char copy[16] = {};
    std::memcpy(copy, name, strnlen(name, 15));
    rt::set_name(s->green, copy);  // for the stack dump, as pthread_setname_np does
    return 0;
  }
  if (option == PR_SET_NAME) {
    set_name_of(s, name, 15);
  } else {
    char copy[16];
    name_of(s, copy);
    std::memcpy(name, copy, sizeof copy);  // the kernel copies all 16 bytes
  }
  return 0;
}

int create_timer(clockid_t clock, struct sigevent* event, timer_t* timer) {
  PosixThread* p = find_by_tid(event->_sigev_un._tid);
  if (!p || p->finished || p->green->is_root) return real::timer_create(clock, event, timer);
  // Aimed at the OS thread the green thread runs on: there the handler runs on whichever green
  // thread is running (as for any process-directed signal), instead of the kernel's EINVAL.
  struct sigevent to_os = *event;
  to_os._sigev_un._tid = os_thread_id();
  return real::timer_create(clock, &to_os, timer);
}

}  // namespace

pid_t os_thread_id() { return static_cast<pid_t>(real::syscall(SYS_gettid)); }

long affinity_of(PosixThread* p, std::size_t size, cpu_set_t* set) {
  // The kernel checks the size and says how many bytes it writes, with the OS thread's mask.
  long n = real::syscall(SYS_sched_getaffinity, 0, size, set);
  if (n < 0) return -errno;
  if (p->has_affinity) {
    auto* out = reinterpret_cast<unsigned char*>(set);
    std::size_t own = std::min(static_cast<std::size_t>(n), sizeof p->affinity);
    std::memcpy(out, &p->affinity, own);
    std::memset(out + own, 0, static_cast<std::size_t>(n) - own);
  }
  return n;
}

long set_affinity_of(PosixThread* p, std::size_t size, const cpu_set_t* set) {
  // As the kernel: a shorter mask is zero-extended, a longer one cut; only CPUs the thread may
  // use are kept (those of its OS thread), and a mask with none of them is refused.
  cpu_set_t wanted;
  CPU_ZERO(&wanted);
  std::memcpy(&wanted, set, std::min(size, sizeof wanted));
  cpu_set_t allowed;
  if (real::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -errno;
  CPU_AND(&wanted, &wanted, &allowed);
  if (CPU_COUNT(&wanted) == 0) return -EINVAL;
  p->affinity = wanted;
  p->has_affinity = true;
  return 0;
}

long set_scheduler_of(PosixThread* p, int policy, const sched_param* param) {
  bool reset = p->sched_reset_on_fork;
  if (policy < 0) {
    policy = p->sched_policy;
  } else {
    reset = policy & SCHED_RESET_ON_FORK;
    policy &= ~SCHED_RESET_ON_FORK;
    if (sched_get_priority_max(policy) < 0) return -EINVAL;  // the kernel's list of policies
  }
  // FIFO and RR take 1..99 and the others 0 (read unsigned, as the kernel does); a deadline
  // policy needs sched_setattr.
  const auto priority = static_cast<unsigned>(param->sched_priority);
  if (priority > static_cast<unsigned>(sched_get_priority_max(SCHED_FIFO)) ||
      policy == SCHED_DEADLINE || is_realtime(policy) != (priority != 0))
    return -EINVAL;
  if (!allowed_unprivileged(p, policy, priority, reset) && !has_cap_sys_nice()) return -EPERM;
  p->sched_policy = policy;
  p->sched_priority = static_cast<int>(priority);
  p->sched_reset_on_fork = reset;
  return 0;
}

int scheduler_of(const PosixThread* p) {
  return p->sched_policy | (p->sched_reset_on_fork ? SCHED_RESET_ON_FORK : 0);
}

void name_of(const PosixThread* p, char (&name)[16]) {
  apply_comm_writes();
  std::memset(name, 0, sizeof name);
  const char* own = p->green->name;
  if (own[0] || p->named) {
    std::memcpy(name, own, strnlen(own, 15));
    return;
  }
  // Never named: a new task has its creator's name; the OS thread's stands in for it.
  real::prctl(PR_GET_NAME, reinterpret_cast<unsigned long>(name), 0ul, 0ul, 0ul);
  name[15] = '\0';
}

void set_name_of(PosixThread* p, const char* name, std::size_t length) {
  char copy[16] = {};
  std::memcpy(copy, name, strnlen(name, std::min<std::size_t>(length, 15)));
  rt::set_name(p->green, copy);
  p->named = true;
}

void keep_inherited(Inherited what) {
  char os_name[16] = {};
  cpu_set_t os_mask;
  if (what == Inherited::name)
    real::prctl(PR_GET_NAME, reinterpret_cast<unsigned long>(os_name), 0ul, 0ul, 0ul);
  if (what == Inherited::affinity && real::sched_getaffinity(0, sizeof os_mask, &os_mask) != 0)
    return;
  const int nice = what == Inherited::nice ? os_nice() : 0;
  rt::current()->hub->for_each_thread([&](rt::GreenThread* t) {
    auto* p = static_cast<PosixThread*>(t->posix);
    if (!p || t->is_root || p->finished) return;
    if (what == Inherited::name && !p->named && !t->name[0]) set_name_of(p, os_name, 15);
    if (what == Inherited::affinity && !p->has_affinity)
      p->affinity = os_mask, p->has_affinity = true;
    if (what == Inherited::nice && !p->has_nice) p->nice = nice, p->has_nice = true;
  });
}

long identity_syscall(long number, const long* a) {
  // The arguments as the kernel reads them: ids and sizes are 32-bit.
  const auto id = [a](int i) { return static_cast<pid_t>(a[i]); };
  const auto value = [a](int i) { return static_cast<int>(a[i]); };
  const auto size = [a](int i) { return static_cast<unsigned>(a[i]); };
  const auto mask = [a](int i) { return reinterpret_cast<cpu_set_t*>(a[i]); };
  const auto param = [a](int i) { return reinterpret_cast<sched_param*>(a[i]); };
  long r = kKernel;
  switch (number) {
    case SYS_gettid: r = thread_id(); break;
    case SYS_tgkill: r = signal_thread(true, id(0), id(1), value(2)); break;
    case SYS_tkill: r = signal_thread(false, 0, id(0), value(1)); break;
    case SYS_sched_setaffinity: r = set_affinity(id(0), size(1), mask(2)); break;
    case SYS_sched_getaffinity: r = get_affinity(id(0), size(1), mask(2)); break;
    case SYS_sched_setscheduler: r = set_scheduler(id(0), value(1), param(2), false); break;
    case SYS_sched_setparam: r = set_scheduler(id(0), -1, param(1), true); break;
    case SYS_sched_getscheduler: r = get_scheduler(id(0)); break;
    case SYS_sched_getparam: r = get_param(id(0), param(1)); break;
    case SYS_setpriority: r = set_priority(value(0), static_cast<id_t>(a[1]), value(2)); break;
    case SYS_getpriority: r = get_priority(value(0), static_cast<id_t>(a[1])); break;
    case SYS_prctl: r = name_call(value(0), static_cast<unsigned long>(a[1])); break;
  }
  if (r == kKernel) return real::syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  return r < 0 ? fail(static_cast<int>(-r)) : r;
}

}  // namespace greenrun::shim

using namespace greenrun;

namespace {
bool intercepted() { return rt::on_green_thread(rt::CallFamily::thread); }
}  // namespace

GREENRUN_EXPORT pid_t gettid() noexcept {
  if (!intercepted()) return real::gettid();
  return shim::thread_id();
}

GREENRUN_EXPORT int tgkill(pid_t tgid, pid_t tid, int sig) noexcept {
  long r = intercepted() ? shim::signal_thread(true, tgid, tid, sig) : shim::kKernel;
  return r == shim::kKernel ? real::tgkill(tgid, tid, sig) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int sched_setaffinity(pid_t pid, size_t size, const cpu_set_t* set) noexcept {
  long r = intercepted() ? shim::set_affinity(pid, size, set) : shim::kKernel;
  return r == shim::kKernel ? real::sched_setaffinity(pid, size, set) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int sched_getaffinity(pid_t pid, size_t size, cpu_set_t* set) noexcept {
  const size_t kernel_size = std::min<size_t>(size, INT_MAX);  // as glibc passes it
  long r = intercepted() ? shim::get_affinity(pid, kernel_size, set) : shim::kKernel;
  if (r == shim::kKernel) return real::sched_getaffinity(pid, size, set);
  if (r < 0) return shim::as_wrapper(r);
  // As glibc's wrapper: the bytes the kernel did not write are cleared, and the result is 0.
  std::memset(reinterpret_cast<char*>(set) + r, 0, size - static_cast<size_t>(r));
  return 0;
}

GREENRUN_EXPORT int sched_setscheduler(pid_t pid, int policy,
                                       const struct sched_param* param) noexcept {
  long r = intercepted() ? shim::set_scheduler(pid, policy, param, false) : shim::kKernel;
  return r == shim::kKernel ? real::sched_setscheduler(pid, policy, param) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int sched_getscheduler(pid_t pid) noexcept {
  long r = intercepted() ? shim::get_scheduler(pid) : shim::kKernel;
  return r == shim::kKernel ? real::sched_getscheduler(pid) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int sched_setparam(pid_t pid, const struct sched_param* param) noexcept {
  long r = intercepted() ? shim::set_scheduler(pid, -1, param, true) : shim::kKernel;
  return r == shim::kKernel ? real::sched_setparam(pid, param) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int sched_getparam(pid_t pid, struct sched_param* param) noexcept {
  long r = intercepted() ? shim::get_param(pid, param) : shim::kKernel;
  return r == shim::kKernel ? real::sched_getparam(pid, param) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int setpriority(__priority_which_t which, id_t who, int nice) noexcept {
  long r = intercepted() ? shim::set_priority(which, who, nice) : shim::kKernel;
  return r == shim::kKernel ? real::setpriority(which, who, nice) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int getpriority(__priority_which_t which, id_t who) noexcept {
  long r = intercepted() ? shim::get_priority(which, who) : shim::kKernel;
  if (r == shim::kKernel) return real::getpriority(which, who);
  return r < 0 ? shim::as_wrapper(r) : 20 - static_cast<int>(r);  // glibc's wrapper: the nice value
}

GREENRUN_EXPORT int prctl(int option, ...) noexcept {
  // As glibc: the four further arguments are read whether or not the option uses them.
  va_list ap;
  va_start(ap, option);
  unsigned long a[4];
  for (unsigned long& arg : a) arg = va_arg(ap, unsigned long);
  va_end(ap);
  long r = intercepted() ? shim::name_call(option, a[0]) : shim::kKernel;
  return r == shim::kKernel ? real::prctl(option, a[0], a[1], a[2], a[3]) : shim::as_wrapper(r);
}

GREENRUN_EXPORT int timer_create(clockid_t clock, struct sigevent* event, timer_t* timer) noexcept {
  if (!event || event->sigev_notify != SIGEV_THREAD_ID || !intercepted())
    return real::timer_create(clock, event, timer);
  return shim::create_timer(clock, event, timer);
}
