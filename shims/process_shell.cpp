// system, popen and pclose, rebuilt on posix_spawn and the cooperative wait, because glibc's
// wait for the shell happens inside libc where no shim sees it (NOTES.md, fact 1). Spawning
// and return values follow glibc 2.36: "sh -c command" from /bin/sh, 127 when it cannot run.
// Invariant: all green threads share one OS thread, so the signal changes system() makes are
// counted: SIGINT and SIGQUIT stay ignored and SIGCHLD blocked while any system() runs.
// Defines: system popen pclose
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <new>

#include "export.h"
#include "spin_lock.h"
#include "hub.h"
#include "posix_thread.h"
#include "process_shim.h"
#include "real.h"
#include "signal_shim.h"
#include "stdio_shim.h"

extern char** environ;

namespace greenrun::shim {
namespace {

constexpr const char* kShellPath = "/bin/sh";

// system()'s signal dispositions. glibc ignores SIGINT and SIGQUIT process-wide, counting the
// callers, and blocks SIGCHLD in the calling thread only. Here the calling "thread" is the OS
// thread every green thread runs on, so SIGCHLD stays blocked, for the whole program, while
// any green system() waits (a SIGCHLD handler then runs when the last one returns), and is
// unblocked only if it was not blocked before the first. Only the hub's OS thread uses this
// (calls from other OS threads go to glibc's system, which keeps counts of its own).
struct ShellSignals {
  int users = 0;
  struct sigaction saved_int {};
  struct sigaction saved_quit {};
  bool child_was_blocked = false;
};
constinit ShellSignals shell_signals;

void enter_shell_signals() {
  ShellSignals& s = shell_signals;
  if (s.users++ > 0) return;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  real::sigaction(SIGINT, &ignore, &s.saved_int);
  real::sigaction(SIGQUIT, &ignore, &s.saved_quit);
  sigset_t child, old;
  sigemptyset(&child);
  sigaddset(&child, SIGCHLD);
  real::pthread_sigmask(SIG_BLOCK, &child, &old);
  s.child_was_blocked = sigismember(&old, SIGCHLD);
}

void leave_shell_signals() {
  ShellSignals& s = shell_signals;
  if (--s.users > 0) return;
  real::sigaction(SIGINT, &s.saved_int, nullptr);
  real::sigaction(SIGQUIT, &s.saved_quit, nullptr);
  if (!s.child_was_blocked) {
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    real::pthread_sigmask(SIG_UNBLOCK, &child, nullptr);
  }
}

// Undoes enter_shell_signals() however system() ends; if a cancellation unwinds through the
// wait, kills and reaps the shell first, as glibc's cancellation handler does.
class ShellRun {
 public:
  ShellRun() { enter_shell_signals(); }
  ~ShellRun() {
    int saved = errno;
    if (pid_ > 0) {
      real::kill(pid_, SIGKILL);
      while (real::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    leave_shell_signals();
    errno = saved;
  }
  ShellRun(const ShellRun&) = delete;
  ShellRun& operator=(const ShellRun&) = delete;
  void running(pid_t pid) { pid_ = pid; }
  void reaped() { pid_ = 0; }

 private:
  pid_t pid_ = 0;
};

int run_shell(const char* line) {
  ShellRun run;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The shell gets the caller's mask as it was before system() blocked SIGCHLD, and the default
  // SIGINT/SIGQUIT unless the program itself ignores them (glibc's do_system does the same).
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  if (shell_signals.saved_int.sa_handler != SIG_IGN && !hides_ignore(SIGINT))
    sigaddset(&defaults, SIGINT);
  if (shell_signals.saved_quit.sa_handler != SIG_IGN && !hides_ignore(SIGQUIT))
    sigaddset(&defaults, SIGQUIT);
  real::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  if (!shell_signals.child_was_blocked) sigdelset(&mask, SIGCHLD);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>(line), nullptr};
  pid_t pid = 0;
  int status;
  rt::FdTable::children_may_share();
  int rc = real::posix_spawn(&pid, kShellPath, nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  if (rc == 0) {
    run.running(pid);
    pid_t r;
    do {
      r = wait_child(pid, &status, 0, true);
    } while (r < 0 && errno == EINTR);
    if (r != pid) status = -1;
    else run.reaped();
  } else {
    status = W_EXITCODE(127, 0);  // POSIX: as if the shell had run _exit(127)
  }
  return status;
}

// The children popen started, by FILE: pclose needs the pid, and each new popen child must
// close the other popen streams (POSIX). A spinlock guards the list because pclose may run on
// any OS thread; it is held for one lookup, insertion or removal, never across a park.
struct PipeChild {
  FILE* file;
  int fd;
  pid_t pid;
  PipeChild* next;
};

class PipeChildren {
 public:
  void add(PipeChild* c) {
    std::lock_guard<rt::SpinLock> g(busy_);
    c->next = head_;
    head_ = c;
  }
  PipeChild* take(FILE* f) {
    std::lock_guard<rt::SpinLock> g(busy_);
    for (PipeChild** p = &head_; *p; p = &(*p)->next) {
      if ((*p)->file == f) {
        PipeChild* c = *p;
        *p = c->next;
        return c;
      }
    }
    return nullptr;
  }
  // Adds a close action for every popen stream's descriptor except `keep`.
  void close_all_in(posix_spawn_file_actions_t* actions, int keep) {
    std::lock_guard<rt::SpinLock> g(busy_);
    for (PipeChild* c = head_; c; c = c->next)
      if (c->fd != keep) posix_spawn_file_actions_addclose(actions, c->fd);
  }

 private:

  rt::SpinLock busy_;
  PipeChild* head_ = nullptr;
};

constinit PipeChildren pipe_children;

void close_quietly(int fd) {
  int saved = errno;
  rt::current()->hub->fds().forget(fd);
  real::close(fd);
  errno = saved;
}

// glibc's popen: "r" or "w" exactly once, 'e' for close-on-exec, nothing else.
bool parse_popen_mode(const char* mode, bool& reads, bool& cloexec) {
  bool r = false, w = false;
  cloexec = false;
  for (; *mode; ++mode) {
    switch (*mode) {
      case 'r':
      case 'w':
        if (r || w) return false;
        (*mode == 'r' ? r : w) = true;
        break;
      case 'e': cloexec = true; break;
      default: return false;
    }
  }
  reads = r;
  return r != w;
}

FILE* open_pipe(const char* command, const char* mode) {
  bool reads, cloexec;
  if (!parse_popen_mode(mode, reads, cloexec)) return errno = EINVAL, nullptr;
  auto* child = new (std::nothrow) PipeChild{};
  if (!child) return errno = ENOMEM, nullptr;
  // Through libc, not our pipe2: the child's end must stay blocking in the kernel. The
  // parent's end is classified on first use, like an inherited pipe.
  int fds[2];
  if (real::pipe2(fds, O_CLOEXEC) != 0) {
    delete child;
    return nullptr;
  }
  int parent_end = reads ? fds[0] : fds[1];
  int child_end = reads ? fds[1] : fds[0];
  int target = reads ? STDOUT_FILENO : STDIN_FILENO;
  rt::FdTable& table = rt::current()->hub->fds();
  table.forget(parent_end);  // a stale entry for a number libc closed behind our back
  table.forget(child_end);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (child_end != target)
    posix_spawn_file_actions_adddup2(&actions, child_end, target);
  else  // already where the shell wants it: it only must survive the exec
    real::fcntl(child_end, F_SETFD, 0);
  pipe_children.close_all_in(&actions, target);
  char* const argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                        const_cast<char*>(command), nullptr};
  pid_t pid = 0;
  int rc;
  {
    ExecDispositions children;  // what the program ignores, the shell inherits ignored
    rt::FdTable::children_may_share();
    rc = real::posix_spawn(&pid, kShellPath, &actions, nullptr, argv, environ);
  }
  posix_spawn_file_actions_destroy(&actions);
  close_quietly(child_end);
  if (rc != 0) {
    close_quietly(parent_end);
    delete child;
    return errno = rc, nullptr;
  }
  if (!cloexec) real::fcntl(parent_end, F_SETFD, 0);
  FILE* f = ::fdopen(parent_end, reads ? "r" : "w");  // ours: a FILE whose reads park
  if (!f) {
    int saved = errno;
    close_quietly(parent_end);
    while (wait_child(pid, nullptr, 0, false) < 0 && errno == EINTR) {
    }
    delete child;
    return errno = saved, nullptr;
  }
  *child = PipeChild{f, parent_end, pid, nullptr};
  pipe_children.add(child);
  return f;
}

// pclose for a FILE of ours: close it (the shell sees end of file), then wait for the shell.
int close_pipe(PipeChild* child) {
  pid_t pid = child->pid;
  ::fclose(child->file);  // ours: tells the fd table
  delete child;
  int status;
  pid_t r;
  do {
    r = wait_child(pid, &status, 0, true);
  } while (r < 0 && errno == EINTR);
  return r == pid ? status : -1;
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int system(const char* line) {
  if (!rt::on_green_thread()) return real::system(line);
  if (!line) return shim::run_shell("exit 0") == 0;  // is there a shell?
  return shim::run_shell(line);
}

GREENRUN_EXPORT FILE* popen(const char* command, const char* mode) {
  if (!rt::on_green_thread()) return real::popen(command, mode);
  return shim::open_pipe(command, mode);
}

// Any FILE: ours (from our popen) or glibc's (a popen made off green threads).
GREENRUN_EXPORT int pclose(FILE* f) {
  if (shim::PipeChild* child = shim::pipe_children.take(f)) return shim::close_pipe(child);
  // glibc closes the descriptor internally: the fd table forgets it first.
  if (rt::current() && !shim::own_file(f) && fileno(f) >= 0)
    rt::current()->hub->fds().forget(fileno(f));
  return real::pclose(f);
}
