/* C11 <threads.h>: thrd_create/join/sleep/yield/exit, mtx_init (plain, timed, recursive),
 * mtx_trylock and mtx_timedlock on a held mutex, cnd_wait/signal, cnd_timedwait timing out,
 * cnd_broadcast, tss_create with a destructor, and call_once, with thrd_* results by name. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <threads.h>

static const char* thrd_name(int rc) {
  switch (rc) {
    case thrd_success: return "thrd_success";
    case thrd_busy: return "thrd_busy";
    case thrd_error: return "thrd_error";
    case thrd_nomem: return "thrd_nomem";
    case thrd_timedout: return "thrd_timedout";
    default: return "?";
  }
}
static void show(const char* what, int rc) { printf("%-44s %s\n", what, thrd_name(rc)); }

static struct timespec utc_in(long ms) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  int64_t t = timespec_ns(&ts) + (int64_t)ms * 1000000;
  ts.tv_sec = (time_t)(t / 1000000000);
  ts.tv_nsec = (long)(t % 1000000000);
  return ts;
}
static const char* not_early(const struct timespec* due) {
  return clock_ns(CLOCK_REALTIME) >= timespec_ns(due) ? "not early" : "EARLY";
}

static int returns_arg(void* arg) {
  note_os_threads();
  thrd_yield();
  return (int)(long)arg;
}

static int exit_depth = 3;
static void exit_deep(int depth) {
  if (depth < exit_depth)
    exit_deep(depth + 1);
  else if (depth == exit_depth)
    thrd_exit(77);
}
static int exits(void* arg) {
  (void)arg;
  exit_deep(0);
  return 0;
}

static mtx_t timed;
static int timedlock_30ms(void* arg) {
  (void)arg;
  struct timespec d = utc_in(30);
  int rc = mtx_timedlock(&timed, &d);
  printf("%-44s %s %s\n", "mtx_timedlock on held (other thread)", thrd_name(rc), not_early(&d));
  rc = mtx_trylock(&timed);
  printf("%-44s %s\n", "mtx_trylock on held (other thread)", thrd_name(rc));
  return 0;
}

static mtx_t rec;
static int try_recursive(void* arg) {
  (void)arg;
  return mtx_trylock(&rec);
}

static mtx_t lock;
static cnd_t cond;
static int flag, woken;
static int waiter(void* arg) {
  (void)arg;
  mtx_lock(&lock);
  while (!flag) cnd_wait(&cond, &lock);
  ++woken;
  mtx_unlock(&lock);
  return 0;
}

static tss_t key;
static int destructor_runs;
static void tss_destructor(void* value) {
  __atomic_fetch_add(&destructor_runs, (int)(long)value, __ATOMIC_RELAXED);
}
static int uses_tss(void* arg) {
  tss_set(key, arg);
  thrd_sleep(&(struct timespec){0, 1000000}, NULL);
  return tss_get(key) == arg ? 0 : 1;
}

static once_flag once = ONCE_FLAG_INIT;
static int init_runs;
static void init_once(void) {
  thrd_yield();  /* others arrive meanwhile and must wait for the first */
  ++init_runs;
}
static int calls_once(void* arg) {
  (void)arg;
  call_once(&once, init_once);
  return init_runs;
}

int main(void) {
  thrd_t t[5];
  int res = -1;

  show("thrd_create", thrd_create(&t[0], returns_arg, (void*)11));
  show("thrd_join", thrd_join(t[0], &res));
  printf("%-44s %d\n", "  result", res);
  show("thrd_create (thrd_exit at depth 3)", thrd_create(&t[0], exits, NULL));
  show("thrd_join", thrd_join(t[0], &res));
  printf("%-44s %d\n", "  result", res);
  printf("%-44s %s\n", "thrd_equal(self, self)", thrd_equal(thrd_current(), thrd_current()) ? "true" : "false");

  int64_t t0 = mono_ns();
  int rc = thrd_sleep(&(struct timespec){0, 20000000}, NULL);
  printf("%-44s %d %s\n", "thrd_sleep 20 ms", rc, mono_ns() - t0 >= 20000000 ? "not early" : "EARLY");

  show("mtx_init plain", mtx_init(&lock, mtx_plain));
  show("mtx_init timed", mtx_init(&timed, mtx_timed));
  show("mtx_init plain|recursive", mtx_init(&rec, mtx_plain | mtx_recursive));
  show("mtx_lock timed", mtx_lock(&timed));
  show("thrd_create", thrd_create(&t[0], timedlock_30ms, NULL));
  thrd_join(t[0], NULL);
  show("mtx_unlock timed", mtx_unlock(&timed));
  show("mtx_lock recursive", mtx_lock(&rec));
  show("mtx_lock recursive again", mtx_lock(&rec));
  show("mtx_trylock recursive again", mtx_trylock(&rec));
  thrd_create(&t[0], try_recursive, NULL);
  thrd_join(t[0], &res);
  show("mtx_trylock recursive (other thread)", res);
  mtx_unlock(&rec);
  mtx_unlock(&rec);
  mtx_unlock(&rec);
  thrd_create(&t[0], try_recursive, NULL);
  thrd_join(t[0], &res);
  show("mtx_trylock recursive released (other)", res);

  show("cnd_init", cnd_init(&cond));
  mtx_lock(&lock);
  struct timespec d = utc_in(30);
  rc = cnd_timedwait(&cond, &lock, &d);
  printf("%-44s %s %s\n", "cnd_timedwait, nobody signals", thrd_name(rc), not_early(&d));
  mtx_unlock(&lock);

  thrd_create(&t[0], waiter, NULL);
  thrd_sleep(&(struct timespec){0, 20000000}, NULL);
  mtx_lock(&lock);
  flag = 1;
  show("cnd_signal", cnd_signal(&cond));
  mtx_unlock(&lock);
  thrd_join(t[0], NULL);
  printf("%-44s %d\n", "  woken", woken);

  flag = 0;
  woken = 0;
  for (int i = 0; i < 5; ++i) thrd_create(&t[i], waiter, NULL);
  thrd_sleep(&(struct timespec){0, 20000000}, NULL);
  mtx_lock(&lock);
  flag = 1;
  show("cnd_broadcast", cnd_broadcast(&cond));
  mtx_unlock(&lock);
  for (int i = 0; i < 5; ++i) thrd_join(t[i], NULL);
  printf("%-44s %d\n", "  woken", woken);

  show("tss_create", tss_create(&key, tss_destructor));
  int wrong = 0;
  for (int i = 0; i < 5; ++i) thrd_create(&t[i], uses_tss, (void*)(long)(i + 1));
  for (int i = 0; i < 5; ++i) {
    thrd_join(t[i], &res);
    wrong += res;
  }
  printf("%-44s %d\n", "tss: threads that read another's value", wrong);
  printf("%-44s %d\n", "tss: destructor sum (1+2+3+4+5)", destructor_runs);
  tss_delete(key);

  int max_seen = 0;
  for (int i = 0; i < 5; ++i) thrd_create(&t[i], calls_once, NULL);
  for (int i = 0; i < 5; ++i) {
    thrd_join(t[i], &res);
    if (res > max_seen) max_seen = res;
  }
  printf("%-44s %d (each caller saw %d)\n", "call_once: init runs", init_runs, max_seen);

  cnd_destroy(&cond);
  mtx_destroy(&lock);
  mtx_destroy(&timed);
  mtx_destroy(&rec);
  report_os_threads();
  return 0;
}
