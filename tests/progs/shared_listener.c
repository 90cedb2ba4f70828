/* Prefork servers: a listening socket made before fork is accepted on by several processes at
 * once, so the connection a readiness check announces may be taken by a sibling first. Each
 * worker here has an accepting thread and a ticking thread; the ticks must go on while a
 * sibling wins the races (natively the losing accept just blocks its own thread). The client
 * connects in bursts every 60 ms, so a worker whose loop blocked in a lost accept misses ticks
 * until the next connection; each worker counts what it served, and the total is checked. */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

enum { kBursts = 40, kWorkers = 4 };

static int listener;
static volatile int stop;
static int64_t worst_gap_ns;

static void* ticker(void* arg) {
  (void)arg;
  int64_t last = mono_ns();
  while (!stop) {
    usleep(2000);
    int64_t now = mono_ns();
    if (now - last > worst_gap_ns) worst_gap_ns = now - last;
    last = now;
  }
  return NULL;
}

/* Serves connections (reads one byte, answers one) until it reads 'q'. */
static int serve(void) {
  int served = 0;
  for (;;) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) continue;
    char byte = 0;
    if (read(c, &byte, 1) == 1 && write(c, "k", 1) == 1) ++served;
    close(c);
    if (byte == 'q') return served;
  }
}

static int connect_to(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(connect(s, (struct sockaddr*)&a, sizeof a), 0);
  return s;
}

static void say(int s, char what) {
  char byte;
  CHECK_EQ(write(s, &what, 1), 1);
  CHECK_EQ(read(s, &byte, 1), 1);
  close(s);
}

static void connect_and_say(uint16_t port, char what) { say(connect_to(port), what); }

int main(void) {
  listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_EQ(bind(listener, (struct sockaddr*)&a, sizeof a), 0);
  CHECK_EQ(listen(listener, 64), 0);
  socklen_t len = sizeof a;
  getsockname(listener, (struct sockaddr*)&a, &len);
  uint16_t port = ntohs(a.sin_port);

  int results[2];
  CHECK_EQ(pipe(results), 0);
  pid_t workers[kWorkers];
  for (int w = 0; w < kWorkers; ++w) {
    workers[w] = fork();
    if (workers[w] == 0) {
      pthread_t t;
      pthread_create(&t, NULL, ticker, NULL);
      int served = serve();
      stop = 1;
      pthread_join(t, NULL);
      int64_t gap_ms = worst_gap_ns / 1000000;
      int line[2] = {served, (int)gap_ms};
      CHECK_EQ(write(results[1], line, sizeof line), (ssize_t)sizeof line);
      _exit(0);
    }
  }
  close(listener);
  /* Bursts of fewer connections than workers: every worker wakes, and the last ones to look
   * find the queue already empty. */
  for (int i = 0; i < kBursts; ++i) {
    int burst[kWorkers - 1];
    for (int j = 0; j < kWorkers - 1; ++j) burst[j] = connect_to(port);
    for (int j = 0; j < kWorkers - 1; ++j) say(burst[j], 'x');
    usleep(60000);
  }
  for (int w = 0; w < kWorkers; ++w) connect_and_say(port, 'q');
  int total = 0, worst = 0;
  for (int w = 0; w < kWorkers; ++w) {
    int line[2];
    CHECK_EQ(read(results[0], line, sizeof line), (ssize_t)sizeof line);
    total += line[0];
    if (line[1] > worst) worst = line[1];
    int status;
    waitpid(workers[w], &status, 0);
  }
  printf("served %d connections in %d workers\n", total, kWorkers);
  fprintf(stderr, "PROPERTY worst_tick_gap_ms %d\n", worst);
  return 0;
}
