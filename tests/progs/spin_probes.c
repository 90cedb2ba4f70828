// A thread that waits for another by spinning on probes that answer at once: poll and
// epoll_wait with a zero timeout, and epoll_wait on a level-triggered descriptor that stays
// ready. The other thread needs turns of its own (it sleeps in between), as natively it gets
// them on another CPU. Each mode must finish, as it does natively.
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static volatile int done;

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < 3; ++i) usleep(2000);  // parks three times before it is done
  done = 1;
  return NULL;
}

static int run(const char* mode) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, fds[0], &ev);
  if (strcmp(mode, "epoll_ready") == 0) write(fds[1], "x", 1);  // stays readable: never read
  done = 0;
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  struct pollfd p = {.fd = fds[0], .events = POLLIN};
  struct epoll_event out;
  while (!done) {
    if (strcmp(mode, "poll_zero") == 0)
      poll(&p, 1, 0);
    else if (strcmp(mode, "epoll_zero") == 0)
      epoll_wait(ep, &out, 1, 0);
    else
      epoll_wait(ep, &out, 1, -1);
  }
  pthread_join(t, NULL);
  printf("%s: the spinning thread saw the other finish\n", mode);
  close(ep);
  close(fds[0]);
  close(fds[1]);
  return 0;
}

int main(void) {
  return run("poll_zero") | run("epoll_zero") | run("epoll_ready");
}
