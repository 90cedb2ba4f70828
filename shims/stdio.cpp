// Standard I/O on descriptors green threads wait on. glibc's stdio reads and writes through
// internal calls our read()/write() never see (NOTES.md, fact 1), so:
// - fdopen of a socket or pipe returns a FILE of our own (fopencookie, with _fileno set so that
//   fileno() still answers) whose reads and writes go through the cooperative read()/write().
// - On other FILEs (stdin, popen pipes, fopen'ed FIFOs) an input call whose buffer is empty
//   parks until the descriptor is readable, then runs the real function. Limitation: the real
//   call may read more than once (a line or record that arrives in pieces, a large fread), and
//   then blocks the hub until the rest comes; output to those FILEs is not cooperative either.
// - glibc closes a FILE's or DIR's descriptor internally: fclose, freopen, pclose and closedir
//   tell the fd table first, as close() does.
// Defines: fdopen fclose freopen freopen64 pclose closedir fgets fgets_unlocked __fgets_chk
//          __fgets_unlocked_chk getline getdelim __getdelim fread fread_unlocked __fread_chk
//          __fread_unlocked_chk fgetc fgetc_unlocked getc getc_unlocked getchar
//          getchar_unlocked __uflow scanf fscanf vscanf vfscanf __isoc99_scanf __isoc99_fscanf
//          __isoc99_vscanf __isoc99_vfscanf
#undef _FORTIFY_SOURCE  // we define fgets and fread themselves, not their fortified inlines
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <unistd.h>

#include <atomic>
#include <new>
#include <unordered_map>

#include "export.h"
#include "fd_shim.h"
#include "posix_thread.h"
#include "real.h"

namespace greenrun::shim {
namespace {

// What a FILE of ours knows: its descriptor, and the FILE itself (to leave the registry).
struct Cookie {
  int fd;
  FILE* file;
};

// The FILEs fdopen made here. fclose may run on any OS thread, so a spinlock guards the map; it
// is held for one lookup, insertion or removal, never across a park. Leaked on purpose: FILEs
// are still being closed at exit.
class OwnFiles {
 public:
  bool add(FILE* f, Cookie* c) {
    Guard g(busy_);
    try {
      if (!map_) map_ = new std::unordered_map<FILE*, Cookie*>;
      map_->emplace(f, c);
      return true;
    } catch (const std::bad_alloc&) {
      return false;
    }
  }
  // The cookie of `f` if it is ours, which stays registered.
  Cookie* find(FILE* f) {
    Guard g(busy_);
    if (!map_) return nullptr;
    auto it = map_->find(f);
    return it == map_->end() ? nullptr : it->second;
  }
  // The cookie of `f` if it is ours, which leaves the registry.
  Cookie* remove(FILE* f) {
    Guard g(busy_);
    if (!map_) return nullptr;
    auto it = map_->find(f);
    if (it == map_->end()) return nullptr;
    Cookie* c = it->second;
    map_->erase(it);
    return c;
  }

 private:
  class Guard {
   public:
    explicit Guard(std::atomic_flag& flag) : flag_(flag) {
      while (flag_.test_and_set(std::memory_order_acquire)) {
      }
    }
    ~Guard() { flag_.clear(std::memory_order_release); }

   private:
    std::atomic_flag& flag_;
  };

