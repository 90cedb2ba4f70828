/* Every thread is a thread of its own for the calls that take or report a thread id: gettid and
 * syscall(SYS_gettid) agree in each thread and differ between threads; tgkill and tkill run the
 * handler on the thread named; a joined thread's id gives ESRCH (ENOENT under /proc, EINVAL for
 * a timer); the CPU mask, nice value and scheduling policy set in a thread are that thread's,
 * read back by it and by main through its id and pthread_t; prctl(PR_SET_NAME) names the
 * calling thread only (the process's comm stays), as pthread_getname_np and
 * /proc/self/task/<tid>/comm see it, and writing that comm file renames the thread;
 * /proc/thread-self opens in a thread; a timer can be aimed at a thread with SIGEV_THREAD_ID;
 * a thread keeps the name, CPU mask and nice value it had from main when main changes its own. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static const char* yes(int condition) { return condition ? "yes" : "no"; }
/* A -1-and-errno call's outcome: "0", or the errno name. */
static const char* outcome(long rc) { return rc == -1 ? errno_name(errno) : "0"; }

/* Hand-offs between main and one thread at a time, so that the output is deterministic. */
static int step;
static void wait_step(int s) {
  while (__atomic_load_n(&step, __ATOMIC_ACQUIRE) < s) usleep(1000);
}
static void set_step(int s) { __atomic_store_n(&step, s, __ATOMIC_RELEASE); }

static pid_t worker_tid;
static pthread_t start(void* (*body)(void*)) {
  pthread_t t;
  set_step(0);
  CHECK_RC(pthread_create(&t, NULL, body, NULL), 0);
  wait_step(1); /* the worker has published its id */
  return t;
}

/* The thread's id is gone for the kernel once it has been joined (natively, a moment after). */
static void join_and_forget(pthread_t t, pid_t tid) {
  CHECK_RC(pthread_join(t, NULL), 0);
  for (int i = 0; i < 2000 && tgkill(getpid(), tid, 0) == 0; ++i) usleep(1000);
}

/* --- ids ---------------------------------------------------------------------------------- */
static pid_t ids[3], raw_ids[3];
static pthread_barrier_t all_alive;

static void* record_id(void* arg) {
  int i = (int)(long)arg;
  ids[i] = gettid();
  raw_ids[i] = (pid_t)syscall(SYS_gettid);
  note_os_threads();
  pthread_barrier_wait(&all_alive); /* all three alive at once: their ids cannot be reused */
  return NULL;
}

static void check_ids(void) {
  printf("main: gettid() == getpid(): %s, == syscall(SYS_gettid): %s\n", yes(gettid() == getpid()),
         yes(gettid() == (pid_t)syscall(SYS_gettid)));
  pthread_t t[3];
  pthread_barrier_init(&all_alive, NULL, 3);
  for (long i = 0; i < 3; ++i) CHECK_RC(pthread_create(&t[i], NULL, record_id, (void*)i), 0);
  for (int i = 0; i < 3; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&all_alive);
  int agree = 1, distinct = 1;
  for (int i = 0; i < 3; ++i) {
    agree &= ids[i] == raw_ids[i];
    distinct &= ids[i] > 0 && ids[i] != getpid();
    for (int j = 0; j < i; ++j) distinct &= ids[i] != ids[j];
  }
  printf("threads: gettid() == syscall(SYS_gettid) in each: %s; ids distinct, none the process id: %s\n",
         yes(agree), yes(distinct));
}

/* --- signals ------------------------------------------------------------------------------ */
static volatile sig_atomic_t handled_by; /* gettid() in the handler */
static int on_target[3];                  /* per round: the handler ran on the thread named */

static void on_usr1(int sig) {
  (void)sig;
  handled_by = gettid();
}

static void* signalled(void* arg) {
  (void)arg;
  worker_tid = gettid();
  set_step(1);
  for (int round = 0; round < 3; ++round) {
    while (!handled_by) usleep(1000); /* main signals this thread while it sleeps */
    on_target[round] = handled_by == gettid();
    handled_by = 0;
    set_step(2 + round);
  }
  wait_step(10);
  return NULL;
}

