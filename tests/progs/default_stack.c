/* Thread stacks as glibc gives them.
 *   default_stack defaults [N]: a thread created with default attributes has a stack of the
 *     RLIMIT_STACK soft limit (8 MiB here) with a one-page guard, uses 384 KiB of locals and
 *     then three quarters of the whole, and 100 such threads alive at once commit little
 *     memory (the PROPERTY rss_growth_kib). With N, RLIMIT_STACK is first lowered to N KiB and
 *     the program runs again (exec), so the default must follow the limit, not a constant.
 *   default_stack attributes: pthread_attr_setstacksize, pthread_attr_setstack (on an mmap'd
 *     and on a malloc'd buffer, where the thread's locals must lie) and
 *     pthread_attr_setguardsize are honoured and reported back by pthread_getattr_np. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static int wrong;
static size_t page;

static void mismatch(const char* what, long long got, long long want) {
  fprintf(stderr, "%s: got %lld, want %lld\n", what, got, want);
  __atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
}

static const char* yes(int b) { return b ? "yes" : "no"; }

/* The stack size glibc gives a thread created with default attributes. */
static size_t expected_default(int* from_rlimit) {
  struct rlimit rl;
  CHECK_EQ(getrlimit(RLIMIT_STACK, &rl), 0);
  if (rl.rlim_cur != RLIM_INFINITY) {
    *from_rlimit = 1;
    return (rl.rlim_cur + page - 1) / page * page;
  }
  /* Unlimited: glibc falls back to its architecture's default, which it reports here. */
  *from_rlimit = 0;
  pthread_attr_t attr;
  size_t size = 0;
  CHECK_RC(pthread_getattr_default_np(&attr), 0);
  CHECK_RC(pthread_attr_getstacksize(&attr, &size), 0);
  pthread_attr_destroy(&attr);
  return size;
}

/* What pthread_getattr_np says about `thread`. */
struct stack_view {
  char* low;
  size_t size;
  size_t guard;
};

static struct stack_view view_of(pthread_t thread) {
  pthread_attr_t attr;
  struct stack_view v;
  void* low;
  CHECK_RC(pthread_getattr_np(thread, &attr), 0);
  CHECK_RC(pthread_attr_getstack(&attr, &low, &v.size), 0);
  CHECK_RC(pthread_attr_getguardsize(&attr, &v.guard), 0);
  pthread_attr_destroy(&attr);
  v.low = low;
  return v;
}

static int contains(struct stack_view v, const void* p) {
  return (const char*)p >= v.low && (const char*)p < v.low + v.size;
}

/* A thread with default attributes using 384 KiB of locals (siege's browser threads do). */
static void* big_locals(void* arg) {
  (void)arg;
  volatile char buf[384 * 1024];
  memset((char*)buf, 1, sizeof buf);
  long sum = 0;
  for (size_t i = 0; i < sizeof buf; i += 4096) sum += buf[i];
  return (void*)sum;
}

/* Reports on itself, then uses three quarters of its stack. */
struct self_report {
  struct stack_view view;
  int local_inside;
  int used_three_quarters;
};

static __attribute__((noinline)) long use_stack(size_t bytes) {
  volatile char buf[bytes];
  memset((char*)buf, 2, bytes);
  long sum = 0;
  for (size_t i = 0; i < bytes; i += 4096) sum += buf[i];
  return sum;
}

static void* reporter(void* arg) {
  struct self_report* r = arg;
  char local = 0;
  r->view = view_of(pthread_self());
  r->local_inside = contains(r->view, &local);
  if (r->view.size >= 4 * page) {
    size_t bytes = r->view.size / 4 * 3;
    r->used_three_quarters = use_stack(bytes) == (long)(bytes / 4096 + (bytes % 4096 != 0)) * 2;
  }
  return NULL;
}

/* Reports on itself and parks until main has looked at it from outside. */
struct placed {
  struct stack_view self_view;
  char* local;
  int ready, release;
};

