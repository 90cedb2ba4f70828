/* Each thread is a thread to the kernel's interfaces too: gettid() and syscall(SYS_gettid)
 * agree within a thread, differ between threads and from getpid() (main's equals getpid());
 * tgkill to a sleeping thread runs the handler on that thread, and to a thread that has gone
 * fails with ESRCH; sched_getaffinity accepts another live thread's tid; a thread renames
 * itself with prctl(PR_SET_NAME) without renaming the process, and main reads the new name
 * with pthread_getname_np. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { kThreads = 8 };

static int wrong;

static void mismatch(const char* what, long got, long want) {
  fprintf(stderr, "%s: got %ld, want %ld\n", what, got, want);
  ++wrong;
}

static void wait_for(int* flag) {
  for (int i = 0; i < 10000 && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); ++i) usleep(500);
}

/* gettid and syscall(SYS_gettid), while all kThreads threads are alive at once. */
static pthread_barrier_t all_alive;
static pid_t by_gettid[kThreads], by_syscall[kThreads];

static void* id_worker(void* arg) {
  int i = (int)(long)arg;
  by_gettid[i] = gettid();
  usleep(1000);
  by_syscall[i] = (pid_t)syscall(SYS_gettid);
  note_os_threads();
  pthread_barrier_wait(&all_alive);
  if (gettid() != by_gettid[i]) mismatch("gettid() after a barrier", gettid(), by_gettid[i]);
  return NULL;
}

static void thread_ids(void) {
  CHECK_RC(pthread_barrier_init(&all_alive, NULL, kThreads), 0);
  pthread_t t[kThreads];
  for (long i = 0; i < kThreads; ++i) CHECK_RC(pthread_create(&t[i], NULL, id_worker, (void*)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&all_alive);

  int agree = 0, distinct = 0, is_pid = 0;
  for (int i = 0; i < kThreads; ++i) {
    agree += by_gettid[i] == by_syscall[i];
    is_pid += by_gettid[i] == getpid();
    int seen = 0;
    for (int j = 0; j < i; ++j) seen |= by_gettid[j] == by_gettid[i];
    distinct += !seen;
  }
  printf("threads: %d; gettid() == syscall(SYS_gettid) in %d; distinct tids %d; "
         "tid == getpid() in %d\n", kThreads, agree, distinct, is_pid);
  if (agree != kThreads) mismatch("threads whose gettid() and SYS_gettid agree", agree, kThreads);
  if (distinct != kThreads) mismatch("distinct tids", distinct, kThreads);
  if (is_pid != 0) mismatch("threads whose tid is the pid", is_pid, 0);
  int main_is_pid = gettid() == getpid() && syscall(SYS_gettid) == getpid();
  printf("main: gettid() == syscall(SYS_gettid) == getpid(): %s\n", main_is_pid ? "yes" : "no");
  if (!main_is_pid) mismatch("main's gettid() == getpid()", gettid(), getpid());
}

/* tgkill: the handler records where it ran. */
static volatile sig_atomic_t handled;
static pid_t handled_tid;
static pthread_t handled_self;
static pid_t target_tid;
static int target_ready, target_release;

static void on_usr1(int sig) {
  (void)sig;
  handled_tid = gettid();
  handled_self = pthread_self();
  handled = 1;
}

static void* target(void* arg) {
  (void)arg;
  __atomic_store_n(&target_tid, gettid(), __ATOMIC_RELEASE);
  __atomic_store_n(&target_ready, 1, __ATOMIC_RELEASE);
  /* Asleep until main has finished with this thread (the signal interrupts one usleep). */
  wait_for(&target_release);
  return NULL;
}

static int same_affinity(pid_t tid) {
  cpu_set_t mine, theirs;
  CPU_ZERO(&mine);
  CPU_ZERO(&theirs);
  CHECK_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
  int rc = sched_getaffinity(tid, sizeof theirs, &theirs);
  printf("sched_getaffinity(another live thread's tid): %s\n", rc == 0 ? "0" : errno_name(errno));
  if (rc != 0) mismatch("sched_getaffinity(other tid)", rc, 0);
  return rc == 0 && CPU_EQUAL(&mine, &theirs);
}

static const char* rc_name(int rc) { return rc == 0 ? "0" : errno_name(errno); }

static void signals_and_affinity(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);

  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, target, NULL), 0);
  wait_for(&target_ready);
  pid_t tid = __atomic_load_n(&target_tid, __ATOMIC_ACQUIRE);
  usleep(20000);  /* let it get into its sleep */

  printf("tgkill(pid, live thread, 0): %s\n", rc_name(tgkill(getpid(), tid, 0)));
  int rc = tgkill(getpid(), tid, SIGUSR1);
  printf("tgkill(pid, sleeping thread, SIGUSR1): %s\n", rc_name(rc));
  for (int i = 0; i < 10000 && !handled; ++i) usleep(500);
  int on_target = handled && handled_tid == tid && pthread_equal(handled_self, t);
  printf("handler ran: %s; on the target thread (its gettid() and pthread_self()): %s\n",
         handled ? "yes" : "no", on_target ? "yes" : "no");
  if (handled_tid != tid) mismatch("the handler's gettid() is the target's", handled_tid, tid);
  if (!pthread_equal(handled_self, t)) mismatch("the handler's pthread_self() is the target", 0, 1);

  int same = same_affinity(tid);
  printf("its affinity equals main's: %s\n", same ? "yes" : "no");
  if (!same) mismatch("same affinity", same, 1);

  __atomic_store_n(&target_release, 1, __ATOMIC_RELEASE);
  CHECK_RC(pthread_join(t, NULL), 0);
  /* After the join the kernel may take a moment to release the task. */
  for (int i = 0; i < 2000 && tgkill(getpid(), tid, 0) == 0; ++i) usleep(500);
  rc = tgkill(getpid(), tid, SIGUSR1);
  printf("tgkill(pid, joined thread's tid, SIGUSR1): %s\n", rc_name(rc));
  if (!(rc == -1 && errno == ESRCH)) mismatch("tgkill to a joined thread fails (ESRCH)", rc, -1);
  errno = 0;
  rc = tgkill(getpid(), INT_MAX, SIGUSR1);
  printf("tgkill(pid, INT_MAX, SIGUSR1): %s\n", rc_name(rc));
  if (!(rc == -1 && errno == ESRCH)) mismatch("tgkill to tid INT_MAX fails (ESRCH)", rc, -1);
}

