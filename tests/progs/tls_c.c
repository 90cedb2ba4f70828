/* C thread-local storage belongs to each thread: an initialised __thread variable (.tdata)
 * starts at its initial value in every new thread whatever main wrote to its own copy, a zero
 * one (.tbss) starts at zero, a 64 KiB __thread array starts zeroed, and each thread keeps its
 * own values across sleeps; errno too is per thread, across a sleep and a barrier while the
 * other threads set theirs (by assignment and by failing calls). */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

enum { kThreads = 8, kRounds = 20, kArray = 64 * 1024 };

__thread int initialised = 42;  /* .tdata */
__thread long zeroed;           /* .tbss */
__thread unsigned char big[kArray];

static int wrong;
static void* tdata_address[kThreads];
static void* array_address[kThreads];
static void* errno_address[kThreads];

static void mismatch(int thread, const char* what, long got, long want) {
  fprintf(stderr, "thread %d: %s: got %ld, want %ld\n", thread, what, got, want);
  __atomic_fetch_add(&wrong, 1, __ATOMIC_RELAXED);
}

static int array_is(unsigned char value) {
  for (size_t i = 0; i < kArray; ++i)
    if (big[i] != value) return 0;
  return 1;
}

struct result {
  int start_ok;  /* initial values seen at the start */
  int kept_ok;   /* own values kept across every sleep */
};
static struct result results[kThreads];

static void* tls_worker(void* arg) {
  int i = (int)(long)arg;
  struct result* r = &results[i];
  r->start_ok = initialised == 42 && zeroed == 0 && array_is(0);
  if (initialised != 42) mismatch(i, "initialised __thread at start", initialised, 42);
  if (zeroed != 0) mismatch(i, "zero __thread at start", zeroed, 0);
  if (!array_is(0)) mismatch(i, "64 KiB __thread array zeroed at start", 0, 1);
  tdata_address[i] = &initialised;
  note_os_threads();
  array_address[i] = big;

  r->kept_ok = 1;
  for (int round = 1; round <= kRounds; ++round) {
    initialised = 1000 * (i + 1) + round;
    zeroed = -(long)(i + 1) * round;
    memset(big, i + 1 + round, sizeof big);
    usleep(500 + 100 * i);
    if (initialised != 1000 * (i + 1) + round) {
      mismatch(i, "initialised __thread after a sleep", initialised, 1000 * (i + 1) + round);
      r->kept_ok = 0;
    }
    if (zeroed != -(long)(i + 1) * round) {
      mismatch(i, "zero __thread after a sleep", zeroed, -(long)(i + 1) * round);
      r->kept_ok = 0;
    }
    if (!array_is((unsigned char)(i + 1 + round))) {
      mismatch(i, "64 KiB __thread array after a sleep", big[0], i + 1 + round);
      r->kept_ok = 0;
    }
    if (!r->kept_ok) break;
  }
  return NULL;
}

/* errno: each thread sets its own value in its own way, then sleeps and waits at a barrier
 * while the others set theirs; each must find its own value afterwards. */
static pthread_barrier_t barrier;
static int errno_kept[kThreads];

static int set_errno_in_own_way(int i) {
  switch (i % 4) {
    case 0: errno = EDOM; return EDOM;
    case 1: close(-1); return EBADF;
    case 2: open("/nonexistent/greenrun-tls-test", O_RDONLY); return ENOENT;
    default: errno = 1000 + i; return 1000 + i;
  }
}

static void* errno_worker(void* arg) {
  int i = (int)(long)arg;
  errno_address[i] = &errno;
  int want = set_errno_in_own_way(i);
  int ok = errno == want;
  if (!ok) mismatch(i, "errno right after setting it", errno, want);
  usleep(2000 + 500 * (kThreads - i));  /* a park: the others set theirs meanwhile */
  if (errno != want) mismatch(i, "errno after a sleep", errno, want), ok = 0;
  pthread_barrier_wait(&barrier);       /* everyone has set and checked theirs */
  if (errno != want) mismatch(i, "errno after the barrier", errno, want), ok = 0;
  /* Once more, with a different value, while the others are setting theirs again. */
  errno = want + 1;
  usleep(1000);
  if (errno != want + 1) mismatch(i, "errno after a second sleep", errno, want + 1), ok = 0;
  errno_kept[i] = ok;
  return NULL;
}

static int distinct(void** addresses) {
  int n = 0;
  for (int i = 0; i < kThreads; ++i) {
    int seen = 0;
    for (int j = 0; j < i; ++j) seen |= addresses[j] == addresses[i];
    n += !seen;
  }
  return n;
}

int main(void) {
  /* Main's own copies: a new thread must start from the initial image, not from these. */
  initialised = 7;
  zeroed = 8;
  memset(big, 9, sizeof big);

  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; ++i)
    CHECK_RC(pthread_create(&t[i], NULL, tls_worker, (void*)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  int start_ok = 0, kept_ok = 0;
  for (int i = 0; i < kThreads; ++i) start_ok += results[i].start_ok, kept_ok += results[i].kept_ok;
  printf("__thread: %d of %d threads started from the initial values "
         "(42, 0, zeroed 64 KiB array)\n", start_ok, kThreads);
  printf("__thread: %d of %d threads kept their own values across %d sleeps\n", kept_ok, kThreads,
         kRounds);
  printf("__thread: distinct addresses: %d of %d (initialised), %d of %d (64 KiB array)\n",
         distinct(tdata_address), kThreads, distinct(array_address), kThreads);
  int main_kept = initialised == 7 && zeroed == 8 && array_is(9);
  printf("__thread: main kept its own values: %s\n", main_kept ? "yes" : "no");
  if (!main_kept) mismatch(-1, "main's __thread values kept", initialised, 7);

  CHECK_RC(pthread_barrier_init(&barrier, NULL, kThreads), 0);
  errno = ERANGE;
  for (long i = 0; i < kThreads; ++i)
    CHECK_RC(pthread_create(&t[i], NULL, errno_worker, (void*)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  int errno_ok = 0;
  for (int i = 0; i < kThreads; ++i) errno_ok += errno_kept[i];
  printf("errno: %d of %d threads kept their own value across sleeps and a barrier\n", errno_ok,
         kThreads);
  printf("errno: distinct addresses: %d of %d\n", distinct(errno_address), kThreads);
  int main_errno = errno;
  printf("errno: main's is still %s\n", errno_name(main_errno));
  if (main_errno != ERANGE) mismatch(-1, "main's errno", main_errno, ERANGE);
  pthread_barrier_destroy(&barrier);

  report_os_threads();
  if (wrong) printf("%d checks failed\n", wrong);
  return wrong ? 1 : 0;
}
