// Signals under one OS thread. The program's handlers sit in a table; the kernel runs our
// trampoline (same mask and flags, SA_RESTART included, so real blocking calls behave natively),
// which calls the program's handler, notes the signal and wakes the hub with an async handle
// (async-signal-safe); on the hub, the thread that natively would have taken the signal (the
// oldest not blocking it, as the kernel prefers the group leader) is interrupted if it is
// parked in an interruptible call, unless SA_RESTART restarts that call.
// Masks are kept per green thread; the OS thread's mask is their intersection (a signal is
// blocked in the kernel only when every green thread blocks it), recomputed on each change.
// The watched signal (GREENRUN_DUMP_SIGNAL) keeps the trampoline while the program's action is
// SIG_DFL or SIG_IGN: it then only wakes the hub, and the program and its children still see
// that action (ExecDispositions).
// Waiting for signals (pause, sigsuspend, the sigwait family) is in signal_wait.cpp.
// Defines: sigaction signal pthread_sigmask sigprocmask sigpending
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

#include "diagnostics.h"
#include "export.h"
#include "hub.h"
#include "posix_thread.h"
#include "real.h"
#include "signal_shim.h"

namespace greenrun::shim {
namespace {

// The program's action for each signal whose handler is our trampoline.
struct Slot {
  struct sigaction program {};
  bool ours = false;
};
Slot slots[kTrackedSignals + 1];

std::atomic<std::uint64_t> arrived{0};  // handlers that ran and may interrupt a parked thread
// The green thread that was running when each of those handlers ran (nullptr: the hub): the
// handler ran on it, so it is not interrupted later, in a call it made afterwards.
std::atomic<rt::GreenThread*> ran_on[kTrackedSignals + 1];
// The green thread that is changing the OS mask: a signal this unblocks is delivered to it.
std::atomic<rt::GreenThread*> unmasking{nullptr};
uv_async_t wakeup;  // started on the hub the first time a handler is installed
bool wakeup_started = false;

// Signals the program gave a handler before the hub existed (the kernel runs those directly):
// adopted into the table when the hub is made.
std::atomic<std::uint64_t> early{0};

sigset_t base_mask;  // the OS mask when we first looked: the mask of threads that never set one
bool base_known = false;

// The watched signal, and what the hub runs when it arrives while the program has no handler.
int watched = 0;
void (*on_watched)(rt::Hub&) = nullptr;
std::atomic<bool> watched_arrived{false};
// The preemption signal, and the runtime's handler for it while the program has none.
int preempting = 0;
void (*on_preempt)(siginfo_t*, void*) = nullptr;
bool preempt_notice_given = false;
// Signals whose kernel action is the trampoline while the program sees SIG_IGN.
std::atomic<std::uint64_t> hidden_ignores{0};

// A handler of the program's own. The kernel tells SIG_DFL and SIG_IGN by value, whatever the
// flags say, so the union is read as sa_handler either way.
bool has_handler(const struct sigaction& a) {
  return a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN;
}

// Whether a thread parked for `reason` gives EINTR to a handler (flags as in sigaction).
bool interruptible(const PosixThread* p, rt::WaitReason reason, bool restart) {
  switch (reason) {
    case rt::WaitReason::sleep:
    case rt::WaitReason::signal:
    case rt::WaitReason::semaphore:
      return true;  // sleeps, pause, sigsuspend, sem_*wait: never restarted (signal(7))
    case rt::WaitReason::fd_readable:
    case rt::WaitReason::fd_writable:
    case rt::WaitReason::child_process:
      // read, write and the wait family restart; poll, select and sigwaitinfo never do.
      return !(restart && p->restartable_call);
    default:
      return false;  // mutexes, joins, condition waits: no EINTR natively either
  }
}

void interrupt_if_parked(PosixThread* p, int sig) {
  rt::GreenThread* g = p->green;
  if (g->state != rt::ThreadState::parked) return;
  bool restart = slots[sig].ours && (slots[sig].program.sa_flags & SA_RESTART);
  if (interruptible(p, g->wait_reason, restart)) g->hub->scheduler().ready(g, rt::Wake::interrupted);
}

// On the hub: hands each signal whose handler ran to the thread that natively would take it.
void on_wakeup(uv_async_t*) {
  std::uint64_t bits = arrived.exchange(0);
  rt::Hub* hub = rt::Hub::get_if_exists();
  if (!hub) return;
  if (watched_arrived.exchange(false) && on_watched) on_watched(*hub);
  for (int sig = 1; sig <= kTrackedSignals; ++sig) {
    if (!(bits & signal_bit(sig))) continue;
    PosixThread* target = nullptr;
    hub->for_each_thread([&](rt::GreenThread* t) {
      auto* p = static_cast<PosixThread*>(t->posix);
      if (!target && p && !t->is_hub && !t->dead() && !p->finished && !blocks(p, sig)) target = p;
    });
    if (target && target->green != ran_on[sig].load()) interrupt_if_parked(target, sig);
  }
}

void trampoline(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;
  const struct sigaction& a = slots[sig].program;
  if (sig == preempting && !has_handler(a)) {  // the runtime's alone while the program has none
    on_preempt(info, context);
    errno = saved_errno;
    return;
  }
  if (!has_handler(a)) {  // the watched signal, left at SIG_DFL or SIG_IGN: only the hub acts
    watched_arrived.store(true);
    if (wakeup_started) uv_async_send(&wakeup);
    errno = saved_errno;
    return;
  }
  // Noted before the handler runs, which may leave by siglongjmp. A thread-directed signal
  // (raise, or pthread_kill delivering on its target) and one unblocked by the running
  // thread's own mask change belong to the running thread, which is not in a system call.
  rt::GreenThread* running = rt::current();
  if ((info && info->si_code == SI_TKILL) || (running && running == unmasking.load())) {
    taken.fetch_add(1);
  } else {
    ran_on[sig].store(running && !running->is_hub ? running : nullptr);
    arrived.fetch_or(signal_bit(sig));
    if (wakeup_started) uv_async_send(&wakeup);
  }
  if (a.sa_flags & SA_RESETHAND) slots[sig].ours = false;  // the kernel has reset it to SIG_DFL
  if (running && !running->is_hub && running->posix)
    ++static_cast<PosixThread*>(running->posix)->handlers_run;
  errno = saved_errno;
  if (running) ++running->handler_depth;  // never preempted inside a handler
  if (a.sa_flags & SA_SIGINFO)
    a.sa_sigaction(sig, info, context);
  else
    a.sa_handler(sig);
  if (running) --running->handler_depth;
  errno = saved_errno;
}

bool is_trampoline(const struct sigaction& a) {
  return (a.sa_flags & SA_SIGINFO) && a.sa_sigaction == &trampoline;
}

void note_hidden(int sig) {
  if (slots[sig].ours && slots[sig].program.sa_handler == SIG_IGN)
    hidden_ignores.fetch_or(signal_bit(sig));
  else
    hidden_ignores.fetch_and(~signal_bit(sig));
}

// Makes the trampoline the kernel's action for `sig`, `program` the action the program sees.
// 0, or -1 with errno and the table as it was.
int arm(int sig, const struct sigaction& program, struct sigaction* real_old) {
  struct sigaction ours = program;
  if (!has_handler(program)) {
    // The watched signal: natively it interrupts no system call, so restart them all.
    ours.sa_flags = SA_RESTART;
    sigemptyset(&ours.sa_mask);
  }
  ours.sa_flags |= SA_SIGINFO;
  ours.sa_sigaction = &trampoline;
  const Slot previous = slots[sig];
  slots[sig].program = program;  // before the handler can run
  slots[sig].ours = true;
  int rc = real::sigaction(sig, &ours, real_old);
  if (rc != 0) slots[sig] = previous;
  note_hidden(sig);
  return rc;
}

void start_wakeup(rt::Hub& hub) {
  if (wakeup_started) return;
  rt::RuntimeCall runtime;
  uv_async_init(hub.loop(), &wakeup, &on_wakeup);
  uv_unref(reinterpret_cast<uv_handle_t*>(&wakeup));  // a parked pause() counts itself alive
  wakeup_started = true;
}

int install(int sig, const struct sigaction* act, struct sigaction* old) {
  if (sig < 1 || sig > kTrackedSignals || sig == SIGKILL || sig == SIGSTOP) return real::sigaction(sig, act, old);
  if (!act) return query(sig, old);
  const Slot previous = slots[sig];
  struct sigaction real_old {};
  int rc;
  if (sig == preempting && has_handler(*act) && !preempt_notice_given) {
    preempt_notice_given = true;
    rt::warn(rt::current(), "the program handles the preemption signal itself: no thread is preempted while its handler stays",
             "set GREENRUN_TIMESLICE=0 to say so, or leave that signal to greenrun");
  }
  if (has_handler(*act) || sig == watched || sig == preempting) {
    start_wakeup(*rt::current()->hub);
    rc = arm(sig, *act, &real_old);
  } else {
    rc = real::sigaction(sig, act, &real_old);
    if (rc == 0) slots[sig].ours = false;
    note_hidden(sig);
  }
  if (rc == 0 && old) *old = previous.ours && is_trampoline(real_old) ? previous.program : real_old;
  return rc;
}

int change_mask(int how, const sigset_t* set, sigset_t* old) {
  PosixThread* p = self();
  sigset_t current = mask_of(p);
  if (old) *old = current;
  if (!set) return 0;
  sigset_t next = current;
  switch (how) {
    case SIG_BLOCK: sigorset(&next, &current, set); break;
    case SIG_UNBLOCK:
      for (int sig = 1; sig < NSIG; ++sig)
        if (sigismember(set, sig) == 1) sigdelset(&next, sig);
      break;
    case SIG_SETMASK: next = *set; break;
    default: return EINVAL;
  }
  sigdelset(&next, SIGKILL);
  sigdelset(&next, SIGSTOP);
  p->signal_mask = next;
  p->has_signal_mask = true;
  apply_os_mask();
  if (p->pending_signals) take_pending_signals(p);
  return 0;
}

}  // namespace

std::atomic<std::uint64_t> taken{0};

int query(int sig, struct sigaction* old) {
  struct sigaction current {};
  if (int rc = real::sigaction(sig, nullptr, &current); rc != 0) return rc;
  // Not the trampoline: someone set the kernel's action behind the table (system() does).
  if (old) *old = slots[sig].ours && is_trampoline(current) ? slots[sig].program : current;
  return 0;
}

bool watch_signal(rt::Hub& hub, int sig, void (*on_arrival)(rt::Hub&)) {
  // SIGCHLD's SIG_IGN and SIG_DFL differ in more than delivery (ignored children are reaped).
  if (sig < 1 || sig > kTrackedSignals || sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD)
    return false;
  struct sigaction current {};
  if (real::sigaction(sig, nullptr, &current) != 0) return false;
  start_wakeup(hub);
  on_watched = on_arrival;
  watched = sig;
  // A handler already there (the program's, adopted into the table) wins while it stays.
  return has_handler(current) || arm(sig, current, nullptr) == 0;
}

bool preempt_with(int sig, void (*handler)(siginfo_t*, void*)) {
  if (sig < 1 || sig > kTrackedSignals || sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD ||
      sig == watched)
    return false;
  struct sigaction current {};
  if (real::sigaction(sig, nullptr, &current) != 0) return false;
  if (has_handler(current)) return false;  // the program's own: it keeps it
  on_preempt = handler;
  preempting = sig;
  if (arm(sig, current, nullptr) != 0) return false;
  // A program that blocks the signal in every thread is told so by the monitor, when a
  // preemption is due and the kernel holds the signal back (preemption.cpp): the mask at any
  // one moment says little (Perl blocks nearly everything around each pthread_create).
  return true;
}

bool hides_ignore(int sig) {
  return sig >= 1 && sig <= kTrackedSignals && (hidden_ignores.load() & signal_bit(sig));
}

ExecDispositions::ExecDispositions() : bits_(hidden_ignores.load()) {
  if (!bits_) return;
  const int saved_errno = errno;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  for (int sig = 1; sig <= kTrackedSignals; ++sig) {
    if (!(bits_ & signal_bit(sig))) continue;
    struct sigaction was {};
    const bool set = real::sigaction(sig, &ignore, &was) == 0;
    if (set && is_trampoline(was)) continue;
    // Replaced behind the table (by another OS thread): that action stays as it was.
    if (set) real::sigaction(sig, &was, nullptr);
    bits_ &= ~signal_bit(sig);
  }
  errno = saved_errno;
}

ExecDispositions::~ExecDispositions() {
  if (!bits_) return;
  const int saved_errno = errno;  // an exec that failed has set it
  for (int sig = 1; sig <= kTrackedSignals; ++sig)
    if ((bits_ & signal_bit(sig)) && slots[sig].ours) arm(sig, slots[sig].program, nullptr);
  errno = saved_errno;
}

const sigset_t& mask_of(const PosixThread* p) {
  if (!base_known) {
    real::pthread_sigmask(SIG_BLOCK, nullptr, &base_mask);
    base_known = true;
  }
  return p->has_signal_mask ? p->signal_mask : base_mask;
}

// Sets the OS thread's mask to the intersection of every green thread's mask.
void apply_os_mask() {
  rt::Hub* hub = rt::current()->hub;
  sigset_t os;
  sigfillset(&os);
  hub->for_each_thread([&](rt::GreenThread* t) {
    auto* p = static_cast<PosixThread*>(t->posix);
    if (!p || t->dead() || p->finished) return;
    const sigset_t& m = mask_of(p);
    for (int sig = 1; sig < NSIG; ++sig)
      if (!sigismember(&m, sig)) sigdelset(&os, sig);
  });
  unmasking.store(rt::current());
  real::pthread_sigmask(SIG_SETMASK, &os, nullptr);  // delivers what it unblocks, to us
  unmasking.store(nullptr);
}

void adopt_early_handlers() {
  std::uint64_t bits = early.exchange(0);
  for (int sig = 1; sig <= kTrackedSignals; ++sig) {
    if (!(bits & signal_bit(sig))) continue;
    struct sigaction current {};
    if (real::sigaction(sig, nullptr, &current) != 0) continue;
    const bool custom = (current.sa_flags & SA_SIGINFO) ? current.sa_sigaction != nullptr
                                                        : current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
    // Our own (the stack-overflow handler, installed while the hub was being made) stay as they are.
    Dl_info mine{}, theirs{};
    const void* code = (current.sa_flags & SA_SIGINFO) ? reinterpret_cast<const void*>(current.sa_sigaction)
                                                       : reinterpret_cast<const void*>(current.sa_handler);
    if (dladdr(reinterpret_cast<const void*>(&adopt_early_handlers), &mine) && dladdr(code, &theirs) &&
        mine.dli_fbase == theirs.dli_fbase)
      continue;
    if (custom) install(sig, &current, nullptr);
  }
}

void inherit_signal_mask(PosixThread* child) {
  PosixThread* parent = self();
  if (parent && parent->has_signal_mask) {
    child->signal_mask = parent->signal_mask;
    child->has_signal_mask = true;
  }
}

void take_pending_signals(PosixThread* p) {
  for (int sig = 1; sig <= kTrackedSignals; ++sig) {
    if (!(p->pending_signals & signal_bit(sig)) || blocks(p, sig)) continue;
    p->pending_signals &= ~signal_bit(sig);
    // To the hub's OS thread, now running this thread: the handler runs on its stack.
    real::pthread_kill(real::pthread_self(), sig);
  }
}

TemporaryMask::TemporaryMask(const sigset_t* mask) {
  if (!mask || !(p_ = self())) return;
  saved_ = mask_of(p_);
  p_->signal_mask = *mask;
  sigdelset(&p_->signal_mask, SIGKILL);
  sigdelset(&p_->signal_mask, SIGSTOP);
  p_->has_signal_mask = true;
  apply_os_mask();
  if (p_->pending_signals) take_pending_signals(p_);
}

TemporaryMask::~TemporaryMask() {
  if (!p_) return;
  const int saved_errno = errno;  // the call's result is already set
  p_->signal_mask = saved_;
  p_->has_signal_mask = true;  // `saved_` is the base mask when it had none
  apply_os_mask();
  errno = saved_errno;
}

// pthread_kill of a green thread (shims/thread_info.cpp). 0 or an error number.
int send_to(PosixThread* p, int sig) {
  if (sig <= 0 || sig > kTrackedSignals) return real::pthread_kill(real::pthread_self(), sig);
  if (p == self()) {
    if (blocks(p, sig)) {
      p->pending_signals |= signal_bit(sig);
      return 0;
    }
    return real::pthread_kill(real::pthread_self(), sig);
  }
  p->pending_signals |= signal_bit(sig);
  p->green->resume_hook = true;  // delivered when it next runs, wherever it parked
  if (!blocks(p, sig)) {
    interrupt_if_parked(p, sig);
  } else if (p->green->state == rt::ThreadState::parked &&
             p->green->wait_reason == rt::WaitReason::signal) {
    // A blocked signal interrupts nothing, but sigwait waits for exactly such: let it look.
    p->green->hub->scheduler().ready(p->green, rt::Wake::interrupted);
  }
  return 0;
}

RestartableCall::RestartableCall() : p_(self()) {
  if (p_) p_->restartable_call = true;
}
RestartableCall::~RestartableCall() {
  if (p_) p_->restartable_call = false;
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept {
  // The runtime's own (the blocking monitor's sampler, as a RuntimeCall) and other OS threads'
  // go straight to the kernel.
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (act && !rt::current() && sig >= 1 && sig <= 64) shim::early.fetch_or(shim::signal_bit(sig));
    // Another OS thread (or the runtime) asking sees the program's action too.
    if (!act && sig >= 1 && sig <= shim::kTrackedSignals) return shim::query(sig, old);
    return real::sigaction(sig, act, old);
  }
  return shim::install(sig, act, old);
}

GREENRUN_EXPORT sighandler_t signal(int sig, sighandler_t handler) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::thread)) {
    if (!rt::current() && sig >= 1 && sig <= 64) shim::early.fetch_or(shim::signal_bit(sig));
    return real::signal(sig, handler);
  }
  struct sigaction act {}, old {};
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;  // glibc's signal() has BSD semantics: restart, and the
  sigemptyset(&act.sa_mask);  // signal blocked while its handler runs
  sigaddset(&act.sa_mask, sig);
  if (shim::install(sig, &act, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}

GREENRUN_EXPORT int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self())
    return real::pthread_sigmask(how, set, old);
  return shim::change_mask(how, set, old);
}

GREENRUN_EXPORT int sigprocmask(int how, const sigset_t* set, sigset_t* old) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::thread) || !shim::self())
    return real::sigprocmask(how, set, old);
  if (int rc = shim::change_mask(how, set, old)) return errno = rc, -1;
  return 0;
}

// What the kernel has pending for the process or the OS thread, and what pthread_kill left
// pending for this green thread (the kernel's thread-directed pending set, natively).
GREENRUN_EXPORT int sigpending(sigset_t* set) noexcept {
  shim::PosixThread* p = rt::on_green_thread(rt::CallFamily::thread) ? shim::self() : nullptr;
  int rc = real::sigpending(set);
  if (rc != 0 || !p) return rc;
  for (int sig = 1; sig <= shim::kTrackedSignals; ++sig)
    if (p->pending_signals & shim::signal_bit(sig)) sigaddset(set, sig);
  return 0;
}