/* Names: prctl(PR_SET_NAME) names the calling thread only. */
static int named, named_release;
static char name_seen[32];

static void* namer(void* arg) {
  (void)arg;
  CHECK_EQ(prctl(PR_SET_NAME, "renamed-thread", 0, 0, 0), 0);
  usleep(1000);
  CHECK_EQ(prctl(PR_GET_NAME, name_seen, 0, 0, 0), 0);
  __atomic_store_n(&named, 1, __ATOMIC_RELEASE);
  wait_for(&named_release);
  return NULL;
}

static void read_comm(char* buf, size_t size) {
  FILE* f = fopen("/proc/self/comm", "r");
  CHECK_EQ(f != NULL, 1);
  if (!fgets(buf, (int)size, f)) buf[0] = '\0';
  fclose(f);
  buf[strcspn(buf, "\n")] = '\0';
}

static void names(const char* program) {
  char before[64], after[64], main_name[32], name[32];
  read_comm(before, sizeof before);
  /* The kernel keeps the first 15 characters of the executable's name. */
  const char* base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
  int is_program = strncmp(before, base, 15) == 0;
  printf("main's /proc/self/comm is the program's name: %s\n", is_program ? "yes" : "no");
  if (!is_program) mismatch("comm is the program's name", 0, 1);

  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, namer, NULL), 0);
  wait_for(&named);
  printf("in the thread: prctl(PR_GET_NAME) after PR_SET_NAME: \"%s\"\n", name_seen);
  if (strcmp(name_seen, "renamed-thread") != 0) mismatch("PR_GET_NAME in the thread", 0, 1);

  read_comm(after, sizeof after);
  int unchanged = strcmp(before, after) == 0;
  printf("main's /proc/self/comm after the thread named itself: %s\n",
         unchanged ? "unchanged" : "changed");
  if (!unchanged) fprintf(stderr, "/proc/self/comm: \"%s\", then \"%s\"\n", before, after), ++wrong;
  CHECK_EQ(prctl(PR_GET_NAME, main_name, 0, 0, 0), 0);
  int main_unchanged = strcmp(main_name, before) == 0;
  printf("main's prctl(PR_GET_NAME): %s\n", main_unchanged ? "unchanged" : "changed");
  if (!main_unchanged) fprintf(stderr, "main's PR_GET_NAME: \"%s\"\n", main_name), ++wrong;

  int rc = pthread_getname_np(t, name, sizeof name);
  printf("pthread_getname_np(thread) from main: %s \"%s\"\n", errno_name(rc), rc == 0 ? name : "");
  if (rc != 0 || strcmp(name, "renamed-thread") != 0)
    fprintf(stderr, "pthread_getname_np: %s \"%s\", want 0 \"renamed-thread\"\n", errno_name(rc),
            rc == 0 ? name : ""), ++wrong;

  __atomic_store_n(&named_release, 1, __ATOMIC_RELEASE);
  CHECK_RC(pthread_join(t, NULL), 0);
}

int main(int argc, char** argv) {
  (void)argc;
  thread_ids();
  signals_and_affinity();
  names(argv[0]);
  report_os_threads();
  if (wrong) printf("%d checks failed\n", wrong);
  return wrong ? 1 : 0;
}
