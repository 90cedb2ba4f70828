/* An ordinary pthread program, with nothing greenrun-specific in it: it starts N threads that
 * each sleep one second, count themselves under a mutex and signal a condition variable, then
 * reports how long that took, how many OS threads the kernel saw, and the peak memory.
 * Run it natively and under greenrun (./scripts/demo does both) to compare. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static int finished, most_os_threads;
static int total;

static int os_threads(void) {
  int n = 0;
  DIR* d = opendir("/proc/self/task");
  if (!d) return -1;
  for (struct dirent* e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void* worker(void* arg) {
  (void)arg;
  sleep(1);
  pthread_mutex_lock(&lock);
  if (++finished == total) pthread_cond_signal(&all_done);
  pthread_mutex_unlock(&lock);
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  total = argc > 1 ? atoi(argv[1]) : 10000;
  if (total <= 0) {
    fprintf(stderr, "usage: %s [THREADS]\n", argv[0]);
    return 2;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  double start = now();
  int started = 0;
  for (; started < total; ++started) {
    pthread_t t;
    int rc = pthread_create(&t, &attr, worker, NULL);
    if (rc != 0) {
      fprintf(stderr, "pthread_create failed after %d threads: %s\n", started, strerror(rc));
      break;
    }
  }
  most_os_threads = os_threads();
  pthread_mutex_lock(&lock);
  total = started;
  while (finished < total) pthread_cond_wait(&all_done, &lock);
  pthread_mutex_unlock(&lock);
  double elapsed = now() - start;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%d threads slept 1 s each: %.2f s wall, %d OS threads, peak RSS %ld MiB\n", total,
         elapsed, most_os_threads, ru.ru_maxrss / 1024);
  return started == atoi(argc > 1 ? argv[1] : "10000") ? 0 : 1;
}
