// Name lookups. glibc's stub resolver lives inside libc and talks to the name server on its own
// sockets, out of our shims' reach, so on a green thread the real function runs on greenrun's
// own threadpool while the caller parks. Invariant: the real call runs whole on one pool thread,
// starting from the caller's errno and h_errno, and what it leaves in both comes back to the
// caller: results, errors and result memory are exactly glibc's.
// Defines: getaddrinfo getnameinfo gethostbyname gethostbyname2 gethostbyname_r
//          gethostbyname2_r gethostbyaddr gethostbyaddr_r
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

#include "export.h"
#include "hub.h"
#include "mutex.h"
#include "posix_thread.h"
#include "real.h"
#include "threadpool.h"

namespace greenrun::shim {
namespace {

// Runs call() on a threadpool thread, parked until it returns, and gives back its result.
// h_errno is per OS thread (glibc TLS), as is errno: it travels there and back the same way.
template <class Call>
auto on_threadpool(Call call) {
  int h_error = h_errno;
  auto result = rt::call_in_threadpool([&] {
    h_errno = h_error;
    auto r = call();
    h_error = h_errno;
    return r;
  });
  h_errno = h_error;  // other green threads' lookups may have changed ours meanwhile
  return result;
}

// gethostbyname, gethostbyname2 and gethostbyaddr return glibc's static storage: one result
// and one buffer per function, process-wide and filled under a lock (nss/getXXbyYY.c), not
// per-thread storage. So the pointer the real function returns on a pool thread is the very
// one a native caller gets, valid until the next call of that function from any thread, and
// we run the real functions: glibc's storage, buffer growth and lifetime stay as they are,
// and a pass-through call (no green thread, or alone) returns the same pointer.
// What we add is one green lock per function, held until the caller has resumed. Without it
// another green thread's lookup could overwrite the buffer between the pool thread's return
// and the caller's resumption, a window native threads do not have; with it, a green thread
// that reads its result before it next parks always reads its own.
// Rejected: our own storage over the _r functions. Per green thread, it needs a hook to free
// it at thread exit and hands each thread a different pointer than native; process-wide, it
// duplicates glibc's buffer and differs from what the pass-through path returns.
pthread_mutex_t byname_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t byname2_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t byaddr_lock = PTHREAD_MUTEX_INITIALIZER;

template <class Call>
struct hostent* static_result_lookup(pthread_mutex_t& lock, Call call) {
  mutex_lock(&lock, rt::kNever, false);  // a default mutex: no error to expect
  struct hostent* result = on_threadpool(call);
  int error = errno, h_error = h_errno;
  mutex_unlock(&lock);
  h_errno = h_error;
  errno = error;
  return result;
}

bool decimal(const char* s) {
  if (!*s) return false;
  for (; *s; ++s)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// True when getaddrinfo needs neither a host nor a service lookup: no node, or a numeric one
// by request, and no service, a numeric one by request, or a port number (which glibc reads
// with strtoul before any lookup). What remains is parsing and local system calls.
bool numeric_only(const char* node, const char* service, const struct addrinfo* hints) {
  int flags = hints ? hints->ai_flags : 0;
  return (!node || (flags & AI_NUMERICHOST)) &&
         (!service || (flags & AI_NUMERICSERV) || decimal(service));
}

// Likewise for getnameinfo: each of host and service is either not asked for or numeric.
bool numeric_only(const char* host, socklen_t hostlen, const char* serv, socklen_t servlen,
                  int flags) {
  return (!host || hostlen == 0 || (flags & NI_NUMERICHOST)) &&
         (!serv || servlen == 0 || (flags & NI_NUMERICSERV));
}

}  // namespace
}  // namespace greenrun::shim

using namespace greenrun;

GREENRUN_EXPORT int getaddrinfo(const char* node, const char* service,
                                const struct addrinfo* hints, struct addrinfo** res) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone() ||
      shim::numeric_only(node, service, hints))
    return real::getaddrinfo(node, service, hints, res);
  return shim::on_threadpool([=] { return real::getaddrinfo(node, service, hints, res); });
}

GREENRUN_EXPORT int getnameinfo(const struct sockaddr* addr, socklen_t addrlen, char* host,
                                socklen_t hostlen, char* serv, socklen_t servlen, int flags) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone() ||
      shim::numeric_only(host, hostlen, serv, servlen, flags))
    return real::getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags);
  return shim::on_threadpool(
      [=] { return real::getnameinfo(addr, addrlen, host, hostlen, serv, servlen, flags); });
}

GREENRUN_EXPORT struct hostent* gethostbyname(const char* name) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone()) return real::gethostbyname(name);
  return shim::static_result_lookup(shim::byname_lock,
                                    [=] { return real::gethostbyname(name); });
}

GREENRUN_EXPORT struct hostent* gethostbyname2(const char* name, int af) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone())
    return real::gethostbyname2(name, af);
  return shim::static_result_lookup(shim::byname2_lock,
                                    [=] { return real::gethostbyname2(name, af); });
}

GREENRUN_EXPORT struct hostent* gethostbyaddr(const void* addr, socklen_t len, int type) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone())
    return real::gethostbyaddr(addr, len, type);
  return shim::static_result_lookup(shim::byaddr_lock,
                                    [=] { return real::gethostbyaddr(addr, len, type); });
}

GREENRUN_EXPORT int gethostbyname_r(const char* name, struct hostent* result_buf, char* buf,
                                    size_t buflen, struct hostent** result, int* h_errnop) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone())
    return real::gethostbyname_r(name, result_buf, buf, buflen, result, h_errnop);
  return shim::on_threadpool(
      [=] { return real::gethostbyname_r(name, result_buf, buf, buflen, result, h_errnop); });
}

GREENRUN_EXPORT int gethostbyname2_r(const char* name, int af, struct hostent* result_buf,
                                     char* buf, size_t buflen, struct hostent** result,
                                     int* h_errnop) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone())
    return real::gethostbyname2_r(name, af, result_buf, buf, buflen, result, h_errnop);
  return shim::on_threadpool([=] {
    return real::gethostbyname2_r(name, af, result_buf, buf, buflen, result, h_errnop);
  });
}

GREENRUN_EXPORT int gethostbyaddr_r(const void* addr, socklen_t len, int type,
                                    struct hostent* result_buf, char* buf, size_t buflen,
                                    struct hostent** result, int* h_errnop) {
  if (!rt::on_green_thread(rt::CallFamily::dns) || shim::alone())
    return real::gethostbyaddr_r(addr, len, type, result_buf, buf, buflen, result, h_errnop);
  return shim::on_threadpool([=] {
    return real::gethostbyaddr_r(addr, len, type, result_buf, buf, buflen, result, h_errnop);
  });
}
