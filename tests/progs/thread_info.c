/* pthread_getattr_np on a created (and running) thread reports a stack that contains the
 * thread's locals and is at least the size asked for; pthread_setname_np/getname_np round
 * trip, with ERANGE for a name of 16 or more characters and for a short buffer. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static const size_t kAsked = 1 << 20;
static char* local_address;
static int ready, release;

static int stack_contains(pthread_attr_t* attr, const char* p, size_t* size) {
  void* lo;
  CHECK_RC(pthread_attr_getstack(attr, &lo, size), 0);
  return p >= (char*)lo && p < (char*)lo + *size;
}

static void* worker(void* arg) {
  (void)arg;
  char local = 1;
  local_address = &local;
  note_os_threads();
  pthread_attr_t attr;
  size_t size;
  CHECK_RC(pthread_getattr_np(pthread_self(), &attr), 0);
  int contains = stack_contains(&attr, &local, &size);
  printf("self view: stack contains a local: %s, size >= 1 MiB asked: %s\n",
         contains ? "yes" : "no", size >= kAsked ? "yes" : "no");
  int detach;
  pthread_attr_getdetachstate(&attr, &detach);
  printf("self view: detach state %s\n", detach == PTHREAD_CREATE_JOINABLE ? "JOINABLE" : "DETACHED");
  pthread_attr_destroy(&attr);

  __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE)) usleep(1000);
  return (void*)(long)local;
}

int main(void) {
  pthread_attr_t attr;
  CHECK_RC(pthread_attr_init(&attr), 0);
  CHECK_RC(pthread_attr_setstacksize(&attr, kAsked), 0);
  pthread_t t;
  CHECK_RC(pthread_create(&t, &attr, worker, NULL), 0);
  pthread_attr_destroy(&attr);
  while (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) usleep(1000);

  /* The same question asked by main about the other (running, sleeping) thread. */
  pthread_attr_t other;
  size_t size;
  CHECK_RC(pthread_getattr_np(t, &other), 0);
  int contains = stack_contains(&other, local_address, &size);
  printf("main's view: stack contains its local: %s, size >= 1 MiB asked: %s\n",
         contains ? "yes" : "no", size >= kAsked ? "yes" : "no");
  pthread_attr_destroy(&other);

  char name[32];
  printf("setname_np(t, \"worker-1\"): %s\n", errno_name(pthread_setname_np(t, "worker-1")));
  int rc = pthread_getname_np(t, name, sizeof name);
  printf("getname_np(t): %s \"%s\"\n", errno_name(rc), rc == 0 ? name : "");
  printf("setname_np(t, 15 chars): %s\n", errno_name(pthread_setname_np(t, "fifteen-chars-x")));
  rc = pthread_getname_np(t, name, sizeof name);
  printf("getname_np(t): %s \"%s\"\n", errno_name(rc), rc == 0 ? name : "");
  printf("setname_np(t, 16 chars): %s\n", errno_name(pthread_setname_np(t, "sixteen-chars-xy")));
  rc = pthread_getname_np(t, name, sizeof name);
  printf("getname_np(t) after the refused name: %s \"%s\"\n", errno_name(rc), rc == 0 ? name : "");
  printf("getname_np(t, buffer of 8): %s\n", errno_name(pthread_getname_np(t, name, 8)));
  printf("setname_np(self, \"main-renamed\"): %s\n",
         errno_name(pthread_setname_np(pthread_self(), "main-renamed")));
  rc = pthread_getname_np(pthread_self(), name, sizeof name);
  printf("getname_np(self): %s \"%s\"\n", errno_name(rc), rc == 0 ? name : "");

  __atomic_store_n(&release, 1, __ATOMIC_RELEASE);
  void* r;
  CHECK_RC(pthread_join(t, &r), 0);
  printf("joined: %ld\n", (long)r);
  report_os_threads();
  return 0;
}
