/* The stack dump when SIGQUIT was inherited as ignored, as every `prog &` of a shell script gets
 * it: the runner starts this through `sh -c 'trap "" QUIT; exec ...'`. The program must see
 * SIG_IGN throughout and so must every child (fork+execv, posix_spawn, system, popen), which
 * reports its SIGQUIT disposition from /proc/self/status. It sends itself SIGQUIT three times:
 * while ignored (natively nothing; under the preload the stack dump), with a handler of its own
 * (the handler runs, no dump) and ignored again (natively nothing; the dump again). The "phase"
 * lines on stderr let the runner tell which dump belongs where.
 * Child mode: dump_ignored report LABEL. */
#include "progs.h" /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int pipe_fds[2];
static char self_path[4096];
static volatile sig_atomic_t handled;
static volatile int after_call; /* keeps the read below from becoming a tail call */

static const char* disposition(void) {
  struct sigaction old;
  CHECK_EQ(sigaction(SIGQUIT, NULL, &old), 0);
  if (old.sa_handler == SIG_IGN) return "SIG_IGN";
  if (old.sa_handler == SIG_DFL) return "SIG_DFL";
  return "a handler";
}

/* The kernel's view, as the child sees it after exec. */
static int report(const char* label) {
  FILE* f = fopen("/proc/self/status", "r");
  CHECK_EQ(f != NULL, 1);
  char line[256];
  unsigned long long ignored = 0, caught = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "SigIgn:", 7) == 0) ignored = strtoull(line + 7, NULL, 16);
    if (strncmp(line, "SigCgt:", 7) == 0) caught = strtoull(line + 7, NULL, 16);
  }
  fclose(f);
  unsigned long long bit = 1ull << (SIGQUIT - 1);
  printf("%s: SIGQUIT %s\n", label,
         (ignored & bit) ? "ignored" : (caught & bit) ? "caught" : "default");
  return 0;
}

__attribute__((noinline)) void read_in_named_function(void) {
  char c;
  CHECK_EQ(read(pipe_fds[0], &c, 1), 1);
  after_call++;
}

static void* reader(void* arg) {
  (void)arg;
  printf("reader sees %s\n", disposition());
  read_in_named_function();
  return NULL;
}

static void on_quit(int sig) { handled = sig; }

static void run_children(const char* when) {
  char label[64], command[4200];
  snprintf(label, sizeof label, "%s, execv", when);
  pid_t pid = fork();
  if (pid == 0) {
    execv(self_path, (char* const[]){self_path, "report", label, NULL});
    _exit(98);
  }
  CHECK_EQ(waitpid(pid, NULL, 0), pid);
  snprintf(label, sizeof label, "%s, posix_spawn", when);
  char* const argv[] = {self_path, "report", label, NULL};
  CHECK_RC(posix_spawn(&pid, self_path, NULL, NULL, argv, environ), 0);
  CHECK_EQ(waitpid(pid, NULL, 0), pid);
  snprintf(command, sizeof command, "'%s' report '%s, system'", self_path, when);
  CHECK_EQ(system(command), 0);
  snprintf(command, sizeof command, "'%s' report '%s, popen'", self_path, when);
  FILE* p = popen(command, "r");
  CHECK_EQ(p != NULL, 1);
  char line[256];
  while (fgets(line, sizeof line, p)) fputs(line, stdout);
  CHECK_EQ(pclose(p), 0);
}

static void phase(const char* name) {
  fflush(stdout);
  fprintf(stderr, "phase: %s\n", name);
  fflush(stderr);
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "report") == 0) return report(argv[2]);
  ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  CHECK_EQ(n > 0, 1);
  self_path[n] = '\0';
  printf("at start: %s\n", disposition());
  CHECK_EQ(pipe(pipe_fds), 0);
  pthread_t thread;
  CHECK_RC(pthread_create(&thread, NULL, reader, NULL), 0);
  pthread_setname_np(thread, "reader");
  usleep(100 * 1000); /* the reader parks in read() */
  printf("with a thread: %s\n", disposition());

  phase("ignored");
  CHECK_EQ(kill(getpid(), SIGQUIT), 0);
  usleep(300 * 1000); /* under the preload, the dump is printed while main sleeps */
  printf("after SIGQUIT: %s\n", disposition());
  run_children("ignored");

  phase("handler");
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = on_quit;
  sigemptyset(&act.sa_mask);
  CHECK_EQ(sigaction(SIGQUIT, &act, &old), 0);
  printf("replaced %s\n", old.sa_handler == SIG_IGN ? "SIG_IGN" : "something else");
  CHECK_EQ(kill(getpid(), SIGQUIT), 0);
  for (int i = 0; i < 200 && !handled; ++i) usleep(10 * 1000);
  printf("handler ran: %d\n", handled == SIGQUIT);
  printf("with the handler: %s\n", disposition());
  run_children("handled");

  CHECK_EQ(signal(SIGQUIT, SIG_IGN) == on_quit, 1);
  phase("ignored again");
  printf("ignored again: %s\n", disposition());
  CHECK_EQ(kill(getpid(), SIGQUIT), 0);
  usleep(300 * 1000);
  run_children("ignored again");

  phase("end");
  CHECK_EQ(write(pipe_fds[1], "x", 1), 1);
  CHECK_RC(pthread_join(thread, NULL), 0);
  printf("done\n");
  return 0;
}
