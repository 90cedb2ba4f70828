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

// How many arguments follow `first` up to and including the null pointer that ends them.
std::size_t count_after(va_list args) {
  std::size_t n = 1;
  while (va_arg(args, const char*) != nullptr) ++n;
  return n;
}

// Fills argv[0..count) with `first` and the `count - 1` arguments that follow (the last of
// them the null pointer).
void gather(const char** argv, std::size_t count, const char* first, va_list args) {
  argv[0] = first;
  for (std::size_t i = 1; i < count; ++i) argv[i] = va_arg(args, const char*);
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

// The list forms: the argument vector lives on this stack, as glibc's does (it has no limit of
// its own; the kernel's E2BIG applies).
GREENRUN_EXPORT int execl(const char* path, const char* arg, ...) noexcept {
  va_list args;
  va_start(args, arg);
  const std::size_t count = shim::count_after(args) + 1;
  va_end(args);
  const char* argv[count];
  va_start(args, arg);
  shim::gather(argv, count, arg, args);
  va_end(args);
  shim::ExecDispositions children;
  return real::execv(path, const_cast<char* const*>(argv));
}

GREENRUN_EXPORT int execlp(const char* file, const char* arg, ...) noexcept {
  va_list args;
  va_start(args, arg);
  const std::size_t count = shim::count_after(args) + 1;
  va_end(args);
  const char* argv[count];
  va_start(args, arg);
  shim::gather(argv, count, arg, args);
  va_end(args);
  shim::ExecDispositions children;
  return real::execvp(file, const_cast<char* const*>(argv));
}

// After the arguments' null pointer comes the environment.
GREENRUN_EXPORT int execle(const char* path, const char* arg, ...) noexcept {
  va_list args;
  va_start(args, arg);
  const std::size_t count = shim::count_after(args) + 1;
  va_end(args);
  const char* argv[count];
  va_start(args, arg);
  shim::gather(argv, count, arg, args);
  char* const* envp = va_arg(args, char* const*);
  va_end(args);
  shim::ExecDispositions children;
  return real::execve(path, const_cast<char* const*>(argv), envp);
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