static void check_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  pthread_t t = start(signalled);
  pid_t tid = worker_tid, pid = getpid();
  printf("tgkill(pid, tid, SIGUSR1): %s", outcome(tgkill(pid, tid, SIGUSR1)));
  wait_step(2);
  printf(", the handler ran on that thread: %s\n", yes(on_target[0]));
  printf("syscall(SYS_tkill, tid, SIGUSR1): %s", outcome(syscall(SYS_tkill, tid, SIGUSR1)));
  wait_step(3);
  printf(", the handler ran on that thread: %s\n", yes(on_target[1]));
  printf("syscall(SYS_tgkill, pid, tid, SIGUSR1): %s", outcome(syscall(SYS_tgkill, pid, tid, SIGUSR1)));
  wait_step(4);
  printf(", the handler ran on that thread: %s\n", yes(on_target[2]));
  printf("tgkill(pid, tid, 0): %s; tkill(tid, 0): %s; tgkill(pid, pid, 0): %s\n",
         outcome(tgkill(pid, tid, 0)), outcome(syscall(SYS_tkill, tid, 0)), outcome(tgkill(pid, pid, 0)));
  printf("tgkill(pid, tid, 65): %s; tgkill(pid, tid, -1): %s; tgkill(pid, 0, 0): %s\n",
         outcome(tgkill(pid, tid, 65)), outcome(tgkill(pid, tid, -1)), outcome(tgkill(pid, 0, 0)));
  printf("tgkill(parent's pid, tid, 0): %s\n", outcome(tgkill(getppid(), tid, 0)));
  set_step(10);
  join_and_forget(t, tid);
  printf("joined: tgkill(pid, tid, 0): %s; tkill(tid, SIGUSR1): %s\n", outcome(tgkill(pid, tid, 0)),
         outcome(syscall(SYS_tkill, tid, SIGUSR1)));
  cpu_set_t set;
  struct sched_param param;
  errno = 0;
  printf("joined: sched_getaffinity: %s; sched_getscheduler: %s; sched_getparam: %s; getpriority: %s\n",
         outcome(sched_getaffinity(tid, sizeof set, &set)), outcome(sched_getscheduler(tid)),
         outcome(sched_getparam(tid, &param)), outcome(getpriority(PRIO_PROCESS, tid)));
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  int fd = open(path, O_RDONLY);
  printf("joined: open(/proc/self/task/<tid>/stat): %s\n", fd >= 0 ? "opened" : errno_name(errno));
  if (fd >= 0) close(fd);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGUSR1;
  ev.sigev_notify_thread_id = tid;
  timer_t timer;
  printf("joined: timer_create(SIGEV_THREAD_ID): %s\n", outcome(timer_create(CLOCK_MONOTONIC, &ev, &timer)));
}

/* --- CPU masks ---------------------------------------------------------------------------- */
static cpu_set_t initial, one_cpu;
static long raw_bytes;

static void* narrows_itself(void* arg) {
  (void)arg;
  worker_tid = gettid();
  cpu_set_t set;
  CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  printf("  thread: starts with main's mask: %s\n", yes(CPU_EQUAL(&set, &initial)));
  printf("  thread: sched_setaffinity(0, one CPU): %s\n", outcome(sched_setaffinity(0, sizeof one_cpu, &one_cpu)));
  CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  printf("  thread: reads back that one CPU: %s\n", yes(CPU_EQUAL(&set, &one_cpu)));
  printf("  thread: raw sched_getaffinity returns main's byte count: %s\n",
         yes(syscall(SYS_sched_getaffinity, 0, sizeof set, &set) == raw_bytes));
  set_step(1);
  wait_step(2);
  return NULL;
}

static void* stays(void* arg) {
  (void)arg;
  worker_tid = gettid();
  set_step(1);
  wait_step(2);
  return NULL;
}

