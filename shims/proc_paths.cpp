// /proc paths that name a green thread: /proc/thread-self on a green thread other than main, and
// /proc/self/task/<tid>, /proc/<pid>/task/<tid> and /proc/<tid> for a green thread's id. They
// open the same files of the OS thread every green thread runs on, except `comm`, the green
// thread's own name: a memfd holding it, where what the program writes renames the thread when
// a name is next read (apply_comm_writes). A green id of no live thread is left as it is, so
// the kernel answers ENOENT, as for a task that has exited. Any other path costs one prefix
// test. Relative paths (openat from a task directory) are not translated.
// Defines: open open64 openat openat64 __open_2 __open64_2 __openat_2 __openat64_2 fopen
//          fopen64
#undef _FORTIFY_SOURCE  // we define open and openat themselves, not their fortified inlines
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "export.h"
#include "hub.h"
#include "real.h"
#include "thread_identity.h"

namespace greenrun::shim {
namespace {

int fail(int error) {
  errno = error;
  return -1;
}

// Whether the path may name a thread's /proc directory: the whole cost for every other path.
inline bool maybe_proc(const char* path) {
  return path && path[0] == '/' && std::strncmp(path, "/proc/", 6) == 0;
}

// A task id as a /proc directory name: decimal, no leading zero (the kernel's rule), ending the
// path component. The character after it, or nullptr.
const char* parse_id(const char* s, long* id) {
  if (*s < '1' || *s > '9') return nullptr;
  long v = 0;
  for (; *s >= '0' && *s <= '9'; ++s)
    if ((v = v * 10 + (*s - '0')) > INT_MAX) return nullptr;
  if (*s != '/' && *s != '\0') return nullptr;
  *id = v;
  return s;
}

// The live green thread a task id in a path names (the main thread's id names a real task).
PosixThread* green_task(long id) {
  if (id < kFirstGreenTid) return nullptr;
  PosixThread* p = find_by_tid(static_cast<pid_t>(id));
  return p && !p->finished ? p : nullptr;
}

struct Translation {
  PosixThread* thread = nullptr;  // nullptr: open the path as it is
  bool comm = false;              // the thread's name file
  bool too_long = false;
};

// When `path` (known to start with "/proc/") names a green thread's directory or a file in it,
// the same for the OS thread, written into `out`.
Translation translate(const char* path, char (&out)[PATH_MAX]) {
  const char* s = path + 6;
  PosixThread* p = nullptr;
  const char* rest = nullptr;  // what follows the task directory: "" or "/..."
  bool in_task_dir = true;     // /proc/<tid> is the thread's view of the whole process
  long id;
  if (std::strncmp(s, "thread-self", 11) == 0 && (s[11] == '/' || s[11] == '\0')) {
    p = self();
    if (p && p->green->is_root) return {};  // the main thread's is the OS thread's own
    rest = s + 11;
  } else {
    const char* task = nullptr;
    if (std::strncmp(s, "self/", 5) == 0) {
      task = s + 5;
    } else if (const char* end = parse_id(s, &id); !end) {
      return {};
    } else if (id == getpid()) {
      if (*end != '/') return {};
      task = end + 1;
    } else {
      p = green_task(id);
      rest = end;
      in_task_dir = false;
    }
    if (task) {
      if (std::strncmp(task, "task/", 5) != 0) return {};
      const char* end = parse_id(task + 5, &id);
      if (!end) return {};
      p = green_task(id);
      rest = end;
    }
  }
  if (!p) return {};
  int n = std::snprintf(out, sizeof out, in_task_dir ? "/proc/self/task/%d%s" : "/proc/%d%s",
                        static_cast<int>(os_thread_id()), rest);
  return {p, std::strcmp(rest, "/comm") == 0, n < 0 || static_cast<std::size_t>(n) >= sizeof out};
}

// Descriptors a program opened to write a green thread's comm. Each holds the name and a
// newline, as the kernel's file reads, and is opened O_APPEND, so that what the program writes
// lands after them; ours (`keep`) holds the memfd after the program has closed its own (`fd`),
// until what was written has been applied.
struct CommWrite {
  int fd = -1;
  int keep = -1;
  dev_t dev = 0;
  ino_t ino = 0;
  pid_t tid = 0;
  off_t written_from = 0;  // the end of the name line: what follows was written by the program
};
constexpr int kCommWrites = 16;
CommWrite comm_writes[kCommWrites];  // only the hub's OS thread touches these
int comm_writes_open = 0;
// Where `keep` goes: out of the way of the low numbers a program expects open() to return.
constexpr int kKeepFloor = 512;

bool is_file(int fd, dev_t dev, ino_t ino) {
  struct stat st;
  return fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

void forget(CommWrite& w) {
  w = {};
  --comm_writes_open;
}

// Makes the memfd `fd` hold "name\n" and nothing else; its length, or -1.
ssize_t put_name(int fd, const char* name) {
  char line[17];
  std::size_t n = strnlen(name, 15);
  std::memcpy(line, name, n);
  line[n++] = '\n';
  if (ftruncate(fd, 0) != 0 || pwrite(fd, line, n, 0) != static_cast<ssize_t>(n)) return -1;
  return static_cast<ssize_t>(n);
}

// The program's descriptor for a green thread's comm: a memfd holding its name, reopened with
// the program's access mode and flags at the lowest free number (as open would give).
int open_comm(PosixThread* p, int flags) {
  if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) return fail(EEXIST);
  const bool writes = (flags & O_ACCMODE) != O_RDONLY;
  char name[16];
  name_of(p, name);  // applies earlier writes, which frees the slots of closed descriptors
  CommWrite* slot = nullptr;
  for (CommWrite& w : comm_writes)
    if (writes && w.keep < 0 && !slot) slot = &w;
  if (writes && !slot) return fail(ENFILE);
  int memfd = memfd_create("comm", MFD_CLOEXEC);
  if (memfd < 0) return -1;
  ssize_t line = put_name(memfd, name);
  char self_path[32];
  std::snprintf(self_path, sizeof self_path, "/proc/self/fd/%d", memfd);
  // O_NOFOLLOW would refuse the /proc/self/fd link; creation and truncation mean nothing here.
  const int reopen_flags = (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_NOCTTY)) |
                           O_CLOEXEC | (writes ? O_APPEND : 0);
  int reopened = line < 0 ? -1 : real::open(self_path, reopen_flags);
  int keep = -1;
  if (reopened >= 0 && writes) {
    keep = real::fcntl(memfd, F_DUPFD_CLOEXEC, kKeepFloor);
    if (keep < 0) keep = real::fcntl(memfd, F_DUPFD_CLOEXEC, 0);
  }
  if (reopened < 0 || (writes && keep < 0) ||
      real::dup3(reopened, memfd, flags & O_CLOEXEC) < 0) {  // the program's, at memfd's number
    int e = errno;
    if (reopened >= 0) real::close(reopened);
    if (keep >= 0) real::close(keep);
    real::close(memfd);
    return fail(e);
  }
  real::close(reopened);
  if (writes) {
    struct stat st;
    fstat(keep, &st);
    *slot = {memfd, keep, st.st_dev, st.st_ino, p->tid, line};
    ++comm_writes_open;
  }
  return memfd;
}

// fopen's mode as open flags (glibc reads at most 7 characters); -1 if it is not one.
int open_flags(const char* mode) {
  int flags;
  switch (mode[0]) {
    case 'r': flags = O_RDONLY; break;
    case 'w': flags = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': flags = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return -1;
  }
  for (int i = 1; i < 7 && mode[i] && mode[i] != ','; ++i) {
    if (mode[i] == '+') flags = (flags & ~O_ACCMODE) | O_RDWR;
    if (mode[i] == 'x') flags |= O_EXCL;
    if (mode[i] == 'e') flags |= O_CLOEXEC;
  }
  return flags;
}

// open and its forms, on a green thread, for a path that starts with "/proc/": `open(path)`
// opens the path it is given with the caller's flags.
template <class Open>
int open_proc(const char* path, int flags, Open open) {
  char translated[PATH_MAX];
  Translation t = translate(path, translated);
  if (!t.thread) return open(path);
  if (t.too_long) return fail(ENAMETOOLONG);
  return t.comm ? open_comm(t.thread, flags) : open(translated);
}

template <class Open>
FILE* fopen_proc(const char* path, const char* mode, Open open) {
  char translated[PATH_MAX];
  Translation t = translate(path, translated);
  if (!t.thread) return open(path, mode);
  if (t.too_long) return fail(ENAMETOOLONG), nullptr;
  if (!t.comm) return open(translated, mode);
  int flags = open_flags(mode);
  if (flags < 0) return fail(EINVAL), nullptr;
  int fd = open_comm(t.thread, flags);
  if (fd < 0) return nullptr;
  FILE* f = real::fdopen(fd, mode);
  if (!f) {
    int e = errno;
    real::close(fd);
    errno = e;
  }
  return f;
}

}  // namespace

