/* Reads all of stdin on one thread and writes what it read to stdout on another, with plain
 * read() and write() on the inherited descriptors 0 and 1. inherited_stdio_flags.sh runs it in
 * a shell pipeline natively and under greenrun, and checks that the pipes' O_NONBLOCK flags
 * (shared with the shell's other processes) were never changed. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <unistd.h>

static char data[4096];
static size_t have;

static void* read_stdin(void* arg) {
  (void)arg;
  for (;;) {
    ssize_t r = read(0, data + have, sizeof data - 1 - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) CHECK_EQ(r, 0);
    if (r == 0 || have + (size_t)r == sizeof data - 1) break;
    have += (size_t)r;
  }
  return NULL;
}

static void* write_stdout(void* arg) {
  (void)arg;
  char line[4200];
  int n = snprintf(line, sizeof line, "relay read %zu bytes: %s\n", have, data);
  for (int done = 0; done < n;) {
    ssize_t w = write(1, line + done, (size_t)(n - done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) CHECK_EQ(w, n - done);
    done += (int)w;
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, read_stdin, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  CHECK_RC(pthread_create(&t, NULL, write_stdout, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  return 0;
}
