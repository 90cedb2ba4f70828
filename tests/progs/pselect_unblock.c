// A daemon's pattern: SIGTERM blocked everywhere except inside the wait, whose temporary mask
// (pselect, ppoll, epoll_pwait) unblocks it. A kill -TERM of the process must interrupt the
// wait with EINTR after the handler ran, while another thread keeps running; the mask outside
// the wait is the old one again.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static volatile int ticking = 1;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void* ticker(void* arg) {
  (void)arg;
  while (ticking) usleep(5000);
  return NULL;
}

static void* killer(void* arg) {
  (void)arg;
  usleep(50000);
  kill(getpid(), SIGTERM);  // process-directed: only the thread in the wait can take it
  return NULL;
}

static void wait_in(const char* mode, const sigset_t* during, int fd, int ep) {
  stop = 0;
  pthread_t k;
  pthread_create(&k, NULL, killer, NULL);
  int rc;
  if (strcmp(mode, "pselect") == 0) {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(fd, &r);
    rc = pselect(fd + 1, &r, NULL, NULL, NULL, during);
  } else if (strcmp(mode, "ppoll") == 0) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    rc = ppoll(&p, 1, NULL, during);
  } else {
    struct epoll_event ev;
    rc = epoll_pwait(ep, &ev, 1, -1, during);
  }
  int error = errno;
  pthread_join(k, NULL);
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  printf("%s: rc=%d errno=%s handler ran=%d SIGTERM blocked again=%d\n", mode, rc,
         rc < 0 ? strerrorname_np(error) : "-", (int)stop, sigismember(&now, SIGTERM));
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_term};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigset_t term, during;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &during);  // `during`: the mask without SIGTERM
  pthread_t t;
  pthread_create(&t, NULL, ticker, NULL);  // threads inherit the blocked SIGTERM
  int fds[2];
  if (pipe(fds) != 0) return 1;
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
  wait_in("pselect", &during, fds[0], ep);
  wait_in("ppoll", &during, fds[0], ep);
  wait_in("epoll_pwait", &during, fds[0], ep);
  ticking = 0;
  pthread_join(t, NULL);
  return 0;
}
