// What shims/thread_identity.cpp and shims/proc_paths.cpp share with the other shims: the
// per-green-thread answers to calls that take or report a thread id. Results follow the system
// call's convention, as a value or -errno, so that syscall(), the glibc wrappers and the
// pthread_*_np calls can each turn them into their own. Only on the hub's OS thread.
#pragma once
#include <sched.h>
#include <sys/syscall.h>

#include <cstddef>

#include "posix_thread.h"

namespace greenrun::shim {

// The kernel's id for the OS thread every green thread of the hub runs on.
pid_t os_thread_id();

// The system calls that syscall() hands to identity_syscall() on a green thread.
inline bool is_identity_syscall(long number) {
  switch (number) {
    case SYS_gettid: case SYS_tgkill: case SYS_tkill:
    case SYS_sched_setaffinity: case SYS_sched_getaffinity:
    case SYS_sched_setscheduler: case SYS_sched_getscheduler:
    case SYS_sched_setparam: case SYS_sched_getparam:
    case SYS_setpriority: case SYS_getpriority: case SYS_prctl:
      return true;
  }
  return false;
}
// One of those, with syscall()'s six arguments: its result, or -1 and errno, as the kernel's.
long identity_syscall(long number, const long* args);

// The green thread's CPU mask into `set` (`size` bytes, checked as the kernel checks it):
// the number of bytes written, or -errno.
long affinity_of(PosixThread* p, std::size_t size, cpu_set_t* set);
// Sets it (never the OS thread's: that would pin every green thread): 0 or -errno.
long set_affinity_of(PosixThread* p, std::size_t size, const cpu_set_t* set);
// sched_setscheduler on a green thread, policy -1 meaning "keep" (sched_setparam): 0 or -errno.
long set_scheduler_of(PosixThread* p, int policy, const sched_param* param);
// The policy as sched_getscheduler reports it (with SCHED_RESET_ON_FORK when set).
int scheduler_of(const PosixThread* p);

// The green thread's name, NUL-terminated (at most 15 characters, as the kernel's comm).
void name_of(const PosixThread* p, char (&name)[16]);
// Names it with the first `length` bytes of `name` (at most 15, up to a NUL).
void set_name_of(PosixThread* p, const char* name, std::size_t length);

// What a green thread that never set its own reports is its OS thread's, which is the main
// thread's. Before the main thread changes that for itself, each such thread keeps the value it
// has now, as natively each task keeps what it had from its creator. Only on the hub's OS thread.
enum class Inherited { name, affinity, nice };
void keep_inherited(Inherited what);

// shims/proc_paths.cpp: names written to a green thread's /proc comm file take effect here.
// Every reader of a green thread's name calls this first (name_of does).
void apply_comm_writes();

}  // namespace greenrun::shim
