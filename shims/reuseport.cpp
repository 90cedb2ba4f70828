// GREENRUN_REUSEPORT=1 (what greenrun --workers gives each copy): SO_REUSEPORT on every TCP
// socket the program binds to a port it names, just before the bind, so that N copies of one
// server all bind that port and the kernel spreads connections over them (gunicorn -w N). The
// program's own view stays its own: getsockopt reports 0 where we added the option, until the
// program sets it itself. Port 0 (any free port) and UDP are left alone.
// Defines: bind getsockopt
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "config.h"
#include "export.h"
#include "real.h"
#include "reuseport.h"
#include "spin_lock.h"

namespace greenrun::shim {
namespace {

// The sockets we added SO_REUSEPORT to, by inode: every descriptor of one socket (a dup, a
// forked child's copy) answers alike, and a closed number reused by another socket is not taken
// for it. Process-wide, not in the hub's fd table: a server binds in main, usually before its
// first pthread_create, when no hub (and so no fd table) exists yet. One entry per listening
// socket bound while GREENRUN_REUSEPORT=1 holds: a handful.
class AddedReuseport {
 public:
  void add(int fd) {
    ino_t id = inode(fd);
    if (!id) return;
    std::lock_guard guard(lock_);
    if (std::find(inodes_.begin(), inodes_.end(), id) == inodes_.end()) inodes_.push_back(id);
    any_.store(true, std::memory_order_release);
  }
  void remove(int fd) {
    if (!any_.load(std::memory_order_acquire)) return;
    ino_t id = inode(fd);
    std::lock_guard guard(lock_);
    std::erase(inodes_, id);
  }
  bool holds(int fd) {
    if (!any_.load(std::memory_order_acquire)) return false;  // every process but --workers'
    ino_t id = inode(fd);
    std::lock_guard guard(lock_);
    return id && std::find(inodes_.begin(), inodes_.end(), id) != inodes_.end();
  }

 private:
  static ino_t inode(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) ? st.st_ino : 0;
  }
  rt::SpinLock lock_;
  std::vector<ino_t> inodes_;
  std::atomic<bool> any_{false};
};

AddedReuseport& added() {
  static auto* marks = new AddedReuseport;  // leaked: shims may run during exit
  return *marks;
}

int int_option(int fd, int level, int name) {
  int value = 0;
  socklen_t size = sizeof value;
  return real::getsockopt(fd, level, name, &value, &size) == 0 ? value : -1;
}

// A TCP socket about to be bound to a port the program names, without SO_REUSEPORT of its own.
bool shares_the_port(int fd, const sockaddr* address, socklen_t length) {
  if (!address || length < sizeof(sa_family_t)) return false;
  in_port_t port = 0;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in))
    port = reinterpret_cast<const sockaddr_in*>(address)->sin_port;
  else if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6))
    port = reinterpret_cast<const sockaddr_in6*>(address)->sin6_port;
  return port != 0 && int_option(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM &&
         int_option(fd, SOL_SOCKET, SO_REUSEPORT) == 0;
}

}  // namespace

void program_set_reuseport(int fd) { added().remove(fd); }

}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int bind(int fd, const struct sockaddr* address, socklen_t length) noexcept {
  if (preload::config().reuseport) {
    const int saved_errno = errno;  // what the program sees is bind's alone
    const int one = 1;
    if (shim::shares_the_port(fd, address, length) &&
        real::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0)
      shim::added().add(fd);
    errno = saved_errno;
  }
  return real::bind(fd, address, length);
}

GREENRUN_EXPORT int getsockopt(int fd, int level, int name, void* value,
                               socklen_t* length) noexcept {
  int rc = real::getsockopt(fd, level, name, value, length);
  if (rc == 0 && level == SOL_SOCKET && name == SO_REUSEPORT && value && length) {
    const int saved_errno = errno;
    if (shim::added().holds(fd)) std::memset(value, 0, *length);  // as the program left it
    errno = saved_errno;
  }
  return rc;
}