static void check_affinity(void) {
  CHECK_EQ(sched_getaffinity(0, sizeof initial, &initial), 0);
  raw_bytes = syscall(SYS_sched_getaffinity, 0, sizeof initial, &initial);
  CPU_ZERO(&one_cpu);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &initial)) {
      CPU_SET(cpu, &one_cpu);
      break;
    }
  pthread_t other = start(stays);
  pid_t other_tid = worker_tid;
  pthread_t t = start(narrows_itself);
  pid_t tid = worker_tid;
  cpu_set_t set;
  CHECK_EQ(sched_getaffinity(tid, sizeof set, &set), 0);
  printf("main: sched_getaffinity(tid) is its one CPU: %s\n", yes(CPU_EQUAL(&set, &one_cpu)));
  CHECK_RC(pthread_getaffinity_np(t, sizeof set, &set), 0);
  printf("main: pthread_getaffinity_np(t) agrees: %s\n", yes(CPU_EQUAL(&set, &one_cpu)));
  CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  printf("main: its own mask unchanged: %s\n", yes(CPU_EQUAL(&set, &initial)));
  CHECK_EQ(sched_getaffinity(other_tid, sizeof set, &set), 0);
  printf("main: another thread's mask unchanged: %s\n", yes(CPU_EQUAL(&set, &initial)));
  printf("main: raw sched_getaffinity(tid) returns the same byte count: %s\n",
         yes(syscall(SYS_sched_getaffinity, tid, sizeof set, &set) == raw_bytes));
  printf("main: pthread_setaffinity_np(t, main's mask): %s\n",
         errno_name(pthread_setaffinity_np(t, sizeof initial, &initial)));
  CHECK_EQ(sched_getaffinity(tid, sizeof set, &set), 0);
  printf("main: sched_getaffinity(tid) sees it: %s\n", yes(CPU_EQUAL(&set, &initial)));
  cpu_set_t empty;
  CPU_ZERO(&empty);
  printf("main: sched_setaffinity(tid, empty): %s; sched_getaffinity(tid, 1 byte): %s\n",
         outcome(sched_setaffinity(tid, sizeof empty, &empty)), outcome(sched_getaffinity(tid, 1, &set)));
  set_step(2);
  CHECK_RC(pthread_join(t, NULL), 0);
  CHECK_RC(pthread_join(other, NULL), 0);
}

/* --- nice values and scheduling policies -------------------------------------------------- */
static int main_nice, raised_nice;

static void* reprioritises_itself(void* arg) {
  (void)arg;
  worker_tid = gettid();
  errno = 0;
  printf("  thread: starts with main's nice value: %s\n", yes(getpriority(PRIO_PROCESS, 0) == main_nice));
  printf("  thread: setpriority(0, nice + 3): %s\n", outcome(setpriority(PRIO_PROCESS, 0, raised_nice)));
  printf("  thread: getpriority(0) reads it back: %s\n", yes(getpriority(PRIO_PROCESS, 0) == raised_nice));
  printf("  thread: raw getpriority gives 20 - nice: %s\n",
         yes(syscall(SYS_getpriority, PRIO_PROCESS, 0) == 20 - raised_nice));
  struct sched_param param = {0};
  printf("  thread: sched_getscheduler(0) is SCHED_OTHER: %s\n", yes(sched_getscheduler(0) == SCHED_OTHER));
  printf("  thread: sched_setscheduler(0, SCHED_BATCH): %s\n", outcome(sched_setscheduler(0, SCHED_BATCH, &param)));
  printf("  thread: sched_getscheduler(0) is SCHED_BATCH: %s\n", yes(sched_getscheduler(0) == SCHED_BATCH));
  set_step(1);
  wait_step(2);
  return NULL;
}

