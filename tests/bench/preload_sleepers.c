/* Many pthreads asleep at once, for scripts/bench-preload (an ordinary program: run natively
 * and under libgreenrun.so):  preload_sleepers <threads> <seconds>
 * pthread_create's <threads> threads (default attributes) that each sleep(<seconds>), joins
 * them all, and prints, like tests/bench/bench.h:
 *   RESULT sleepers.wall_s        first pthread_create to last pthread_join
 *   RESULT sleepers.spawn_s       how long the pthread_create loop took
 *   RESULT sleepers.peak_rss_mib  ru_maxrss at the end (the process's high-water mark)
 *   RESULT sleepers.base_rss_mib  VmRSS before the first pthread_create
 *   RESULT sleepers.min_sleep_s   the shortest sleep a thread observed (must be >= <seconds>)
 *   RESULT sleepers.os_threads    entries of /proc/self/task while all sleep
 *   RESULT sleepers.service_threads  greenrun's own service threads (named "greenrun-...":
 *                                    the preemption monitor), which run none of the program's
 *                                    code and are among os_threads; natively 0. Counted after
 *                                    the joins (they live as long as the process), so that
 *                                    reading each task's name does not slow 10k native ones
 *   RESULT sleepers.page_tables_mib  VmPTE (this process's page tables) while all sleep: the
 *                                    kernel memory of lazily committed stacks (a native thread
 *                                    also has a 16 KiB kernel stack, which VmPTE leaves out)
 * The last thread to start counts the OS threads, so it sees every other one asleep. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long count;
static unsigned seconds;
static double* slept;
static int os_threads = -1;
static long page_tables_kib = -1;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long status_kib(const char* field) {
  FILE* f = fopen("/proc/self/status", "re");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0 && line[n] == ':') v = atol(line + n + 1);
  fclose(f);
  return v;
}

static int is_service_thread(const char* tid) {
  char path[320], name[32] = "";
  snprintf(path, sizeof path, "/proc/self/task/%s/comm", tid);
  FILE* f = fopen(path, "re");
  if (!f) return 0;
  if (!fgets(name, sizeof name, f)) name[0] = '\0';
  fclose(f);
  return strncmp(name, "greenrun-", 9) == 0;
}

/* Entries of /proc/self/task; with `service`, only greenrun's own. */
static int count_tasks(int service) {
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  int n = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && (!service || is_service_thread(e->d_name))) ++n;
  closedir(d);
  return n;
}

static void* sleeper(void* arg) {
  long i = (long)arg;
  if (i == count - 1) {
    os_threads = count_tasks(0);
    page_tables_kib = status_kib("VmPTE");
  }
  double t0 = now_s();
  sleep(seconds);
  slept[i] = now_s() - t0;
  return NULL;
}

int main(int argc, char** argv) {
  count = argc > 1 ? atol(argv[1]) : 100000;
  seconds = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
  slept = calloc((size_t)count, sizeof *slept);
  pthread_t* threads = calloc((size_t)count, sizeof *threads);
  double base_mib = (double)status_kib("VmRSS") / 1024.0;
  double t0 = now_s();
  for (long i = 0; i < count; ++i) {
    int rc = pthread_create(&threads[i], NULL, sleeper, (void*)i);
    if (rc != 0) {
      fprintf(stderr, "preload_sleepers: pthread_create %ld failed: %s\n", i, strerror(rc));
      return 2;
    }
  }
  double spawned = now_s() - t0;
  for (long i = 0; i < count; ++i) pthread_join(threads[i], NULL);
  double wall = now_s() - t0;
  double min_sleep = slept[0];
  for (long i = 1; i < count; ++i)
    if (slept[i] < min_sleep) min_sleep = slept[i];
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("RESULT sleepers.wall_s %.4g s\n", wall);
  printf("RESULT sleepers.spawn_s %.4g s\n", spawned);
  printf("RESULT sleepers.peak_rss_mib %.4g MiB\n", (double)ru.ru_maxrss / 1024.0);
  printf("RESULT sleepers.base_rss_mib %.4g MiB\n", base_mib);
  printf("RESULT sleepers.min_sleep_s %.4g s\n", min_sleep);
  printf("RESULT sleepers.os_threads %d threads\n", os_threads);
  printf("RESULT sleepers.service_threads %d threads\n", count_tasks(1));
  printf("RESULT sleepers.page_tables_mib %.4g MiB\n", (double)page_tables_kib / 1024.0);
  printf("INFO sleepers %ld threads x sleep(%u)\n", count, seconds);
  return 0;
}
