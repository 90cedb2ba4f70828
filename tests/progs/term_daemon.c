/* A daemon's main loop ended by `kill -TERM` from another process (a shell this program
 * starts), as rsyslogd's is. Two patterns, one per mode:
 *   select       workers block SIGTERM and sleep; main leaves it unblocked and waits in select():
 *                the kernel can only deliver it to main.
 *   pselect, ppoll, epoll_pwait, sigsuspend
 *                main keeps SIGTERM blocked except inside the wait, whose temporary mask
 *                unblocks it; a worker that does not block SIGTERM sleeps meanwhile. The kernel
 *                gives a process-directed signal to the main thread when it accepts it, so the
 *                handler runs on main and its wait ends with EINTR.
 * Prints how main's wait ended, on which thread the handler ran and that the mask is back; a
 * SIGTERM that never reaches main ends the run with SIGALRM after 4 s. */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

extern char** environ;

static pthread_t main_thread;
static volatile sig_atomic_t stop;
static volatile sig_atomic_t handled_on_main;
static volatile int working = 1;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
  handled_on_main = pthread_equal(pthread_self(), main_thread);
}

/* A queue worker waiting for work; with `block`, SIGTERM blocked as daemons' workers do. */
static void* worker(void* block) {
  if (block) {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, NULL);
  }
  while (working) usleep(20000);
  return NULL;
}

/* `kill -TERM` of this process from a shell, once it has had time to reach its wait. */
static pid_t send_term_later(void) {
  char command[64];
  snprintf(command, sizeof command, "sleep 0.2; kill -TERM %d", (int)getpid());
  char* argv[] = {"/bin/sh", "-c", command, NULL};
  pid_t pid;
  CHECK_RC(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0);
  return pid;
}

/* One wait of main's loop (10 s at most, sigsuspend unbounded); returns its result with errno set as it left it. */
static int wait_once(const char* mode, const sigset_t* during, int fd, int ep) {
  struct timespec ten = {10, 0};
  if (strcmp(mode, "select") == 0) {
    struct timeval tv = {10, 0};
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    return select(fd + 1, &r, NULL, NULL, &tv);
  }
  if (strcmp(mode, "pselect") == 0) {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    return pselect(fd + 1, &r, NULL, NULL, &ten, during);
  }
  if (strcmp(mode, "ppoll") == 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return ppoll(&p, 1, &ten, during);
  }
  if (strcmp(mode, "epoll_pwait") == 0) {
    struct epoll_event ev;
    return epoll_pwait(ep, &ev, 1, 10000, during);
  }
  return sigsuspend(during);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  const char* modes[] = {"select", "pselect", "ppoll", "epoll_pwait", "sigsuspend"};
  int known = 0;
  for (size_t i = 0; i < sizeof modes / sizeof *modes; ++i) known |= strcmp(mode, modes[i]) == 0;
  if (!known) {
    fprintf(stderr, "usage: term_daemon select|pselect|ppoll|epoll_pwait|sigsuspend\n");
    return 2;
  }
  int masked_wait = strcmp(mode, "select") != 0;
  main_thread = pthread_self();
  struct sigaction sa = {.sa_handler = on_term};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);

  /* select: two workers that block SIGTERM. Masked waits: one that does not. */
  pthread_t workers[2];
  int n_workers = masked_wait ? 1 : 2;
  for (int i = 0; i < n_workers; ++i)
    CHECK_RC(pthread_create(&workers[i], NULL, worker, masked_wait ? NULL : (void*)1), 0);

  int fds[2];
  CHECK_EQ(pipe(fds), 0);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev), 0);

  sigset_t term, during;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pid_t killer = send_term_later();
  /* A SIGTERM that never arrives ends the run with SIGALRM instead of a hang. */
  alarm(4);
  int waits = 0, rc = 0, error = 0;
  while (!stop) {
    if (masked_wait) pthread_sigmask(SIG_BLOCK, &term, &during);  /* during: SIGTERM open */
    rc = wait_once(mode, &during, fds[0], ep);
    error = rc < 0 ? errno : 0;
    ++waits;
    if (masked_wait) {
      sigset_t now;
      pthread_sigmask(SIG_SETMASK, NULL, &now);
      printf("%s: SIGTERM blocked again after the wait: %s\n", mode,
             sigismember(&now, SIGTERM) ? "yes" : "no");
      pthread_sigmask(SIG_UNBLOCK, &term, NULL);
    }
  }
  printf("%s: waits %d, last rc=%d errno=%s, handler ran %s\n", mode, waits, rc,
         errno_name(error), stop ? (handled_on_main ? "on main" : "on another thread") : "never");
  int status;
  waitpid(killer, &status, 0);
  printf("kill -TERM: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  working = 0;
  for (int i = 0; i < n_workers; ++i) CHECK_RC(pthread_join(workers[i], NULL), 0);
  return stop ? 0 : 1;
}