static void check_priorities(void) {
  errno = 0;
  main_nice = getpriority(PRIO_PROCESS, 0);
  raised_nice = main_nice + 3 > 19 ? 19 : main_nice + 3;
  pthread_t t = start(reprioritises_itself);
  pid_t tid = worker_tid;
  errno = 0;
  printf("main: getpriority(tid) is the thread's: %s; its own unchanged: %s\n",
         yes(getpriority(PRIO_PROCESS, tid) == raised_nice), yes(getpriority(PRIO_PROCESS, 0) == main_nice));
  /* (Calls in sequence: printf's arguments are evaluated in no particular order.) */
  const char* rc = outcome(setpriority(PRIO_PROCESS, tid, 100));
  printf("main: setpriority(tid, 100): %s, read back as 19: %s\n", rc, yes(getpriority(PRIO_PROCESS, tid) == 19));
  printf("main: setpriority(tid, main's nice) (lower: needs privilege): %s\n",
         outcome(setpriority(PRIO_PROCESS, tid, main_nice)));
  printf("main: getpriority(5, 0): %s\n", outcome(getpriority(5, 0)));

  struct sched_param param = {0};
  int policy = -1;
  printf("main: sched_getscheduler(tid) is SCHED_BATCH: %s\n", yes(sched_getscheduler(tid) == SCHED_BATCH));
  CHECK_RC(pthread_getschedparam(t, &policy, &param), 0);
  printf("main: pthread_getschedparam(t) agrees: %s, priority %d\n", yes(policy == SCHED_BATCH), param.sched_priority);
  printf("main: sched_getscheduler(0) still SCHED_OTHER: %s\n", yes(sched_getscheduler(0) == SCHED_OTHER));
  param.sched_priority = 5;
  printf("main: sched_setscheduler(tid, SCHED_OTHER, 5): %s\n", outcome(sched_setscheduler(tid, SCHED_OTHER, &param)));
  param.sched_priority = 0;
  printf("main: policy 99: %s; policy -1: %s; SCHED_DEADLINE: %s\n", outcome(sched_setscheduler(tid, 99, &param)),
         outcome(sched_setscheduler(tid, -1, &param)), outcome(sched_setscheduler(tid, SCHED_DEADLINE, &param)));
  rc = outcome(sched_setparam(tid, &param));
  param.sched_priority = -1;
  printf("main: sched_setparam(tid, 0): %s; sched_getparam(tid): %s", rc, outcome(sched_getparam(tid, &param)));
  printf(", priority %d\n", param.sched_priority);
  rc = outcome(sched_setscheduler(tid, SCHED_IDLE, &param));
  printf("main: sched_setscheduler(tid, SCHED_IDLE): %s; is SCHED_IDLE: %s\n", rc,
         yes(sched_getscheduler(tid) == SCHED_IDLE));
  rc = errno_name(pthread_setschedparam(t, SCHED_BATCH | SCHED_RESET_ON_FORK, &param));
  printf("main: pthread_setschedparam(t, SCHED_BATCH | SCHED_RESET_ON_FORK): %s; sched_getscheduler(tid) "
         "reports both: %s\n", rc, yes(sched_getscheduler(tid) == (SCHED_BATCH | SCHED_RESET_ON_FORK)));
  printf("main: back to SCHED_OTHER (clears SCHED_RESET_ON_FORK: needs privilege): %s\n",
         outcome(sched_setscheduler(tid, SCHED_OTHER, &param)));
  set_step(2);
  CHECK_RC(pthread_join(t, NULL), 0);
}

/* --- names -------------------------------------------------------------------------------- */
static char process_comm[32]; /* /proc/self/comm before any thread renamed itself */

static void read_file(const char* path, char* out, size_t size) {
  out[0] = '\0';
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    snprintf(out, size, "(%s)", errno_name(errno));
    return;
  }
  ssize_t n = read(fd, out, size - 1);
  out[n > 0 ? n : 0] = '\0';
  close(fd);
}

