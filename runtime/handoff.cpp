// Hand-off of the loop to another OS thread (see handoff.h).
//
// Carriers. Every OS thread that may run the hub is a carrier: the original one (its idle loop
// runs on a small stack and TLS block of its own, since its TLS is the main thread's) and pool
// threads the monitor starts when none is idle. An idle carrier waits on a futex with every
// signal blocked; told to take the loop, it sets the kernel mask the previous carrier had, binds
// the hub to its TLS and malloc state (Hub::bind_to_this_os_thread) and switches into the hub
// context, which resumes as if the thread left behind had switched back to it. That thread is
// marked away (an external waker, so the deadlock check waits for it). When it comes back
// (come_back, at its next intercepted call), it saves its context, switches to its carrier's
// idle context, and that context posts it to the hub, which makes it ready again.
//
// malloc: green threads normally share their OS thread's tcache. After a hand-off two OS threads
// run at once, so each carrier keeps its own pair of malloc words: the thread left behind keeps
// the old carrier's, and the new carrier gives its own to every thread it switches to.
#include "handoff.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hub.h"
#include "service_thread.h"
#include "stack_overflow.h"
#include "thread_pointer.h"
#include "tls_block.h"

extern "C" void* __libc_malloc(std::size_t size);  // glibc's own malloc, whatever is preloaded
extern "C" void __libc_free(void* block);