void apply_comm_writes() {
  if (comm_writes_open == 0) return;
  for (CommWrite& w : comm_writes) {
    if (w.keep < 0) continue;
    if (!is_file(w.keep, w.dev, w.ino)) {  // the program closed our descriptor: not ours now
      forget(w);
      continue;
    }
    // Each write to comm renames the thread; here the bytes written since the last look do.
    char written[15];
    ssize_t n = pread(w.keep, written, sizeof written, w.written_from);
    PosixThread* p = green_task(w.tid);
    if (n > 0 && p) {
      set_name_of(p, written, static_cast<std::size_t>(n));
      ssize_t line = put_name(w.keep, p->green->name);  // reading it again gives the new name
      if (line >= 0) w.written_from = line;
    }
    if (!p || !is_file(w.fd, w.dev, w.ino)) {  // the thread has gone, or the program closed it
      real::close(w.keep);
      forget(w);
    }
  }
}

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (__OPEN_NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (!shim::maybe_proc(path) || !rt::on_green_thread()) return real::open(path, flags, mode);
  return shim::open_proc(path, flags, [&](const char* p) { return real::open(p, flags, mode); });
}

GREENRUN_EXPORT int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (__OPEN_NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (!shim::maybe_proc(path) || !rt::on_green_thread()) return real::open64(path, flags, mode);
  return shim::open_proc(path, flags, [&](const char* p) { return real::open64(p, flags, mode); });
}

