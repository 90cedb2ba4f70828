// FILEs on descriptors green threads wait on, and the closing of FILEs and directories. glibc's
// stdio reads and writes through internal calls our read()/write() never see (NOTES.md, fact 1),
// so fdopen of a socket or pipe returns a FILE of our own (fopencookie, _fileno set so that
// fileno() still answers) whose I/O goes through the cooperative read()/write() and close().
// Limitations: such a FILE is byte-oriented for good, as fopencookie's are (wide-character I/O
// and freopen fail on it); and since its lock belongs to the OS thread, a green thread parked in
// its read or write does not keep other green threads out of the same FILE (NOTES.md, fact 1).
// glibc closes a FILE's or DIR's descriptor internally: fclose, freopen and closedir tell the
// fd table first (pclose: shims/process_shell.cpp). Input on other FILEs: shims/stdio_input.cpp.
// Defines: fdopen fclose freopen freopen64 closedir
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <new>
#include <unordered_set>

#include "export.h"
#include "spin_lock.h"
#include "fd_shim.h"
#include "real.h"
#include "stdio_shim.h"

namespace greenrun::shim {
namespace {

// What a FILE of ours knows: its descriptor, and the FILE itself (to leave the registry).
struct Cookie {
  int fd;
  FILE* file;
};

// The FILEs fdopen made here. fclose may run on any OS thread, so a spinlock guards the set; it
// is held for one lookup, insertion or removal, never across a park. Leaked on purpose: FILEs
// are still being closed at exit.
class OwnFiles {
 public:
  bool add(FILE* f) {
    std::lock_guard<rt::SpinLock> g(busy_);
    try {
      if (!files_) files_ = new std::unordered_set<FILE*>;
      files_->insert(f);
      return true;
    } catch (const std::bad_alloc&) {
      return false;
    }
  }
  bool contains(FILE* f) {
    std::lock_guard<rt::SpinLock> g(busy_);
    return files_ && files_->count(f);
  }
  void remove(FILE* f) {
    std::lock_guard<rt::SpinLock> g(busy_);
    if (files_) files_->erase(f);
  }

 private:

  rt::SpinLock busy_;
  std::unordered_set<FILE*>* files_ = nullptr;
};

constinit OwnFiles own_files;

// Off green threads the shims pass through, and a descriptor we made non-blocking would give
// EAGAIN where the program expects to block (at exit, glibc flushes every FILE after our
// library's destructor has made the calls pass through): block in poll, as the program would.
template <class Call>
ssize_t blocking(int fd, short events, Call call) {
  for (;;) {
    ssize_t r = call();
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || rt::on_green_thread()) return r;
    pollfd p{fd, events, 0};
    real::poll(&p, 1, -1);
  }
}

// The cookie functions: glibc calls them with the FILE locked, from inside fgets, fflush...
ssize_t cookie_read(void* cookie, char* buf, size_t n) {
  int fd = static_cast<Cookie*>(cookie)->fd;
  return blocking(fd, POLLIN, [&] { return ::read(fd, buf, n); });
}

// glibc takes a short count for an error, and a negative one is not allowed (fopencookie(3)):
// everything, or what was written before the error.
ssize_t cookie_write(void* cookie, const char* buf, size_t n) {
  int fd = static_cast<Cookie*>(cookie)->fd;
  size_t done = 0;
  while (done < n) {
    ssize_t r = blocking(fd, POLLOUT, [&] { return ::write(fd, buf + done, n - done); });
    if (r <= 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

// Sockets and pipes do not seek: lseek's ESPIPE is what glibc expects (fflush and ftell on a
// native FILE get the same).
int cookie_seek(void* cookie, off64_t* offset, int whence) {
  off64_t r = lseek64(static_cast<Cookie*>(cookie)->fd, *offset, whence);
  if (r < 0) return -1;
  *offset = r;
  return 0;
}

int cookie_close(void* cookie) {
  auto* c = static_cast<Cookie*>(cookie);
  int fd = c->fd;
  own_files.remove(c->file);
  delete c;
  return ::close(fd);  // our close(): the fd table forgets it first
}

constexpr cookie_io_functions_t kCookieFunctions{cookie_read, cookie_write, cookie_seek, cookie_close};

// fdopen's mode, parsed as glibc does: r, w or a, then '+' among the next four characters.
// Returns the mode for fopencookie ("r", "w+"...), or nullptr if the first character is wrong.
const char* cookie_mode(const char* mode, bool& reads, bool& writes, bool& appends) {
  reads = mode[0] == 'r';
  writes = mode[0] == 'w' || mode[0] == 'a';
  appends = mode[0] == 'a';
  if (!reads && !writes) return nullptr;
  bool plus = false;
  for (int i = 1; i < 5 && mode[i] != '\0' && !plus; ++i) plus = mode[i] == '+';
  if (plus) reads = writes = true;
  static constexpr const char* kModes[3][2] = {{"r", "r+"}, {"w", "w+"}, {"a", "a+"}};
  return kModes[mode[0] == 'r' ? 0 : mode[0] == 'w' ? 1 : 2][plus];
}

// A blocking socket, pipe or terminal a read or write may park on: glibc's stdio would call
// the kernel directly and block every green thread.
bool wants_own_file(int fd) {
  rt::FdEntry* e = rt::current()->hub->fds().entry(fd);
  return e && e->parkable() && !e->nonblocking;
}

// fdopen, with the checks glibc's makes, and a FILE of ours.
FILE* own_fdopen(int fd, const char* mode) {
  bool reads, writes, appends;
  const char* cmode = cookie_mode(mode, reads, writes, appends);
  if (!cmode) return errno = EINVAL, nullptr;
  int flags = real::fcntl(fd, F_GETFL);  // the kernel's flags: O_NONBLOCK stays as it is
  if (flags < 0) return nullptr;
  if (((flags & O_ACCMODE) == O_RDONLY && writes) || ((flags & O_ACCMODE) == O_WRONLY && reads))
    return errno = EINVAL, nullptr;
  if (appends && !(flags & O_APPEND) && real::fcntl(fd, F_SETFL, flags | O_APPEND) != 0) return nullptr;
  auto* c = new (std::nothrow) Cookie{fd, nullptr};
  if (!c) return errno = ENOMEM, nullptr;
  FILE* f = fopencookie(c, cmode, kCookieFunctions);
  if (!f) {
    delete c;
    return nullptr;
  }
  c->file = f;
  if (!own_files.add(f)) {
    c->fd = -1;  // the FILE goes, the program's descriptor stays
    real::fclose(f);
    return errno = ENOMEM, nullptr;
  }
  f->_fileno = fd;  // fileno() answers; glibc's cookie FILE otherwise says -2 (no descriptor)
  // glibc's lock on a FILE would be held across the parks inside our cookie functions, and its
  // owner is a green thread's own descriptor: a second green thread using the FILE would then
  // wait in the kernel for a thread that cannot run. Explicit flockfile still excludes
  // (shims/stdio_lock.cpp).
  __fsetlocking(f, FSETLOCKING_BYCALLER);
  int saved = errno;
  if (isatty(fd)) setvbuf(f, nullptr, _IOLBF, 0);  // as glibc buffers a terminal
  errno = saved;
  return f;
}

// The descriptor `f` stands on is about to go away inside glibc. For a FILE of ours the flush
// at close still needs the table's entry, and our close() forgets it afterwards.
void forget_file(FILE* f) {
  if (!f || !rt::current() || own_files.contains(f)) return;
  if (f->_fileno >= 0) rt::current()->hub->fds().forget(f->_fileno);
}

}  // namespace

bool own_file(FILE* f) { return own_files.contains(f); }

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT FILE* fdopen(int fd, const char* mode) noexcept {
  if (!rt::on_green_thread(rt::CallFamily::stdio) || !mode || !shim::wants_own_file(fd))
    return real::fdopen(fd, mode);
  return shim::own_fdopen(fd, mode);
}

GREENRUN_EXPORT int fclose(FILE* f) {
  shim::forget_file(f);
  return real::fclose(f);
}

// glibc's freopen crashes on any fopencookie FILE (it reaches for wide-character data such a
// FILE does not have), and a cookie FILE cannot become a plain one: on a FILE of ours it fails
// as a failed reopen does, with the stream closed.
GREENRUN_EXPORT FILE* freopen(const char* path, const char* mode, FILE* f) {
  if (f && shim::own_files.contains(f)) {
    real::fclose(f);
    errno = ENOTSUP;
    return nullptr;
  }
  shim::forget_file(f);
  return real::freopen(path, mode, f);
}

// The same function on 64-bit targets, exported under its other name.
GREENRUN_EXPORT FILE* greenrun_freopen64(const char* path, const char* mode, FILE* f) __asm__("freopen64");
GREENRUN_EXPORT FILE* greenrun_freopen64(const char* path, const char* mode, FILE* f) {
  return freopen(path, mode, f);
}

GREENRUN_EXPORT int closedir(DIR* d) {
  if (rt::current()) rt::current()->hub->fds().forget(dirfd(d));  // d is nonnull, as declared
  return real::closedir(d);
}