namespace greenrun::rt {

struct Carrier {
  pid_t tid = 0;
  void* tls = nullptr;                  // its own thread pointer: its idle loop's and the hub's
  std::uintptr_t malloc_state[2] = {};  // malloc's words for whatever runs on it
  Context idle;                         // where it waits between turns
  std::atomic<int> wake{0};             // futex word: 1 = take the loop
  std::atomic<bool> waiting{false};     // a new pool thread has reached its idle loop
  std::uint64_t mask = 0;               // the kernel signal mask to run the loop with
  Nanos asked_at = 0;                   // when the monitor decided to hand it the loop
  GreenThread* left_behind = nullptr;   // away on the previous carrier, given with the loop
  GreenThread* coming_back = nullptr;   // set by come_back just before it switches here
  Carrier* next_idle = nullptr;
};

namespace {

constexpr int kMaxCarriers = 64;
constexpr std::size_t kIdleStack = 64 * 1024;  // the original thread's idle loop

// Process-lifetime (leaked on purpose), like the monitor that uses it.
struct Handoff {
  Hub* hub = nullptr;
  Nanos threshold = 0;
  Carrier carriers[kMaxCarriers];  // [0]: the original OS thread
  std::atomic<int> count{0};
  std::atomic<Carrier*> idle{nullptr};  // pushed by carriers, popped by the monitor alone
  Carrier* runner = nullptr;            // the monitor's: the carrier it last gave the loop to
  std::atomic<pid_t> runner_tid{0};
  std::atomic<unsigned long long> made{0};
  std::atomic<Nanos> longest{0};
};
Handoff* g = nullptr;

long futex(std::atomic<int>* word, int op, int value) {
  return syscall(SYS_futex, reinterpret_cast<int*>(word), op, value, nullptr, nullptr, 0);
}

// glibc's own signals, SIGCANCEL (32) and SIGSETXID (33), are never blocked, as
// pthread_sigmask keeps them: setuid() and its kin signal every thread of the process with
// SIGSETXID and wait until each has taken it, so a carrier blocking it would hang them forever.
constexpr std::uint64_t kGlibcSignals = (std::uint64_t{1} << (32 - 1)) | (std::uint64_t{1} << (33 - 1));

void set_kernel_mask(std::uint64_t mask) {
  mask &= ~kGlibcSignals;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, nullptr, sizeof mask);
}

void push_idle(Carrier* c) {
  Carrier* head = g->idle.load(std::memory_order_relaxed);
  do {
    c->next_idle = head;
  } while (!g->idle.compare_exchange_weak(head, c, std::memory_order_release,
                                          std::memory_order_relaxed));
}

// Only the monitor pops, so a popped carrier cannot reappear underneath it (no ABA).
Carrier* pop_idle() {
  Carrier* head = g->idle.load(std::memory_order_acquire);
  while (head && !g->idle.compare_exchange_weak(head, head->next_idle, std::memory_order_acquire,
                                                std::memory_order_acquire)) {
  }
  return head;
}

void on_rejoin(RemoteTask* task) {  // on the hub
  auto* t = reinterpret_cast<GreenThread*>(reinterpret_cast<char*>(task) -
                                           offsetof(GreenThread, rejoin_task));
  t->away_on = nullptr;
  t->away.store(0, std::memory_order_relaxed);
  t->state = ThreadState::parked;
  t->state_since = 0;  // not a park: its time away is not time parked
  t->hub->scheduler().ready(t);
  t->hub->remove_external_waker();
}

void add_spare_carrier();

// On carrier `c`: runs the loop until a thread that was left behind on `c` comes back.
void take_loop(Carrier* c) {
  Hub& hub = *g->hub;
  set_kernel_mask(c->mask);
  GreenThread* left = c->left_behind;
  c->left_behind = nullptr;
  if (left) {
    left->state = ThreadState::away;
    hub.add_external_waker();
  }
  hub.bind_to_this_os_thread(c->malloc_state);
  if (!g->idle.load(std::memory_order_acquire)) {  // a spare for the next hand-off
    RuntimeCall runtime;
    add_spare_carrier();
  }
  const Nanos took = monotonic_now() - c->asked_at;
  Nanos longest = g->longest.load(std::memory_order_relaxed);
  while (took > longest && !g->longest.compare_exchange_weak(longest, took)) {
  }
  GreenThread* h = hub.hub_thread();
  h->state = ThreadState::running;
  context_switch(c->idle, h->context);
}

// A carrier's life between turns.
[[noreturn]] void idle_loop(Carrier* c) {
  for (;;) {
    if (GreenThread* t = c->coming_back) {
      c->coming_back = nullptr;
      // What it used while away is this OS thread's malloc state (it may have made it).
      tls::read_malloc_state(t->tls, c->malloc_state);
      t->rejoin_task.run = &on_rejoin;
      t->hub->post(&t->rejoin_task);
    }
    set_kernel_mask(~std::uint64_t{0});
    c->wake.store(0, std::memory_order_relaxed);
    push_idle(c);
    c->waiting.store(true, std::memory_order_release);
    while (c->wake.load(std::memory_order_acquire) == 0) futex(&c->wake, FUTEX_WAIT_PRIVATE, 0);
    take_loop(c);
  }
}

void first_carrier_idle() { idle_loop(&g->carriers[0]); }

void* pool_carrier(void* arg) {
  auto* c = static_cast<Carrier*>(arg);
  prctl(PR_SET_NAME, "greenrun-loop");  // greenrun's, though it runs green threads
  c->tid = static_cast<pid_t>(syscall(SYS_gettid));
  c->tls = read_thread_pointer();
  // This thread's glibc tcache exists from now on. glibc's own entry points: an allocator the
  // program preloads (jemalloc) has locks that green threads take through the shims' emulation,
  // which a native thread running at the same time must not touch.
  __libc_free(__libc_malloc(1));
  install_overflow_handler();  // a green thread's stack overflow is reported here too
  tls::read_malloc_state(c->tls, c->malloc_state);
  idle_loop(c);
}

// Starts one more carrier (up to kMaxCarriers), on the OS thread that runs the loop: never from
// the monitor, since pthread_create allocates, and an allocator the program preloads has locks
// that green threads hold through the shims' emulation, which a native thread running beside
// them must not take.
void add_spare_carrier() {
  int n = g->count.load(std::memory_order_relaxed);
  if (n >= kMaxCarriers) return;
  g->count.store(n + 1, std::memory_order_relaxed);
  Carrier* c = &g->carriers[n];
  if (start_service_thread(&pool_carrier, c) != 0) return;
  // Until it has its name, a program listing its threads would take it for one of its own.
  while (!c->waiting.load(std::memory_order_acquire)) sched_yield();
}

}  // namespace

void read_task_file(pid_t tid, const char* file, char* text, std::size_t size) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/%s", static_cast<int>(tid), file);
  text[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, text, size - 1);
  close(fd);
  text[n > 0 ? n : 0] = '\0';
}

std::uint64_t kernel_signal_mask(pid_t tid) {
  char text[2048];
  read_task_file(tid, "status", text, sizeof text);
  const char* line = std::strstr(text, "SigBlk:");
  return line ? std::strtoull(line + 7, nullptr, 16) : 0;
}

SyscallSample sample_syscall(pid_t tid) {
  SyscallSample s;
  read_task_file(tid, "syscall", s.text, sizeof s.text);
  if (std::strncmp(s.text, "running", 7) == 0) {
    s.running = true;
    return s;
  }
  if (!s.text[0]) return s;
  s.number = std::strtol(s.text, nullptr, 10);
  s.in_call = s.number >= 0;
  if (const char* last = std::strrchr(s.text, ' ')) s.pc = std::strtoull(last + 1, nullptr, 16);
  return s;
}

