// Threads of the process that no pthread_create made (a raw clone(2), a runtime that brings no
// libc of its own): they run natively beside the green threads, and greenrun can neither make
// their blocking calls cooperative nor keep their thread-local state apart (without
// CLONE_SETTLS they use the TLS of the thread that cloned them). The monitor thread looks for
// them and names each one in one line, once.
// How they are told apart: glibc registers a robust-futex list with the kernel for every thread
// it starts (the main thread at start-up, every other one in start_thread, whoever called
// pthread_create: the program before or after greenrun started, greenrun, or glibc itself for
// a timer or aio helper), within microseconds of its first run, and the kernel starts a cloned
// task without one. So a task that still has none a moment after it was first seen, once it has
// run (a new thread may wait long for a CPU), was made by clone() alone. The kernel's own
// workers in the thread group (io_uring's iou-*, vhost) have none either; their flags tell.
// Invariant: runs on a native OS thread (the monitor), never a green one; it reads only what
// the kernel says (/proc/self/task, get_robust_list), nothing of glibc's or the hub's.
#pragma once
#include <sys/types.h>

#include "clock.h"

namespace greenrun::rt {

// How often the thread list is read, and how long a suspect must stay without a robust list
// before it is named (glibc sets one within microseconds of the clone).
inline constexpr Nanos kForeignThreadsPeriod = 100'000'000;
inline constexpr Nanos kForeignThreadsGrace = 20'000'000;

// Whether the kernel says `tid`, a thread of this process, was started by libc: 1 yes (it has a
// robust list, or is the main thread), 0 no, -1 cannot tell (gone, or get_robust_list refused).
int started_by_libc(pid_t tid);

// One watch: what it has seen and named. The monitor keeps one for the process
// (look_for_foreign_threads); tests make their own.
class ForeignThreadWatch {
 public:
  // Reports go to `report_fd` (stderr for the monitor's).
  explicit ForeignThreadWatch(int report_fd = 2) : report_fd_(report_fd) {}

  // Call at any pace with monotonic_now(): reads /proc/self/task at most every
  // kForeignThreadsPeriod, and names each thread without a robust list that has stayed so for
  // kForeignThreadsGrace and has run meanwhile (been given the CPU three times, or used 1 ms of
  // it), in one line, once. Does nothing where this kernel or glibc keeps no robust lists (then
  // nothing can be told apart). No allocation.
  void look(Nanos now);

  // Threads named so far.
  int reported() const { return reported_count_; }

 private:
  static constexpr int kMaxSuspects = 32;
  static constexpr int kMaxReported = 64;
  struct Suspect {
    pid_t tid;
    Nanos since;
  };

  void list_threads(Nanos now);
  void confirm(Nanos now);
  void report(pid_t tid);
  bool known_foreign(pid_t tid) const;

  int report_fd_;
  int usable_ = -1;  // -1 not yet asked, 0 robust lists cannot tell threads apart here, 1 yes
  Nanos next_list_ = 0;
  Suspect suspects_[kMaxSuspects] = {};
  int suspect_count_ = 0;
  pid_t reported_[kMaxReported] = {};
  int reported_count_ = 0;
};

// The process's watch, for the monitor thread (preemption.cpp) alone.
void look_for_foreign_threads(Nanos now);

}  // namespace greenrun::rt
