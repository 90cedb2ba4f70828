/* popen pipelines from 20 threads at once, reading with fgets, then pclose's status; a
 * write-mode popen; pclose of a failing command; a bad mode. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "progs.h"

enum { kThreads = 20 };

static long sums[kThreads];
static int closes[kThreads];

static void* run(void* arg) {
  int i = (int)(intptr_t)arg;
  FILE* f = popen("seq 1 1000 | awk '{s+=$1} END {print s}'", "r");
  if (!f) return NULL;
  char line[64];
  if (fgets(line, sizeof line, f)) sums[i] = atol(line);
  closes[i] = pclose(f);
  return NULL;
}

int main(void) {
  pthread_t t[kThreads];
  for (int i = 0; i < kThreads; ++i)
    CHECK_RC(pthread_create(&t[i], NULL, run, (void*)(intptr_t)i), 0);
  for (int i = 0; i < kThreads; ++i) CHECK_RC(pthread_join(t[i], NULL), 0);
  int ok = 0;
  for (int i = 0; i < kThreads; ++i) ok += sums[i] == 500500 && closes[i] == 0;
  printf("%d of %d pipelines summed to 500500 and closed with 0\n", ok, kThreads);

  FILE* w = popen("wc -l", "w");
  for (int i = 0; i < 300; ++i) fprintf(w, "line %d\n", i);
  printf("write pclose: %d\n", pclose(w));  /* wc's "300" goes to our stdout first */

  FILE* f = popen("exit 5", "r");
  int s = pclose(f);
  printf("exit 5: exited=%d status=%d\n", WIFEXITED(s), WEXITSTATUS(s));

  errno = 0;
  FILE* bad = popen("true", "rw");
  printf("mode rw: %s %s\n", bad ? "FILE" : "NULL", errno_name(errno));
  return 0;
}
