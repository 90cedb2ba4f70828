/* Every timed wait times out with ETIMEDOUT (or its own convention) and never early: after it
 * returns, the clock its deadline was set on reads at least the deadline. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>

enum { kTimeoutMs = 30 };

/* Prints "<what>: <result> not early" or how early it came back. */
static void judge(const char* what, const char* result, clockid_t clock,
                  const struct timespec* deadline) {
  int64_t now = clock_ns(clock), due = timespec_ns(deadline);
  if (now >= due)
    printf("%-40s %s not early\n", what, result);
  else
    printf("%-40s %s EARLY by %lld us\n", what, result, (long long)(due - now) / 1000);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void cond_waits(void) {
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&m);
  struct timespec d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  int rc = pthread_cond_timedwait(&c, &m, &d);
  judge("cond_timedwait REALTIME", errno_name(rc), CLOCK_REALTIME, &d);
  /* the mutex is held again after a timeout */
  printf("%-40s %s\n", "  mutex held after timeout (trylock)", errno_name(pthread_mutex_trylock(&m)));

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  CHECK_RC(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
  clockid_t got;
  pthread_condattr_getclock(&ca, &got);
  CHECK_EQ(got, CLOCK_MONOTONIC);
  printf("%-40s %s\n", "condattr_setclock(CLOCK_PROCESS_CPUTIME)",
         errno_name(pthread_condattr_setclock(&ca, CLOCK_PROCESS_CPUTIME_ID)));
  pthread_cond_t mono;
  CHECK_RC(pthread_cond_init(&mono, &ca), 0);
  pthread_condattr_destroy(&ca);
  d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  rc = pthread_cond_timedwait(&mono, &m, &d);
  judge("cond_timedwait MONOTONIC (condattr)", errno_name(rc), CLOCK_MONOTONIC, &d);
  pthread_cond_destroy(&mono);

  d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  rc = pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &d);
  judge("cond_clockwait MONOTONIC", errno_name(rc), CLOCK_MONOTONIC, &d);
  d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  rc = pthread_cond_clockwait(&c, &m, CLOCK_REALTIME, &d);
  judge("cond_clockwait REALTIME", errno_name(rc), CLOCK_REALTIME, &d);

  d = deadline_in(CLOCK_REALTIME, -1000);
  rc = pthread_cond_timedwait(&c, &m, &d);
  judge("cond_timedwait deadline in the past", errno_name(rc), CLOCK_REALTIME, &d);
  pthread_mutex_unlock(&m);
}

/* The mutex and rwlock waits run on a second thread while main holds the lock. */
static void* lock_waits(void* arg) {
  (void)arg;
  note_os_threads();
  struct timespec d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  int rc = pthread_mutex_timedlock(&m, &d);
  judge("mutex_timedlock", errno_name(rc), CLOCK_REALTIME, &d);
  d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  rc = pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &d);
  judge("mutex_clocklock MONOTONIC", errno_name(rc), CLOCK_MONOTONIC, &d);
  d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  rc = pthread_rwlock_timedwrlock(&rw, &d);
  judge("rwlock_timedwrlock (reader holds it)", errno_name(rc), CLOCK_REALTIME, &d);
  d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  rc = pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &d);
  judge("rwlock_clockwrlock MONOTONIC", errno_name(rc), CLOCK_MONOTONIC, &d);
  return NULL;
}

static void* hold_write_lock(void* arg) {
  (void)arg;
  struct timespec d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  int rc = pthread_rwlock_timedrdlock(&rw, &d);
  judge("rwlock_timedrdlock (writer holds it)", errno_name(rc), CLOCK_REALTIME, &d);
  return NULL;
}

static void sem_waits(void) {
  sem_t s;
  CHECK_EQ(sem_init(&s, 0, 0), 0);
  struct timespec d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  int rc = sem_timedwait(&s, &d);
  judge("sem_timedwait", rc == 0 ? "0" : errno_name(errno), CLOCK_REALTIME, &d);
  d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  rc = sem_clockwait(&s, CLOCK_MONOTONIC, &d);
  judge("sem_clockwait MONOTONIC", rc == 0 ? "0" : errno_name(errno), CLOCK_MONOTONIC, &d);
  struct timespec bad = {0, -1};
  rc = sem_timedwait(&s, &bad);
  printf("%-40s %s\n", "sem_timedwait tv_nsec -1", rc == 0 ? "0" : errno_name(errno));
  sem_destroy(&s);
}

static void* sleep_200ms(void* arg) {
  (void)arg;
  usleep(200000);
  return (void*)7;
}

static void join_waits(void) {
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, sleep_200ms, NULL), 0);
  struct timespec d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  void* r = NULL;
  int rc = pthread_timedjoin_np(t, &r, &d);
  judge("timedjoin_np", errno_name(rc), CLOCK_REALTIME, &d);
  d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  rc = pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &d);
  judge("clockjoin_np MONOTONIC", errno_name(rc), CLOCK_MONOTONIC, &d);
  rc = pthread_join(t, &r);
  printf("%-40s %s, result %ld\n", "join after the timeouts", errno_name(rc), (long)r);
}

static void* sleeps(void* arg) {
  (void)arg;
  struct timespec d = deadline_in(CLOCK_MONOTONIC, kTimeoutMs);
  int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL);
  judge("clock_nanosleep MONOTONIC ABSTIME", errno_name(rc), CLOCK_MONOTONIC, &d);
  d = deadline_in(CLOCK_REALTIME, kTimeoutMs);
  rc = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &d, NULL);
  judge("clock_nanosleep REALTIME ABSTIME", errno_name(rc), CLOCK_REALTIME, &d);
  int64_t t0 = mono_ns();
  struct timespec rel = {0, kTimeoutMs * 1000000L};
  rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL);
  struct timespec due = {(time_t)((t0 + kTimeoutMs * 1000000L) / 1000000000),
                         (long)((t0 + kTimeoutMs * 1000000L) % 1000000000)};
  judge("clock_nanosleep MONOTONIC relative", errno_name(rc), CLOCK_MONOTONIC, &due);
  return NULL;
}

/* Keeps a second thread alive so that no sleep is the only thing left to run. */
static volatile int stop_companion;
static void* companion(void* arg) {
  (void)arg;
  while (!stop_companion) usleep(5000);
  return NULL;
}

int main(void) {
  pthread_t comp;
  CHECK_RC(pthread_create(&comp, NULL, companion, NULL), 0);

  cond_waits();

  pthread_t t;
  pthread_mutex_lock(&m);
  pthread_rwlock_rdlock(&rw);
  CHECK_RC(pthread_create(&t, NULL, lock_waits, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  pthread_rwlock_unlock(&rw);
  pthread_mutex_unlock(&m);

  pthread_rwlock_wrlock(&rw);
  CHECK_RC(pthread_create(&t, NULL, hold_write_lock, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  pthread_rwlock_unlock(&rw);

  sem_waits();
  join_waits();

  CHECK_RC(pthread_create(&t, NULL, sleeps, NULL), 0);
  CHECK_RC(pthread_join(t, NULL), 0);

  stop_companion = 1;
  CHECK_RC(pthread_join(comp, NULL), 0);
  report_os_threads();
  return 0;
}