  std::atomic_flag busy_ = ATOMIC_FLAG_INIT;
  std::unordered_map<FILE*, Cookie*>* map_ = nullptr;
};

constinit OwnFiles own_files;

// Off green threads the shims pass through, and a descriptor we made non-blocking would give
// EAGAIN where the program expects to block: block in poll, as the program's call would have.
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

// glibc treats a short count as an error, as the man page says: everything, or what was written
// before the error (0 if nothing), never -1.
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
  for (int i = 1; i < 5 && mode[i] != '\0'; ++i) {
    if (mode[i] == '+') {
      plus = true;
      break;
    }
  }
  if (plus) reads = writes = true;
  static constexpr const char* kModes[3][2] = {{"r", "r+"}, {"w", "w+"}, {"a", "a+"}};
  return kModes[mode[0] == 'r' ? 0 : mode[0] == 'w' ? 1 : 2][plus];
}

// A FILE on a socket or pipe that may park: one we made non-blocking in the kernel (the real
// stdio would see EAGAIN where the program expects to block), or one a read may park on.
bool wants_own_file(int fd) {
  rt::FdEntry* e = rt::current()->hub->fds().entry(fd);
  return e && e->parkable() && (e->owned || !e->app_nonblocking);
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
  f->_fileno = fd;  // fileno() answers; glibc's cookie FILE otherwise says -2 (no descriptor)
  if (!own_files.add(f, c)) {
    c->fd = -1;  // the FILE goes, the program's descriptor stays
    real::fclose(f);
    return errno = ENOMEM, nullptr;
  }
  int saved = errno;
  if (isatty(fd)) setvbuf(f, nullptr, _IOLBF, 0);  // as glibc buffers a terminal
  errno = saved;
  return f;
}

// What glibc's underflow does before it reads, done before we park so that the other side sees
// it and can answer: the FILE's own pending output goes out, and stdout is flushed when the FILE
// is line-buffered or unbuffered (an interactive prompt). An unallocated buffer becomes line
// buffered on a terminal.
void flush_before_read(FILE* f, int fd) {
  if (__fwriting(f) && __fpending(f) > 0) fflush(f);
  if (f == stdout || !__flbf(stdout) || __fpending(stdout) == 0) return;
  std::size_t size = __fbufsize(f);
  if (__flbf(f) || size == 1 || (size == 0 && isatty(fd))) fflush(stdout);
}

// Before an input call on a FILE we did not make, on a green thread: when its buffer is empty
// and its descriptor is one to park on, parks until the descriptor is readable, so that the
// real call's first read returns at once. Our own FILEs' reads park by themselves.
void before_input(FILE* f) {
  if (!f || f->_IO_read_ptr < f->_IO_read_end) return;
  int fd = f->_fileno;  // -1 or -2 for FILEs on no descriptor (fmemopen, fopencookie)
  if (fd < 0 || feof_unlocked(f) || !__freadable(f)) return;  // glibc's EOF is sticky
  rt::FdEntry* e = cooperative(fd);
  if (!e || blocking_alone(*e) || own_files.find(f)) return;
  int saved = errno;
  flush_before_read(f, fd);
  {
    CancellationPoint cp;
    // A timeout (SO_RCVTIMEO) or EBADF is left to the real call to report.
    if (wait_ready(*e, rt::Want::read, rt::deadline_for_timeout(e->recv_timeout)) != 0 &&
        errno == EINTR)
      test_cancel();
  }
  errno = saved;
}

// An input call: waits first where it must, then makes `call`. `reads` is false for calls
// that return without reading (fgets for fewer than 2 bytes, fread of nothing).
template <class Call>
auto input(FILE* f, bool reads, Call call) {
  if (reads && rt::on_green_thread()) before_input(f);
  return call();
}

// The descriptor `f` stands on is about to go away inside glibc. For a FILE of ours the flush
// at close still needs the table's entry, and our close() forgets it afterwards.
void forget_file(FILE* f) {
  if (!f || !rt::current() || own_files.find(f)) return;
  if (f->_fileno >= 0) rt::current()->hub->fds().forget(f->_fileno);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT FILE* fdopen(int fd, const char* mode) noexcept {
  if (!rt::on_green_thread() || !mode || !shim::wants_own_file(fd)) return real::fdopen(fd, mode);
  return shim::own_fdopen(fd, mode);
}

GREENRUN_EXPORT int fclose(FILE* f) {
  shim::forget_file(f);
  return real::fclose(f);
}

GREENRUN_EXPORT FILE* freopen(const char* path, const char* mode, FILE* f) {
  if (rt::current() && f) {
    // glibc flushes, then reuses the descriptor number without calling our cookie's close.
    if (shim::Cookie* c = shim::own_files.remove(f)) {
      if (__fwriting(f) && __fpending(f) > 0) fflush(f);
      delete c;
    }
    if (f->_fileno >= 0) rt::current()->hub->fds().forget(f->_fileno);
  }
  return real::freopen(path, mode, f);
}

// The same function on 64-bit targets, exported under its other name.
GREENRUN_EXPORT FILE* greenrun_freopen64(const char* path, const char* mode, FILE* f) __asm__("freopen64");
GREENRUN_EXPORT FILE* greenrun_freopen64(const char* path, const char* mode, FILE* f) {
  return freopen(path, mode, f);
}

GREENRUN_EXPORT int pclose(FILE* f) {
  shim::forget_file(f);
  return real::pclose(f);
}

GREENRUN_EXPORT int closedir(DIR* d) {
  if (rt::current()) rt::current()->hub->fds().forget(dirfd(d));  // d is nonnull, as declared
  return real::closedir(d);
}

GREENRUN_EXPORT char* fgets(char* s, int n, FILE* f) {
  return shim::input(f, n > 1, [&] { return real::fgets(s, n, f); });
}

GREENRUN_EXPORT char* fgets_unlocked(char* s, int n, FILE* f) {
  return shim::input(f, n > 1, [&] { return real::fgets_unlocked(s, n, f); });
}

// The fortified forms (_FORTIFY_SOURCE): the same calls with the buffer's size checked.
GREENRUN_EXPORT char* greenrun_fgets_chk(char* s, size_t size, int n, FILE* f) __asm__("__fgets_chk");
GREENRUN_EXPORT char* greenrun_fgets_chk(char* s, size_t size, int n, FILE* f) {
  return shim::input(f, n > 1, [&] { return real::fgets_chk(s, size, n, f); });
}

GREENRUN_EXPORT char* greenrun_fgets_unlocked_chk(char* s, size_t size, int n, FILE* f)
    __asm__("__fgets_unlocked_chk");
GREENRUN_EXPORT char* greenrun_fgets_unlocked_chk(char* s, size_t size, int n, FILE* f) {
  return shim::input(f, n > 1, [&] { return real::fgets_unlocked_chk(s, size, n, f); });
}

GREENRUN_EXPORT ssize_t getline(char** line, size_t* size, FILE* f) {
  return shim::input(f, true, [&] { return real::getline(line, size, f); });
}

GREENRUN_EXPORT ssize_t getdelim(char** line, size_t* size, int delimiter, FILE* f) {
  return shim::input(f, true, [&] { return real::getdelim(line, size, delimiter, f); });
}

// What the inline getline of <bits/stdio.h> calls.
GREENRUN_EXPORT ssize_t greenrun_getdelim(char** line, size_t* size, int delimiter, FILE* f)
    __asm__("__getdelim");
GREENRUN_EXPORT ssize_t greenrun_getdelim(char** line, size_t* size, int delimiter, FILE* f) {
  return getdelim(line, size, delimiter, f);
}

GREENRUN_EXPORT size_t fread(void* p, size_t size, size_t n, FILE* f) {
  return shim::input(f, size && n, [&] { return real::fread(p, size, n, f); });
}

GREENRUN_EXPORT size_t fread_unlocked(void* p, size_t size, size_t n, FILE* f) {
  return shim::input(f, size && n, [&] { return real::fread_unlocked(p, size, n, f); });
}

GREENRUN_EXPORT size_t greenrun_fread_chk(void* p, size_t room, size_t size, size_t n, FILE* f)
    __asm__("__fread_chk");
GREENRUN_EXPORT size_t greenrun_fread_chk(void* p, size_t room, size_t size, size_t n, FILE* f) {
  return shim::input(f, size && n, [&] { return real::fread_chk(p, room, size, n, f); });
}

GREENRUN_EXPORT size_t greenrun_fread_unlocked_chk(void* p, size_t room, size_t size, size_t n,
                                                   FILE* f) __asm__("__fread_unlocked_chk");
GREENRUN_EXPORT size_t greenrun_fread_unlocked_chk(void* p, size_t room, size_t size, size_t n,
                                                   FILE* f) {
  return shim::input(f, size && n, [&] { return real::fread_unlocked_chk(p, room, size, n, f); });
}

GREENRUN_EXPORT int fgetc(FILE* f) {
  return shim::input(f, true, [&] { return real::fgetc(f); });
}

GREENRUN_EXPORT int fgetc_unlocked(FILE* f) {
  return shim::input(f, true, [&] { return real::fgetc_unlocked(f); });
}

GREENRUN_EXPORT int getc(FILE* f) {
  return shim::input(f, true, [&] { return real::getc(f); });
}

GREENRUN_EXPORT int getc_unlocked(FILE* f) {
  return shim::input(f, true, [&] { return real::getc_unlocked(f); });
}

GREENRUN_EXPORT int getchar() {
  return shim::input(stdin, true, [&] { return real::getchar(); });
}

GREENRUN_EXPORT int getchar_unlocked() {
  return shim::input(stdin, true, [&] { return real::getchar_unlocked(); });
}

// What the inline getc_unlocked, getchar_unlocked and fgetc_unlocked of <bits/stdio.h> call
// when the buffer is empty.
GREENRUN_EXPORT int greenrun_uflow(FILE* f) __asm__("__uflow");
GREENRUN_EXPORT int greenrun_uflow(FILE* f) {
  return shim::input(f, true, [&] { return real::uflow(f); });
}

// The scanf family: <stdio.h> in C99 and later (and C++11) redirects each name to its
// __isoc99_ form; the plain names are the GNU ones, where %as allocates. Hence labels, not names.
GREENRUN_EXPORT int greenrun_vfscanf(FILE* f, const char* format, va_list ap) __asm__("vfscanf");
GREENRUN_EXPORT int greenrun_vfscanf(FILE* f, const char* format, va_list ap) {
  return shim::input(f, true, [&] { return real::vfscanf(f, format, ap); });
}

GREENRUN_EXPORT int greenrun_vscanf(const char* format, va_list ap) __asm__("vscanf");
GREENRUN_EXPORT int greenrun_vscanf(const char* format, va_list ap) {
  return greenrun_vfscanf(stdin, format, ap);
}

GREENRUN_EXPORT int greenrun_fscanf(FILE* f, const char* format, ...) __asm__("fscanf");
GREENRUN_EXPORT int greenrun_fscanf(FILE* f, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  int r = greenrun_vfscanf(f, format, ap);
  va_end(ap);
  return r;
}

GREENRUN_EXPORT int greenrun_scanf(const char* format, ...) __asm__("scanf");
GREENRUN_EXPORT int greenrun_scanf(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  int r = greenrun_vfscanf(stdin, format, ap);
  va_end(ap);
  return r;
}

GREENRUN_EXPORT int greenrun_isoc99_vfscanf(FILE* f, const char* format, va_list ap)
    __asm__("__isoc99_vfscanf");
GREENRUN_EXPORT int greenrun_isoc99_vfscanf(FILE* f, const char* format, va_list ap) {
  return shim::input(f, true, [&] { return real::isoc99_vfscanf(f, format, ap); });
}

GREENRUN_EXPORT int greenrun_isoc99_vscanf(const char* format, va_list ap) __asm__("__isoc99_vscanf");
GREENRUN_EXPORT int greenrun_isoc99_vscanf(const char* format, va_list ap) {
  return greenrun_isoc99_vfscanf(stdin, format, ap);
}

GREENRUN_EXPORT int greenrun_isoc99_fscanf(FILE* f, const char* format, ...) __asm__("__isoc99_fscanf");
GREENRUN_EXPORT int greenrun_isoc99_fscanf(FILE* f, const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  int r = greenrun_isoc99_vfscanf(f, format, ap);
  va_end(ap);
  return r;
}

GREENRUN_EXPORT int greenrun_isoc99_scanf(const char* format, ...) __asm__("__isoc99_scanf");
GREENRUN_EXPORT int greenrun_isoc99_scanf(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  int r = greenrun_isoc99_vfscanf(stdin, format, ap);
  va_end(ap);
  return r;
}
