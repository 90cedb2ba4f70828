/* 200 threads each resolve "localhost" port 80 (AF_UNSPEC, SOCK_STREAM) at the same moment and
 * describe their sorted results. Every description must be the same: it is printed once, with
 * the number of threads that agreed. Under the preload the lookups run on greenrun's pool
 * (PROPERTY lookup_pool_threads: its threads, named greenrun-pool, checked to be there). */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>

enum { kThreads = 200, kText = 1024 };

static pthread_barrier_t start;
static char results[kThreads][kText];

static int compare_lines(const void* a, const void* b) {
  return strcmp(*(const char* const*)a, *(const char* const*)b);
}

/* "rc=0\n" then one "family address port" line per result, sorted. */
static void describe(int rc, struct addrinfo* list, char* out) {
  char lines[64][128];
  const char* sorted[64];
  int n = 0;
  for (struct addrinfo* ai = list; ai && n < 64; ai = ai->ai_next, ++n) {
    char addr[INET6_ADDRSTRLEN] = "?";
    int port = -1;
    if (ai->ai_family == AF_INET) {
      struct sockaddr_in* sin = (struct sockaddr_in*)ai->ai_addr;
      inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof addr);
      port = ntohs(sin->sin_port);
    } else if (ai->ai_family == AF_INET6) {
      struct sockaddr_in6* sin6 = (struct sockaddr_in6*)ai->ai_addr;
      inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof addr);
      port = ntohs(sin6->sin6_port);
    }
    snprintf(lines[n], sizeof lines[n], "%s %s %d socktype=%d protocol=%d",
             ai->ai_family == AF_INET ? "AF_INET" : ai->ai_family == AF_INET6 ? "AF_INET6" : "?",
             addr, port, ai->ai_socktype, ai->ai_protocol);
    sorted[n] = lines[n];
  }
  qsort(sorted, (size_t)n, sizeof sorted[0], compare_lines);
  int used = snprintf(out, kText, "rc=%d (%s)\n", rc, rc ? gai_strerror(rc) : "ok");
  for (int i = 0; i < n; ++i) used += snprintf(out + used, (size_t)(kText - used), "  %s\n", sorted[i]);
}

static void* resolver(void* arg) {
  long i = (long)arg;
  struct addrinfo hints = {0}, *list = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  pthread_barrier_wait(&start);
  int rc = getaddrinfo("localhost", "80", &hints, &list);
  describe(rc, list, results[i]);
  if (rc == 0) freeaddrinfo(list);
  return NULL;
}

int main(void) {
  pthread_t threads[kThreads];
  CHECK_RC(pthread_barrier_init(&start, NULL, kThreads), 0);
  for (long i = 0; i < kThreads; ++i)
    CHECK_RC(pthread_create(&threads[i], NULL, resolver, (void*)i), 0);
  for (long i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(threads[i], NULL), 0);
  int agreed = 0;
  for (long i = 0; i < kThreads; ++i) {
    if (strcmp(results[i], results[0]) == 0) {
      ++agreed;
    } else {
      printf("thread %ld differs:\n%s", i, results[i]);
    }
  }
  printf("getaddrinfo(\"localhost\", \"80\", AF_UNSPEC, SOCK_STREAM) in %d threads:\n%s",
         kThreads, results[0]);
  printf("%d of %d threads agreed\n", agreed, kThreads);
  property("lookup_pool_threads", named_thread_count("greenrun-pool"));
  return 0;
}
