/* The other lookups, each from a second thread (so that under the preload another green
 * thread, main, is alive and the call goes to the threadpool): getnameinfo on 127.0.0.1:80
 * numeric and by name; gethostbyname, gethostbyname2 (AF_INET and AF_INET6), gethostbyaddr;
 * the _r forms with a buffer big enough and with one too small (ERANGE). Each call prints its
 * return value, its result, errno and h_errno, which must all be as natively. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

/* Values no lookup sets, so that "left alone" shows as these. */
enum { kErrnoBefore = EDOM, kHerrnoBefore = 12345 };

static const char* h_errno_name(int e) {
  switch (e) {
    case 0: return "0";
    case NETDB_INTERNAL: return "NETDB_INTERNAL";
    case HOST_NOT_FOUND: return "HOST_NOT_FOUND";
    case TRY_AGAIN: return "TRY_AGAIN";
    case NO_RECOVERY: return "NO_RECOVERY";
    case NO_DATA: return "NO_DATA";
    case kHerrnoBefore: return "unchanged";
    default: return "other";
  }
}

static void before(void) {
  errno = kErrnoBefore;
  h_errno = kHerrnoBefore;
}

/* errno and h_errno as the call left them; read first, before printf can change errno. */
static void after(void) {
  int e = errno, h = h_errno;
  printf("  errno %s, h_errno %s\n", e == kErrnoBefore ? "unchanged" : errno_name(e),
         h_errno_name(h));
}

static void print_hostent(const struct hostent* h) {
  if (!h) {
    printf("  no result\n");
    return;
  }
  printf("  name %s, addrtype %s, length %d\n", h->h_name,
         h->h_addrtype == AF_INET ? "AF_INET" : h->h_addrtype == AF_INET6 ? "AF_INET6" : "?",
         h->h_length);
  for (char** a = h->h_aliases; *a; ++a) printf("  alias %s\n", *a);
  for (char** a = h->h_addr_list; *a; ++a) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(h->h_addrtype, *a, text, sizeof text);
    printf("  address %s\n", text);
  }
}

static void name_info(int flags, const char* label) {
  struct sockaddr_in sin = {0};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(80);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
  before();
  int rc = getnameinfo((struct sockaddr*)&sin, sizeof sin, host, sizeof host, serv, sizeof serv,
                       flags);
  int e = errno, h = h_errno;
  printf("getnameinfo(127.0.0.1:80, %s) = %d (%s): host \"%s\" service \"%s\"\n", label, rc,
         rc ? gai_strerror(rc) : "ok", host, serv);
  errno = e, h_errno = h;
  after();
}

static void by_name(const char* name, int af, const char* label) {
  before();
  struct hostent* h = af ? gethostbyname2(name, af) : gethostbyname(name);
  int e = errno, he = h_errno;
  printf("%s(\"%s\")%s\n", af ? "gethostbyname2" : "gethostbyname", name, label);
  print_hostent(h);
  errno = e, h_errno = he;
  after();
}

static void by_addr(void) {
  struct in_addr a = {htonl(INADDR_LOOPBACK)};
  before();
  struct hostent* h = gethostbyaddr(&a, sizeof a, AF_INET);
  int e = errno, he = h_errno;
  printf("gethostbyaddr(127.0.0.1)\n");
  print_hostent(h);
  errno = e, h_errno = he;
  after();
}

/* which: 0 gethostbyname_r, 1 gethostbyname2_r (AF_INET), 2 gethostbyaddr_r */
static void reentrant(int which, size_t buflen) {
  static const char* names[] = {"gethostbyname_r(\"localhost\")",
                                "gethostbyname2_r(\"localhost\", AF_INET)",
                                "gethostbyaddr_r(127.0.0.1)"};
  struct in_addr a = {htonl(INADDR_LOOPBACK)};
  struct hostent buf_ent, *result = (struct hostent*)1;
  char* buf = malloc(buflen);
  int herr = kHerrnoBefore;
  before();
  int rc = which == 0   ? gethostbyname_r("localhost", &buf_ent, buf, buflen, &result, &herr)
           : which == 1 ? gethostbyname2_r("localhost", AF_INET, &buf_ent, buf, buflen, &result,
                                           &herr)
                        : gethostbyaddr_r(&a, sizeof a, AF_INET, &buf_ent, buf, buflen, &result,
                                          &herr);
  int e = errno, he = h_errno;
  printf("%s, buffer %zu = %s, *h_errnop %s, result %s\n", names[which], buflen, errno_name(rc),
         h_errno_name(herr), result == NULL ? "NULL" : result == &buf_ent ? "&buf" : "other");
  if (result == &buf_ent) print_hostent(result);
  errno = e, h_errno = he;
  after();
  free(buf);
}

static void* lookups(void* arg) {
  (void)arg;
  name_info(NI_NUMERICHOST | NI_NUMERICSERV, "NI_NUMERICHOST|NI_NUMERICSERV");
  name_info(0, "0");
  name_info(NI_NUMERICSERV, "NI_NUMERICSERV");
  name_info(NI_NAMEREQD, "NI_NAMEREQD");
  by_name("localhost", 0, "");
  by_name("127.0.0.1", 0, " (numeric)");
  by_name("localhost", AF_INET, ", AF_INET");
  by_name("localhost", AF_INET6, ", AF_INET6");
  by_addr();
  for (int which = 0; which < 3; ++which) {
    reentrant(which, 4096);
    reentrant(which, 8);
  }
  return NULL;
}

int main(void) {
  /* Bounds each name-server query to one second should a lookup reach a silent server. */
  setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, lookups, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  return 0;
}
