// exec and posix_spawn: the new program starts with the signal dispositions the program sees.
// A signal the program ignores while the kernel runs our trampoline for it (the watched dump
// signal, shims/signal.cpp) would reach it as SIG_DFL, because exec resets handlers;
// ExecDispositions makes it SIG_IGN in the kernel for the moment of the call. Otherwise each is
// the real call. glibc's exec family reaches execve inside libc, out of our sight (NOTES.md,
// fact 1), so every form is defined here; the variadic ones gather their arguments as glibc's.
// Defines: execve execv execvp execvpe execl execle execlp fexecve execveat posix_spawn
//          posix_spawnp
#include <spawn.h>
#include <unistd.h>

#include <cstdarg>
#include <cstddef>

#include "export.h"
#include "fd_table.h"
#include "real.h"
#include "signal_shim.h"

namespace greenrun::shim {
namespace {

// Runs exec(argv, envp) with the list forms' arguments gathered into a vector on this stack,
// as glibc's execl does (it has no limit of its own; the kernel's E2BIG applies). `args` follows
// `first`; with `has_env`, the environment comes after their null pointer. Every va_arg is made
// here, on this one va_list (passed by value it is a copy on some ABIs, so no caller may go on).
template <class Exec>
int exec_list(const char* first, va_list args, bool has_env, Exec exec) {
  va_list counting;
  va_copy(counting, args);
  std::size_t count = 1;  // `first` and the arguments before the null pointer
  while (va_arg(counting, const char*) != nullptr) ++count;
  va_end(counting);
  const char* argv[count + 1];
  argv[0] = first;
  for (std::size_t i = 1; i <= count; ++i) argv[i] = va_arg(args, const char*);  // null last
  char* const* envp = has_env ? va_arg(args, char* const*) : nullptr;
  ExecDispositions children;
  return exec(const_cast<char* const*>(argv), envp);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int execve(const char* path, char* const argv[], char* const envp[]) noexcept {
  shim::ExecDispositions children;
  return real::execve(path, argv, envp);
}

GREENRUN_EXPORT int execv(const char* path, char* const argv[]) noexcept {
  shim::ExecDispositions children;
  return real::execv(path, argv);
}

GREENRUN_EXPORT int execvp(const char* file, char* const argv[]) noexcept {
  shim::ExecDispositions children;
  return real::execvp(file, argv);
}

GREENRUN_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
  shim::ExecDispositions children;
  return real::execvpe(file, argv, envp);
}

GREENRUN_EXPORT int fexecve(int fd, char* const argv[], char* const envp[]) noexcept {
  shim::ExecDispositions children;
  return real::fexecve(fd, argv, envp);
}

GREENRUN_EXPORT int execveat(int dirfd, const char* path, char* const argv[], char* const envp[],
                             int flags) noexcept {
  shim::ExecDispositions children;
  return real::execveat(dirfd, path, argv, envp, flags);
}

// The list forms (shim::exec_list gathers the vector).
GREENRUN_EXPORT int execl(const char* path, const char* arg, ...) noexcept {
  va_list args;
  va_start(args, arg);
  int rc = shim::exec_list(arg, args, false,
                           [&](char* const* argv, char* const*) { return real::execv(path, argv); });
  va_end(args);
  return rc;
}

GREENRUN_EXPORT int execlp(const char* file, const char* arg, ...) noexcept {
  va_list args;
  va_start(args, arg);
  int rc = shim::exec_list(arg, args, false,
                           [&](char* const* argv, char* const*) { return real::execvp(file, argv); });
  va_end(args);
  return rc;
}

GREENRUN_EXPORT int execle(const char* path, const char* arg, ...) noexcept {
  va_list args;
  va_start(args, arg);
  int rc = shim::exec_list(arg, args, true, [&](char* const* argv, char* const* envp) {
    return real::execve(path, argv, envp);
  });
  va_end(args);
  return rc;
}

GREENRUN_EXPORT int posix_spawn(pid_t* pid, const char* path,
                                const posix_spawn_file_actions_t* actions,
                                const posix_spawnattr_t* attr, char* const argv[],
                                char* const envp[]) {
  shim::ExecDispositions children;
  rt::FdTable::children_may_share();  // the child gets every descriptor not marked close-on-exec
  return real::posix_spawn(pid, path, actions, attr, argv, envp);
}

GREENRUN_EXPORT int posix_spawnp(pid_t* pid, const char* file,
                                 const posix_spawn_file_actions_t* actions,
                                 const posix_spawnattr_t* attr, char* const argv[],
                                 char* const envp[]) {
  shim::ExecDispositions children;
  rt::FdTable::children_may_share();
  return real::posix_spawnp(pid, file, actions, attr, argv, envp);
}
