/* Two ordinary pthreads handing control to each other, for scripts/bench-preload (run natively
 * and under libgreenrun.so; never linked to greenrun):
 *   preload_handoff mutex|cond|sem [handoffs] [runs]
 *   mutex  three mutexes passed around a ring: each thread unlocks the mutex the other is
 *          blocked on, then blocks locking one the other holds (pthread_mutex_lock/unlock only)
 *   cond   ping-pong over a mutex, a condition variable and a turn variable
 *   sem    ping-pong over a pair of semaphores (sem_post the other's, sem_wait your own)
 * Every hand-off makes the other thread run next. Prints, like tests/bench/bench.h:
 *   RESULT handoff.<kind>_ns <ns per hand-off, best of runs> ns
 *   INFO handoff.<kind> <hand-offs, runs, each run's ns per hand-off> */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long rounds;  /* per thread; every round is two hand-offs */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Both threads start together once each holds what it must hold at the start. */
static pthread_barrier_t start;

/* mutex: thread A starts holding m0 and m1, thread B holds m2 and is about to lock m0.
 * A's round k: unlock m[k%3] (B is waiting for it), lock m[(k+2)%3] (B holds it);
 * B's round k: lock m[k%3], unlock m[(k+2)%3] (A is waiting for it).
 * After round k, A holds m[(k+1)%3] and m[(k+2)%3], and B holds m[k%3]. */
static pthread_mutex_t ring[3] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                  PTHREAD_MUTEX_INITIALIZER};

static void* ring_a(void* arg) {
  (void)arg;
  pthread_mutex_lock(&ring[0]);
  pthread_mutex_lock(&ring[1]);
  pthread_barrier_wait(&start);
  for (long k = 0; k < rounds; ++k) {
    pthread_mutex_unlock(&ring[k % 3]);
    pthread_mutex_lock(&ring[(k + 2) % 3]);
  }
  pthread_mutex_unlock(&ring[rounds % 3]);
  pthread_mutex_unlock(&ring[(rounds + 1) % 3]);
  return NULL;
}

static void* ring_b(void* arg) {
  (void)arg;
  pthread_mutex_lock(&ring[2]);
  pthread_barrier_wait(&start);
  for (long k = 0; k < rounds; ++k) {
    pthread_mutex_lock(&ring[k % 3]);
    pthread_mutex_unlock(&ring[(k + 2) % 3]);
  }
  pthread_mutex_unlock(&ring[(rounds + 2) % 3]);
  return NULL;
}

/* cond: whose turn it is, under one mutex; each waits for its turn, then gives it away. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn;

static void* cond_player(void* arg) {
  int me = (int)(long)arg;
  pthread_barrier_wait(&start);
  for (long k = 0; k < rounds; ++k) {
    pthread_mutex_lock(&lock);
    while (turn != me) pthread_cond_wait(&changed, &lock);
    turn = 1 - me;
    pthread_cond_signal(&changed);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

/* sem: each posts the other's semaphore and waits on its own. */
static sem_t sems[2];

static void* sem_player(void* arg) {
  int me = (int)(long)arg;
  pthread_barrier_wait(&start);
  for (long k = 0; k < rounds; ++k) {
    if (me == 0) {
      sem_post(&sems[1]);
      sem_wait(&sems[0]);
    } else {
      sem_wait(&sems[1]);
      sem_post(&sems[0]);
    }
  }
  return NULL;
}

/* One run: both threads, `rounds` rounds; returns ns per hand-off (2 * rounds of them). */
static double run_once(const char* kind) {
  void* (*a)(void*) = NULL;
  void* (*b)(void*) = NULL;
  if (strcmp(kind, "mutex") == 0) {
    a = ring_a;
    b = ring_b;
  } else if (strcmp(kind, "cond") == 0) {
    a = b = cond_player;
    turn = 0;
  } else {
    a = b = sem_player;
    sem_init(&sems[0], 0, 0);
    sem_init(&sems[1], 0, 0);
  }
  pthread_barrier_init(&start, NULL, 3);
  pthread_t ta, tb;
  if (pthread_create(&ta, NULL, a, (void*)0L) != 0 || pthread_create(&tb, NULL, b, (void*)1L) != 0) {
    fprintf(stderr, "preload_handoff: pthread_create failed\n");
    exit(2);
  }
  /* Main waits at the barrier too, so the clock starts when both are in place. */
  pthread_barrier_wait(&start);
  double t0 = now_ns();
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  double per = (now_ns() - t0) / (2.0 * (double)rounds);
  pthread_barrier_destroy(&start);
  if (strcmp(kind, "sem") == 0) {
    sem_destroy(&sems[0]);
    sem_destroy(&sems[1]);
  }
  return per;
}

int main(int argc, char** argv) {
  const char* kind = argc > 1 ? argv[1] : "";
  if (strcmp(kind, "mutex") != 0 && strcmp(kind, "cond") != 0 && strcmp(kind, "sem") != 0) {
    fprintf(stderr, "usage: preload_handoff mutex|cond|sem [handoffs] [runs]\n");
    return 2;
  }
  long handoffs = argc > 2 ? atol(argv[2]) : 1000000;
  int runs = argc > 3 ? atoi(argv[3]) : 3;
  rounds = handoffs / 2 > 0 ? handoffs / 2 : 1;
  if (runs < 1) runs = 1;
  double best = 0;
  char each[256] = "";
  for (int r = 0; r < runs; ++r) {
    double per = run_once(kind);
    if (r == 0 || per < best) best = per;
    size_t n = strlen(each);
    snprintf(each + n, sizeof each - n, " %.4g", per);
  }
  printf("RESULT handoff.%s_ns %.4g ns\n", kind, best);
  printf("INFO handoff.%s %ld hand-offs x %d runs, ns each:%s\n", kind, 2 * rounds, runs, each);
  return 0;
}
