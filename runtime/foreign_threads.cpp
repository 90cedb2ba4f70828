// Threads made by a raw clone (see foreign_threads.h).
#include "foreign_threads.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "diagnostic_output.h"
#include "handoff.h"

namespace greenrun::rt {
namespace {

// task_struct flags (the ninth field of /proc/PID/stat): a task on its way out (the kernel drops
// its robust list there), and the kernel's own workers that live in a process's thread group
// (io_uring's io-wq and SQPOLL threads, vhost's, kernel threads).
constexpr unsigned long kPfExiting = 0x00000004;
constexpr unsigned long kPfIoWorker = 0x00000010;
constexpr unsigned long kPfUserWorker = 0x00004000;
constexpr unsigned long kPfKthread = 0x00200000;

// The robust-list head the kernel holds for `tid` (0: the calling thread), or -1 on refusal.
long robust_list_of(pid_t tid, void** head) {
  std::size_t length = 0;
  *head = nullptr;
  return syscall(SYS_get_robust_list, tid, head, &length);
}

// Whether `tid` is a task the program runs: alive, not exiting, and not one of the kernel's
// workers.
bool program_task(pid_t tid) {
  char stat[512];
  read_task_file(tid, "stat", stat, sizeof stat);
  const char* rest = std::strrchr(stat, ')');  // after "pid (comm"; a comm may hold ')'
  if (!rest || rest[1] != ' ') return false;
  const char state = rest[2];
  if (state == 'Z' || state == 'X' || state == 'x') return false;
  // " S ppid pgrp session tty_nr tpgid flags ..."
  const char* field = rest + 3;
  for (int skip = 0; skip < 5 && field; ++skip) {
    field = std::strchr(field + 1, ' ');
  }
  if (!field) return false;
  const unsigned long flags = std::strtoul(field + 1, nullptr, 10);
  return !(flags & (kPfExiting | kPfIoWorker | kPfUserWorker | kPfKthread));
}

// Whether `tid` has run long enough that glibc would have registered its robust list if glibc
// had started it: that takes a few microseconds of its first run (only a wait for its creator,
// for attributes set after the clone, can come first). A thread that has been given the CPU
// three times, or has used a millisecond of it, is past that. One that has not yet run (a new
// thread waits long for a CPU on a loaded machine) is not judged yet.
bool has_run(pid_t tid) {
  char text[128];
  read_task_file(tid, "schedstat", text, sizeof text);  // "run_ns wait_ns times_run"
  unsigned long long run_ns = 0, wait_ns = 0, times_run = 0;
  if (std::sscanf(text, "%llu %llu %llu", &run_ns, &wait_ns, &times_run) == 3)
    return times_run >= 3 || run_ns >= 1'000'000;
  // Without schedstat (CONFIG_SCHED_INFO): the switches away from the CPU, from status.
  char status[4096];
  read_task_file(tid, "status", status, sizeof status);
  unsigned long long switches = 0;
  for (const char* key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
    const char* at = std::strstr(status, key);
    if (at) switches += std::strtoull(at + std::strlen(key), nullptr, 10);
  }
  return switches >= 3;
}

}  // namespace

int started_by_libc(pid_t tid) {
  if (tid == getpid()) return 1;
  void* head = nullptr;
  if (robust_list_of(tid, &head) != 0) return -1;
  return head ? 1 : 0;
}

void ForeignThreadWatch::look(Nanos now) {
  if (usable_ < 0) {
    // glibc registered a list for this very thread unless the kernel (or a seccomp filter) has
    // no robust futexes, and then nothing tells its threads from cloned ones.
    void* own = nullptr;
    usable_ = robust_list_of(0, &own) == 0 && own ? 1 : 0;
  }
  if (!usable_) return;
  confirm(now);
  if (now >= next_list_) {
    next_list_ = now + kForeignThreadsPeriod;
    list_threads(now);
  }
}

void ForeignThreadWatch::list_threads(Nanos now) {
  int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  alignas(dirent64) char buf[4096];
  for (;;) {
    const ssize_t n = getdents64(dir, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* entry = reinterpret_cast<const dirent64*>(buf + at);
      at += entry->d_reclen;
      char* end = nullptr;
      const long tid = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end || tid <= 0) continue;  // "." and ".."
      if (known_foreign(static_cast<pid_t>(tid))) continue;
      bool suspected = false;
      for (int i = 0; i < suspect_count_; ++i) suspected |= suspects_[i].tid == tid;
      if (suspected || suspect_count_ == kMaxSuspects) continue;
      if (started_by_libc(static_cast<pid_t>(tid)) == 0)
        suspects_[suspect_count_++] = {static_cast<pid_t>(tid), now};
    }
  }
  close(dir);
}

void ForeignThreadWatch::confirm(Nanos now) {
  for (int i = 0; i < suspect_count_;) {
    const Suspect s = suspects_[i];
    if (now - s.since < kForeignThreadsGrace) {
      ++i;
      continue;
    }
    suspects_[i] = suspects_[--suspect_count_];
    // Still without a robust list though it has run, and still a live task of the program's:
    // not a thread glibc was starting, nor one on its way out. One that has not run enough yet
    // is seen again at the next listing.
    if (started_by_libc(s.tid) == 0 && program_task(s.tid) && has_run(s.tid) && usable_)
      report(s.tid);
  }
}

void ForeignThreadWatch::report(pid_t tid) {
  if (reported_count_ == kMaxReported) {
    write_diagnostic(report_fd_, {"greenrun: more threads were not made by pthread_create (raw "
                                  "clones); no more are named\n"});
    usable_ = 0;
    return;
  }
  reported_[reported_count_++] = tid;
  char comm[32];
  read_task_file(tid, "comm", comm, sizeof comm);
  comm[std::strcspn(comm, "\n")] = '\0';
  print_diagnostic(report_fd_,
                   "greenrun: thread %d (%s) was not made by pthread_create (a raw clone): it "
                   "runs natively beside the green threads, and greenrun cannot make its "
                   "blocking calls cooperative or keep its thread-local state apart\n",
                   static_cast<int>(tid), comm[0] ? comm : "?");
}

bool ForeignThreadWatch::known_foreign(pid_t tid) const {
  for (int i = 0; i < reported_count_; ++i)
    if (reported_[i] == tid) return true;
  return false;
}

void look_for_foreign_threads(Nanos now) {
  // Trivially destructible, so it outlives exit; touched by the monitor thread alone.
  static ForeignThreadWatch watch;
  watch.look(now);
}

}  // namespace greenrun::rt
