// Input calls on FILEs we did not make (stdin, popen pipes, fopen'ed FIFOs): when the FILE's
// buffer is empty and its descriptor is one to park on, the green thread parks until it is
// readable, then the real function runs. Limitation: the real call may read more than once (a
// line or a scanf field that arrives in pieces, an fread larger than what came), and then blocks
// the hub until the rest arrives. FILEs of our own (fdopen, shims/stdio.cpp) need no wait.
// Defines: fgets fgets_unlocked __fgets_chk __fgets_unlocked_chk getline getdelim __getdelim
//          fread fread_unlocked __fread_chk __fread_unlocked_chk fgetc fgetc_unlocked getc
//          getc_unlocked getchar getchar_unlocked __uflow scanf fscanf vscanf vfscanf
//          __isoc99_scanf __isoc99_fscanf __isoc99_vscanf __isoc99_vfscanf
#undef _FORTIFY_SOURCE  // we define fgets and fread themselves, not their fortified inlines
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <unistd.h>

#include "export.h"
#include "fd_shim.h"
#include "posix_thread.h"
#include "real.h"
#include "stdio_shim.h"

namespace greenrun::shim {
namespace {

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
  if (!e || alone_on_hub() || own_file(f)) return;
  int saved = errno;
  flush_before_read(f, fd);
  {
    CancellationPoint cp;
    // A timeout (SO_RCVTIMEO) or EBADF is left to the real call to report; a cancel that
    // interrupts the wait acts inside it (the hub's interrupt hook).
    wait_ready(*e, rt::Want::read, deadline_for_timeout(e->recv_timeout));
  }
  errno = saved;
}

// An input call: waits first where it must, then makes `call`. `reads` is false for calls
// that return without reading (fgets for fewer than 2 bytes, fread of nothing, getline's
// EINVAL).
template <class Call>
auto input(FILE* f, bool reads, Call call) {
  if (reads && rt::on_green_thread(rt::CallFamily::stdio)) before_input(f);
  return call();
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

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
  return shim::input(f, line && size, [&] { return real::getline(line, size, f); });
}

GREENRUN_EXPORT ssize_t getdelim(char** line, size_t* size, int delimiter, FILE* f) {
  return shim::input(f, line && size, [&] { return real::getdelim(line, size, delimiter, f); });
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
