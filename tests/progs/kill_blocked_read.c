// pthread_kill of a thread that blocks the signal: its blocking read() is not interrupted (the
// signal stays pending for it), and the handler runs on it once it unblocks the signal.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];
static volatile sig_atomic_t handled_on_reader;
static pthread_t reader_thread;

static void on_usr1(int sig) {
  (void)sig;
  handled_on_reader = pthread_equal(pthread_self(), reader_thread);
}

static void* reader(void* arg) {
  (void)arg;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  char c;
  ssize_t n = read(fds[0], &c, 1);
  printf("read returned %zd%s%s\n", n, n < 0 ? " " : "", n < 0 ? strerror(errno) : "");
  sigset_t pending;
  sigpending(&pending);
  printf("SIGUSR1 pending while blocked: %s\n", sigismember(&pending, SIGUSR1) ? "yes" : "no");
  pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
  printf("handler ran on the reader once unblocked: %s\n", handled_on_reader ? "yes" : "no");
  return NULL;
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  if (pipe(fds) != 0) return 1;
  pthread_create(&reader_thread, NULL, reader, NULL);
  usleep(50000);  // the reader blocks SIGUSR1 and waits in read()
  pthread_kill(reader_thread, SIGUSR1);
  usleep(50000);
  write(fds[1], "x", 1);
  pthread_join(reader_thread, NULL);
  return 0;
}
