// Calls that wait in the kernel for something no readiness reports: the disk (positioned reads
// and writes, the flushes) and another process's file lock. Nothing can make them cooperative,
// so each runs as the program made it, inside a BlockingCall: when it holds the loop's OS
// thread past the hand-off threshold, the loop moves to another OS thread (handoff.h) and the
// others run. (fcntl's F_SETLKW is in fd.cpp, with the rest of fcntl.)
// Defines: pread pread64 pwrite pwrite64 fsync fdatasync syncfs sync_file_range flock lockf
//          lockf64
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "export.h"
#include "handoff.h"
#include "hub.h"
#include "real.h"

namespace greenrun::shim {
namespace {

// Makes `call` as a BlockingCall when other green threads could run meanwhile.
template <class Call>
auto waiting_in_the_kernel(Call call) {
  if (!rt::on_green_thread(rt::CallFamily::io) || rt::current()->hub->alone()) return call();
  return rt::in_blocking_call(call);
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT ssize_t pread(int fd, void* buf, size_t n, off_t offset) {
  return shim::waiting_in_the_kernel([&] { return real::pread(fd, buf, n, offset); });
}

GREENRUN_EXPORT ssize_t pread64(int fd, void* buf, size_t n, off64_t offset) {
  return shim::waiting_in_the_kernel([&] { return real::pread64(fd, buf, n, offset); });
}

GREENRUN_EXPORT ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  return shim::waiting_in_the_kernel([&] { return real::pwrite(fd, buf, n, offset); });
}

GREENRUN_EXPORT ssize_t pwrite64(int fd, const void* buf, size_t n, off64_t offset) {
  return shim::waiting_in_the_kernel([&] { return real::pwrite64(fd, buf, n, offset); });
}

GREENRUN_EXPORT int fsync(int fd) {
  return shim::waiting_in_the_kernel([&] { return real::fsync(fd); });
}

GREENRUN_EXPORT int fdatasync(int fd) {
  return shim::waiting_in_the_kernel([&] { return real::fdatasync(fd); });
}

GREENRUN_EXPORT int syncfs(int fd) noexcept {
  return shim::waiting_in_the_kernel([&] { return real::syncfs(fd); });
}

GREENRUN_EXPORT int sync_file_range(int fd, off64_t offset, off64_t n, unsigned int flags) {
  return shim::waiting_in_the_kernel([&] { return real::sync_file_range(fd, offset, n, flags); });
}

GREENRUN_EXPORT int flock(int fd, int operation) noexcept {
  return shim::waiting_in_the_kernel([&] { return real::flock(fd, operation); });
}

GREENRUN_EXPORT int lockf(int fd, int command, off_t n) {
  return shim::waiting_in_the_kernel([&] { return real::lockf(fd, command, n); });
}

GREENRUN_EXPORT int lockf64(int fd, int command, off64_t n) {
  return shim::waiting_in_the_kernel([&] { return real::lockf64(fd, command, n); });
}
