/* Lookups that fail, from a second thread (so under the preload they go to the threadpool):
 * a name under ".invalid" (RFC 6761: it never resolves; with no network the stub resolver
 * still asks the configured server), a name that is not numeric with AI_NUMERICHOST, and an
 * unknown service. Return codes, errno and h_errno must be as natively. The time of the
 * ".invalid" lookup is reported (PROPERTY lookup_ms): here the name server answers at once. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

static const char* eai_name(int rc) {
  switch (rc) {
    case 0: return "0";
    case EAI_NONAME: return "EAI_NONAME";
    case EAI_AGAIN: return "EAI_AGAIN";
    case EAI_FAIL: return "EAI_FAIL";
    case EAI_SERVICE: return "EAI_SERVICE";
    case EAI_SYSTEM: return "EAI_SYSTEM";
    case EAI_NODATA: return "EAI_NODATA";
    case EAI_ADDRFAMILY: return "EAI_ADDRFAMILY";
    default: return "other";
  }
}

static void resolve(const char* node, const char* service, int flags) {
  struct addrinfo hints = {0}, *list = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  errno = EDOM;
  int rc = getaddrinfo(node, service, &hints, &list);
  int e = errno;
  printf("getaddrinfo(\"%s\", \"%s\", flags %#x) = %s, errno %s\n", node, service, flags,
         eai_name(rc), e == EDOM ? "unchanged" : errno_name(e));
  if (rc == 0) freeaddrinfo(list);
}

static void* lookups(void* arg) {
  (void)arg;
  int64_t t0 = mono_ns();
  resolve("no-such-host.invalid", "80", 0);
  property("lookup_ms", (mono_ns() - t0) / 1000000);
  resolve("localhost", "80", AI_NUMERICHOST);
  resolve("127.0.0.1", "no-such-service", 0);
  resolve("127.0.0.1", "http", AI_NUMERICSERV);
  h_errno = 0;
  struct hostent* h = gethostbyname("no-such-host.invalid");
  int he = h_errno;
  printf("gethostbyname(\"no-such-host.invalid\") = %s, h_errno %s\n", h ? "a result" : "NULL",
         he == HOST_NOT_FOUND ? "HOST_NOT_FOUND" : he == TRY_AGAIN ? "TRY_AGAIN" : "other");
  return NULL;
}

int main(void) {
  /* Bounds each name-server query to one second should the server not answer. */
  setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, lookups, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  return 0;
}