GREENRUN_EXPORT int openat(int dir, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (__OPEN_NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (!shim::maybe_proc(path) || !rt::on_green_thread())
    return real::openat(dir, path, flags, mode);
  return shim::open_proc(path, flags,
                         [&](const char* p) { return real::openat(dir, p, flags, mode); });
}

GREENRUN_EXPORT int openat64(int dir, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (__OPEN_NEEDS_MODE(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, mode_t);
    va_end(ap);
  }
  if (!shim::maybe_proc(path) || !rt::on_green_thread())
    return real::openat64(dir, path, flags, mode);
  return shim::open_proc(path, flags,
                         [&](const char* p) { return real::openat64(dir, p, flags, mode); });
}

// The fortified forms take no mode: with O_CREAT they abort, and glibc's own do that.
GREENRUN_EXPORT int __open_2(const char* path, int flags) {
  if (!shim::maybe_proc(path) || !rt::on_green_thread() || __OPEN_NEEDS_MODE(flags))
    return real::open_2(path, flags);
  return shim::open_proc(path, flags, [&](const char* p) { return real::open_2(p, flags); });
}

GREENRUN_EXPORT int __open64_2(const char* path, int flags) {
  if (!shim::maybe_proc(path) || !rt::on_green_thread() || __OPEN_NEEDS_MODE(flags))
    return real::open64_2(path, flags);
  return shim::open_proc(path, flags, [&](const char* p) { return real::open64_2(p, flags); });
}

GREENRUN_EXPORT int __openat_2(int dir, const char* path, int flags) {
  if (!shim::maybe_proc(path) || !rt::on_green_thread() || __OPEN_NEEDS_MODE(flags))
    return real::openat_2(dir, path, flags);
  return shim::open_proc(path, flags, [&](const char* p) { return real::openat_2(dir, p, flags); });
}

GREENRUN_EXPORT int __openat64_2(int dir, const char* path, int flags) {
  if (!shim::maybe_proc(path) || !rt::on_green_thread() || __OPEN_NEEDS_MODE(flags))
    return real::openat64_2(dir, path, flags);
  return shim::open_proc(path, flags,
                         [&](const char* p) { return real::openat64_2(dir, p, flags); });
}

GREENRUN_EXPORT FILE* fopen(const char* path, const char* mode) {
  if (!shim::maybe_proc(path) || !rt::on_green_thread()) return real::fopen(path, mode);
  return shim::fopen_proc(path, mode,
                          [](const char* p, const char* m) { return real::fopen(p, m); });
}

GREENRUN_EXPORT FILE* fopen64(const char* path, const char* mode) {
  if (!shim::maybe_proc(path) || !rt::on_green_thread()) return real::fopen64(path, mode);
  return shim::fopen_proc(path, mode,
                          [](const char* p, const char* m) { return real::fopen64(p, m); });
}