static void* placed_worker(void* arg) {
  struct placed* p = arg;
  char local = 0;
  note_os_threads();
  p->local = &local;
  p->self_view = view_of(pthread_self());
  __atomic_store_n(&p->ready, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&p->release, __ATOMIC_ACQUIRE)) usleep(1000);
  return (void*)(long)local;
}

/* Starts a thread with `attr`, lets it report, and checks main's view against its own. */
static struct placed run_placed(pthread_attr_t* attr, struct stack_view* main_view) {
  struct placed p;
  memset(&p, 0, sizeof p);
  pthread_t t;
  CHECK_RC(pthread_create(&t, attr, placed_worker, &p), 0);
  while (!__atomic_load_n(&p.ready, __ATOMIC_ACQUIRE)) usleep(1000);
  *main_view = view_of(t);
  __atomic_store_n(&p.release, 1, __ATOMIC_RELEASE);
  CHECK_RC(pthread_join(t, NULL), 0);
  return p;
}

static void default_threads(void) {
  pthread_t t;
  void* r;
  CHECK_RC(pthread_create(&t, NULL, big_locals, NULL), 0);
  CHECK_RC(pthread_join(t, &r), 0);
  printf("default attributes: 384 KiB of locals: ok (%ld)\n", (long)r);

  int from_rlimit;
  size_t want = expected_default(&from_rlimit);
  struct self_report rep;
  memset(&rep, 0, sizeof rep);
  CHECK_RC(pthread_create(&t, NULL, reporter, &rep), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("default attributes: stack size equals %s: %s\n",
         from_rlimit ? "the RLIMIT_STACK soft limit" : "glibc's default (RLIMIT_STACK unlimited)",
         yes(rep.view.size == want));
  if (rep.view.size != want) mismatch("default stack size", rep.view.size, want);
  printf("default attributes: guard size is one page: %s\n", yes(rep.view.guard == page));
  if (rep.view.guard != page) mismatch("default guard size", rep.view.guard, page);
  printf("default attributes: a local lies in the reported stack: %s\n", yes(rep.local_inside));
  if (!rep.local_inside) mismatch("local inside the default stack", 0, 1);
  printf("default attributes: used three quarters of the stack: %s\n",
         yes(rep.used_three_quarters));
  if (!rep.used_three_quarters) mismatch("used three quarters of the stack", 0, 1);
}

static long rss_kib(void) {
  FILE* f = fopen("/proc/self/status", "r");
  CHECK_EQ(f != NULL, 1);
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  fclose(f);
  return kib;
}

/* 100 default threads alive at once: their stacks are reserved, not committed. */
enum { kMany = 100 };
static int many_release;
static pthread_barrier_t many_started;

static void* idle(void* arg) {
  (void)arg;
  note_os_threads();
  pthread_barrier_wait(&many_started);
  while (!__atomic_load_n(&many_release, __ATOMIC_ACQUIRE)) usleep(2000);
  return NULL;
}

static void many_default_threads(void) {
  pthread_t t[kMany];
  CHECK_RC(pthread_barrier_init(&many_started, NULL, kMany + 1), 0);
  long before = rss_kib();
  for (int i = 0; i < kMany; ++i) CHECK_RC(pthread_create(&t[i], NULL, idle, NULL), 0);
  pthread_barrier_wait(&many_started);
  long during = rss_kib();
  __atomic_store_n(&many_release, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < kMany; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&many_started);
  printf("%d default threads alive at once: ok\n", kMany);
  property("rss_growth_kib", during - before);
}

static void sized_thread(void) {
  pthread_attr_t attr;
  CHECK_RC(pthread_attr_init(&attr), 0);
  CHECK_RC(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
  struct stack_view from_main;
  struct placed p = run_placed(&attr, &from_main);
  pthread_attr_destroy(&attr);
  printf("setstacksize(256 KiB): reported size >= 256 KiB: %s; a local lies in it: %s\n",
         yes(p.self_view.size >= 256 * 1024), yes(contains(p.self_view, p.local)));
  if (p.self_view.size < 256 * 1024)
    mismatch("setstacksize(256 KiB) size", p.self_view.size, 256 * 1024);
  if (!contains(p.self_view, p.local)) mismatch("local inside a 256 KiB stack", 0, 1);
}

/* pthread_attr_setstack on the program's own buffer: the thread runs there. */
static void own_stack(const char* kind, char* buf, size_t size) {
  pthread_attr_t attr;
  CHECK_RC(pthread_attr_init(&attr), 0);
  CHECK_RC(pthread_attr_setstack(&attr, buf, size), 0);
  struct stack_view from_main;
  struct placed p = run_placed(&attr, &from_main);
  pthread_attr_destroy(&attr);
  int inside = p.local >= buf && p.local < buf + size;
  int self_exact = p.self_view.low == buf && p.self_view.size == size;
  int main_exact = from_main.low == buf && from_main.size == size;
  printf("setstack(%s buffer): a local lies in the buffer: %s; getattr_np reports the buffer "
         "exactly: from the thread %s, from main %s\n",
         kind, yes(inside), yes(self_exact), yes(main_exact));
  if (!inside) mismatch("a local's offset in the given stack", p.local - buf, 0);
  if (!self_exact) {
    mismatch("thread's view: offset of its stack from the buffer", p.self_view.low - buf, 0);
    mismatch("thread's view: size of its stack", (long long)p.self_view.size, (long long)size);
  }
  if (!main_exact) {
    mismatch("main's view: offset of the stack from the buffer", from_main.low - buf, 0);
    mismatch("main's view: size of the stack", (long long)from_main.size, (long long)size);
  }
}

static void guard_size(void) {
  pthread_attr_t attr;
  CHECK_RC(pthread_attr_init(&attr), 0);
  CHECK_RC(pthread_attr_setguardsize(&attr, 64 * 1024), 0);
  struct stack_view from_main;
  struct placed p = run_placed(&attr, &from_main);
  pthread_attr_destroy(&attr);
  printf("setguardsize(64 KiB): reported: from the thread %s, from main %s\n",
         yes(p.self_view.guard == 64 * 1024), yes(from_main.guard == 64 * 1024));
  if (p.self_view.guard != 64 * 1024)
    mismatch("guard size, thread's view", p.self_view.guard, 64 * 1024);
  if (from_main.guard != 64 * 1024) mismatch("guard size, main's view", from_main.guard, 64 * 1024);
}

static void attribute_threads(void) {
  sized_thread();

  size_t mapped_size = 1 << 20;
  char* mapped =
      mmap(NULL, mapped_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK_EQ(mapped != MAP_FAILED, 1);
  own_stack("mmap'd 1 MiB", mapped, mapped_size);
  munmap(mapped, mapped_size);

  size_t malloced_size = 512 * 1024;
  void* malloced = NULL;
  CHECK_RC(posix_memalign(&malloced, 64, malloced_size), 0);
  own_stack("malloc'd 512 KiB", malloced, malloced_size);
  free(malloced);

  guard_size();
}

int main(int argc, char** argv) {
  page = (size_t)sysconf(_SC_PAGESIZE);
  if (argc == 3 && strcmp(argv[1], "defaults") == 0) {
    /* Lower the soft limit and start again: glibc reads it once, at start-up. */
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_STACK, &rl), 0);
    rl.rlim_cur = (rlim_t)atol(argv[2]) * 1024;
    CHECK_EQ(setrlimit(RLIMIT_STACK, &rl), 0);
    char* again[] = {argv[0], argv[1], NULL};
    execv("/proc/self/exe", again);
    perror("execv");
    return 98;
  }
  if (argc == 2 && strcmp(argv[1], "defaults") == 0) {
    default_threads();
    many_default_threads();
  } else if (argc == 2 && strcmp(argv[1], "attributes") == 0) {
    attribute_threads();
  } else {
    fprintf(stderr, "usage: %s defaults [RLIMIT_STACK KiB] | attributes\n", argv[0]);
    return 2;
  }
  report_os_threads();
  if (wrong) printf("%d checks failed\n", wrong);
  return wrong ? 1 : 0;
}