static void* renames_itself(void* arg) {
  (void)arg;
  worker_tid = gettid();
  char name[16], comm[32];
  prctl(PR_GET_NAME, name);
  read_file("/proc/self/comm", comm, sizeof comm);
  printf("  thread: starts with the process's name: %s\n", yes(strncmp(comm, name, strlen(name)) == 0));
  printf("  thread: prctl(PR_SET_NAME, long name): %s\n", outcome(prctl(PR_SET_NAME, "a-name-longer-than-fifteen")));
  prctl(PR_GET_NAME, name);
  printf("  thread: prctl(PR_GET_NAME): \"%s\"\n", name);
  printf("  thread: prctl(PR_SET_NAME, \"renamed-worker\"): %s\n", outcome(prctl(PR_SET_NAME, "renamed-worker")));
  prctl(PR_GET_NAME, name);
  printf("  thread: prctl(PR_GET_NAME): \"%s\"\n", name);
  read_file("/proc/thread-self/comm", comm, sizeof comm);
  printf("  thread: /proc/thread-self/comm: \"%.*s\\n\"\n", (int)strcspn(comm, "\n"), comm);
  read_file("/proc/self/comm", comm, sizeof comm);
  printf("  thread: the process's comm unchanged: %s\n", yes(strcmp(comm, process_comm) == 0));
  set_step(1);
  wait_step(2);
  prctl(PR_GET_NAME, name);
  printf("  thread: after main wrote its comm file, prctl(PR_GET_NAME): \"%s\"\n", name);
  set_step(3);
  wait_step(4);
  return NULL;
}

static void check_names(void) {
  read_file("/proc/self/comm", process_comm, sizeof process_comm);
  pthread_t t = start(renames_itself);
  wait_step(1);
  pid_t tid = worker_tid;
  char name[32], path[64], comm[32];
  CHECK_RC(pthread_getname_np(t, name, sizeof name), 0);
  printf("main: pthread_getname_np(t): \"%s\"\n", name);
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
  read_file(path, comm, sizeof comm);
  printf("main: /proc/self/task/<tid>/comm is the name and a newline: %s\n",
         yes(strncmp(comm, name, strlen(name)) == 0 && strcmp(comm + strlen(name), "\n") == 0));
  snprintf(path, sizeof path, "/proc/%d/task/%d/comm", getpid(), tid);
  read_file(path, comm, sizeof comm);
  printf("main: /proc/<pid>/task/<tid>/comm too: %s\n", yes(strncmp(comm, name, strlen(name)) == 0));
  read_file("/proc/self/comm", comm, sizeof comm);
  printf("main: the process's comm unchanged: %s\n", yes(strcmp(comm, process_comm) == 0));

  snprintf(path, sizeof path, "/proc/self/task/%d/comm", tid);
  int fd = open(path, O_WRONLY);
  printf("main: write \"via-comm-file\" to its comm: %zd\n", fd >= 0 ? write(fd, "via-comm-file", 13) : -1);
  if (fd >= 0) close(fd);
  CHECK_RC(pthread_getname_np(t, name, sizeof name), 0);
  printf("main: pthread_getname_np(t): \"%s\"\n", name);
  set_step(2);
  wait_step(3);
  FILE* f = fopen(path, "w");
  printf("main: fopen(comm, \"w\"): %s\n", f ? "0" : errno_name(errno));
  if (f) {
    fputs("via-fopen", f);
    fclose(f);
  }
  CHECK_RC(pthread_getname_np(t, name, sizeof name), 0);
  printf("main: pthread_getname_np(t): \"%s\"\n", name);
  f = fopen(path, "r");
  printf("main: fopen(comm, \"r\") then fgets: \"%s\"\n",
         f && fgets(comm, sizeof comm, f) ? strtok(comm, "\n") : "(failed)");
  if (f) fclose(f);
  read_file("/proc/self/comm", comm, sizeof comm);
  printf("main: the process's comm unchanged: %s\n", yes(strcmp(comm, process_comm) == 0));
  set_step(4);
  CHECK_RC(pthread_join(t, NULL), 0);
}

/* --- /proc/thread-self, and a timer aimed at a thread ------------------------------------- */
static volatile sig_atomic_t timer_fired;
static void on_usr2(int sig) {
  (void)sig;
  timer_fired = 1;
}