int enable_handoff(Hub& hub, Nanos threshold) {
  if (g) return -EALREADY;
  if (threshold <= 0 || !tls::available()) return -ENOTSUP;
  RuntimeCall runtime;
  auto* h = new Handoff();
  Carrier& first = h->carriers[0];
  first.tid = static_cast<pid_t>(syscall(SYS_gettid));
  // Its idle loop's own stack and TLS: its original TLS is the main thread's.
  const std::size_t size = kIdleStack + tls::reserve();
  void* stack = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                     -1, 0);
  if (stack == MAP_FAILED) {
    delete h;
    return -ENOMEM;
  }
  StackDescription described;
  described.block = stack;
  described.block_size = size;
  first.tls = tls::build(static_cast<char*>(stack) + size, described);
  if (!first.tls) {
    munmap(stack, size);
    delete h;
    return -EAGAIN;
  }
  tls::set_tid(first.tls, first.tid);
  tls::read_malloc_state(hub.root()->tls, first.malloc_state);
  context_make(first.idle, stack, kIdleStack, &first_carrier_idle);
  h->hub = &hub;
  h->threshold = threshold;
  h->count.store(1, std::memory_order_relaxed);
  h->runner = &first;
  g = h;
  add_spare_carrier();  // on the loop's OS thread, before the program has threads
  return 0;
}

Nanos handoff_threshold() { return g ? g->threshold : 0; }

bool try_handoff(Hub& hub, const SyscallSample& sample, bool (*program_code)(std::uintptr_t)) {
  if (!g || !sample.in_call || hub.threads_alive() <= 2) return false;  // nobody to run
  GreenThread* t = __atomic_load_n(hub.running_slot(), __ATOMIC_ACQUIRE);
  // The root may: it takes the original OS thread's TLS as its own (bind_to_this_os_thread).
  if (!t || t->is_hub || t->in_runtime || t->handler_depth > 0 ||
      (!t->own_tls && t != hub.root()) || t->state != ThreadState::running)
    return false;
  if (!t->in_blocking_call.load(std::memory_order_relaxed) && !program_code(sample.pc))
    return false;
  const Nanos asked = monotonic_now();
  Carrier* to = pop_idle();  // none: the next look tries again (a spare is being started)
  if (!to) return false;
  Carrier* from = g->runner;
  t->away_on = from;
  t->away.store(kAway, std::memory_order_seq_cst);
  // Still the very same call, by the same thread: it has not touched the hub since, and will
  // see the mark before it does.
  SyscallSample again = sample_syscall(from->tid);
  if (std::strcmp(again.text, sample.text) != 0 ||
      __atomic_load_n(hub.running_slot(), __ATOMIC_ACQUIRE) != t) {
    std::uint8_t expected = kAway;
    if (t->away.compare_exchange_strong(expected, 0)) {
      push_idle(to);
      return false;
    }
    // It saw the mark and is coming back: it has left the loop, which must move all the same.
  }
  to->left_behind = t;
  to->mask = kernel_signal_mask(from->tid);
  to->asked_at = asked;
  g->runner = to;
  g->runner_tid.store(to->tid, std::memory_order_relaxed);
  g->made.fetch_add(1, std::memory_order_relaxed);
  to->wake.store(1, std::memory_order_release);
  futex(&to->wake, FUTEX_WAKE_PRIVATE, 1);
  return true;
}

void come_back(GreenThread* t) {
  std::uint8_t expected = kAway;
  if (!t->away.compare_exchange_strong(expected, kRejoining) && expected == 0)
    return;  // the monitor took its mark back: the loop never moved
  Carrier* c = t->away_on;
  c->coming_back = t;
  write_thread_pointer(c->tls);
  context_switch(t->context, c->idle);
  // Resumed by the scheduler, on whichever OS thread runs the loop now.
  t->hub->reap();
}

pid_t loop_os_thread(pid_t fallback) {
  pid_t tid = g ? g->runner_tid.load(std::memory_order_relaxed) : 0;
  return tid ? tid : fallback;
}

unsigned long long handoffs() { return g ? g->made.load(std::memory_order_relaxed) : 0; }

Nanos longest_handoff() { return g ? g->longest.load(std::memory_order_relaxed) : 0; }

void handoff_after_fork_child() {
  if (!g) return;
  // Only the thread that forked survives, and it runs the loop: it is the one carrier.
  RuntimeCall runtime;  // the kernel's id, not the shims' view of it
  g->runner->tid = static_cast<pid_t>(syscall(SYS_gettid));
  g->runner_tid.store(g->runner->tid, std::memory_order_relaxed);
  g->idle.store(nullptr, std::memory_order_relaxed);
}

}  // namespace greenrun::rt
