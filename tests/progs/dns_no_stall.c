/* One thread looks up a name that never resolves (".invalid", RFC 6761) while another ticks
 * every 10 ms: under the preload the lookup must not stall the ticker (PROPERTY
 * max_tick_gap_ms, checked under the preload). Only meaningful where the lookup is slow: on a
 * machine whose name server answers at once the lookup takes a millisecond or two (PROPERTY
 * lookup_ms), and the check holds whatever the preload does. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <netdb.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static int done;        /* the lookup has returned */
static int started;     /* the ticker is running */
static int64_t max_gap; /* longest time between two ticks, in ns */
static long ticks;

static void* ticker(void* arg) {
  (void)arg;
  int64_t last = mono_ns();
  __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
    usleep(10000);
    int64_t now = mono_ns();
    if (now - last > max_gap) max_gap = now - last;
    last = now;
    ++ticks;
  }
  return NULL;
}

static void* resolver(void* arg) {
  (void)arg;
  while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE)) usleep(1000);
  usleep(30000);  /* a few ticks first */
  struct addrinfo hints = {0}, *list = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int64_t t0 = mono_ns();
  int rc = getaddrinfo("no-such-host.invalid", "80", &hints, &list);
  property("lookup_ms", (mono_ns() - t0) / 1000000);
  printf("getaddrinfo(\"no-such-host.invalid\") %s\n", rc == 0 ? "resolved" : "failed");
  if (rc == 0) freeaddrinfo(list);
  usleep(30000);  /* and a few after */
  __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  return NULL;
}

int main(void) {
  /* Bounds each name-server query to one second should the server not answer. */
  setenv("RES_OPTIONS", "timeout:1 attempts:1", 1);
  pthread_t t, r;
  CHECK_RC(pthread_create(&t, NULL, ticker, NULL), 0);
  CHECK_RC(pthread_create(&r, NULL, resolver, NULL), 0);
  CHECK_RC(pthread_join(r, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("ticker %s\n", ticks >= 5 ? "ticked throughout" : "did not tick");
  property("max_tick_gap_ms", max_gap / 1000000);
  return 0;
}
