/* Reads all of stdin on one thread while a second thread keeps ticking, then writes what it
 * read to stdout from the second thread, with plain read() and write() on the inherited
 * descriptors 0 and 1. inherited_stdio_flags.sh runs it in a shell pipeline natively and under
 * greenrun, and checks that the pipes' O_NONBLOCK flags (shared with the shell's other
 * processes) were never changed. The ticker makes the wait for stdin a real park under the
 * preload: with another thread alive, the read must not block the one OS thread. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static char data[4096];
static size_t have;
static volatile int stdin_done;

static void* read_stdin(void* arg) {
  (void)arg;
  for (;;) {
    ssize_t r = read(0, data + have, sizeof data - 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) CHECK_EQ(r, 0);
    if (r == 0 || have + (size_t)r == sizeof data - 1) break;
    have += (size_t)r;
  }
  __atomic_store_n(&stdin_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* Ticks every 10 ms until stdin has been read, then writes the report. */
static void* tick_then_write(void* arg) {
  (void)arg;
  long ticks = 0;
  while (!__atomic_load_n(&stdin_done, __ATOMIC_ACQUIRE)) {
    usleep(10 * 1000);
    ++ticks;
  }
  char line[4200];
  /* The data comes 0.6 s after the start: ticks >= 10 shows the ticker ran meanwhile. */
  int n = snprintf(line, sizeof line, "relay read %zu bytes: %s; other thread ran meanwhile: %s\n",
                   have, data, ticks >= 10 ? "yes" : "no");
  for (int done = 0; done < n;) {
    ssize_t w = write(1, line + done, (size_t)(n - done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) CHECK_EQ(w, n - done);
    done += (int)w;
  }
  return NULL;
}

int main(void) {
  pthread_t reader, ticker;
  CHECK_RC(pthread_create(&reader, NULL, read_stdin, NULL), 0);
  CHECK_RC(pthread_create(&ticker, NULL, tick_then_write, NULL), 0);
  CHECK_RC(pthread_join(reader, NULL), 0);
  CHECK_RC(pthread_join(ticker, NULL), 0);
  return 0;
}