static int looks_like_stat(const char* text) {
  size_t digits = strspn(text, "0123456789");
  return digits > 0 && strncmp(text + digits, " (", 2) == 0;
}

static void* uses_proc_and_timer(void* arg) {
  (void)arg;
  worker_tid = gettid();
  char text[256], path[64];
  read_file("/proc/thread-self/stat", text, sizeof text);
  printf("  thread: open(/proc/thread-self/stat) reads a stat line: %s\n", yes(looks_like_stat(text)));
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", gettid());
  read_file(path, text, sizeof text);
  printf("  thread: open(/proc/self/task/<own tid>/stat) too: %s\n", yes(looks_like_stat(text)));
  int fd = openat(AT_FDCWD, "/proc/thread-self/status", O_RDONLY);
  printf("  thread: openat(/proc/thread-self/status): %s\n", fd >= 0 ? "0" : errno_name(errno));
  if (fd >= 0) close(fd);
  FILE* f = fopen("/proc/thread-self/stat", "r");
  printf("  thread: fopen(/proc/thread-self/stat): %s\n", f ? "0" : errno_name(errno));
  if (f) fclose(f);
  set_step(1);
  for (int i = 0; i < 2000 && !timer_fired; ++i) usleep(1000);
  printf("  thread: the timer aimed at it fired: %s\n", yes(timer_fired));
  return NULL;
}

static void check_proc_and_timer(void) {
  char text[256];
  read_file("/proc/thread-self/stat", text, sizeof text);
  printf("main: open(/proc/thread-self/stat) reads a stat line: %s\n", yes(looks_like_stat(text)));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr2;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
  pthread_t t = start(uses_proc_and_timer);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = SIGUSR2;
  ev.sigev_notify_thread_id = worker_tid;
  timer_t timer;
  int rc = timer_create(CLOCK_MONOTONIC, &ev, &timer);
  printf("main: timer_create(SIGEV_THREAD_ID, the thread's id): %s\n", outcome(rc));
  if (rc == 0) {
    struct itimerspec in = {{0, 0}, {0, 20 * 1000 * 1000}};
    CHECK_EQ(timer_settime(timer, 0, &in, NULL), 0);
  }
  CHECK_RC(pthread_join(t, NULL), 0);
  if (rc == 0) timer_delete(timer);
}

/* --- what a thread has from its creator stays when the creator changes its own --------------- */
static char inherited_name[16];

static void* keeps_inherited(void* arg) {
  (void)arg;
  worker_tid = gettid();
  prctl(PR_GET_NAME, inherited_name);
  set_step(1);
  wait_step(2);
  char name[16];
  cpu_set_t set;
  prctl(PR_GET_NAME, name);
  CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  printf("  thread: keeps its name: %s, its CPU mask: %s, its nice value: %s\n",
         yes(strcmp(name, inherited_name) == 0), yes(CPU_EQUAL(&set, &initial)), yes(nice == main_nice));
  return NULL;
}

/* Last: main renames itself, narrows its CPU mask and raises its nice value for good. */
static void check_inherited(void) {
  errno = 0;
  main_nice = getpriority(PRIO_PROCESS, 0);
  pthread_t t = start(keeps_inherited);
  printf("main: prctl(PR_SET_NAME) on itself: %s\n", outcome(prctl(PR_SET_NAME, "main-renamed")));
  printf("main: sched_setaffinity(0, one CPU): %s\n", outcome(sched_setaffinity(0, sizeof one_cpu, &one_cpu)));
  printf("main: setpriority(0, nice + 1): %s\n",
         outcome(setpriority(PRIO_PROCESS, 0, main_nice < 19 ? main_nice + 1 : 19)));
  set_step(2);
  CHECK_RC(pthread_join(t, NULL), 0);
}

int main(void) {
  check_ids();
  check_signals();
  check_affinity();
  check_priorities();
  check_names();
  check_proc_and_timer();
  check_inherited();
  report_os_threads();
  return 0;
}
