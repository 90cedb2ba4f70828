/* The error numbers of normal, errorcheck and recursive mutexes, printed as a matrix that
 * must equal glibc's: EBUSY, EDEADLK, EPERM, recursion counts, the _NP static initialisers,
 * timedlock's ETIMEDOUT, and robust and process-shared variants. Another thread's view is taken by running a short thread and joining
 * it, so the output is deterministic. */
#include "progs.h"  /* first: it defines _GNU_SOURCE */
#include <pthread.h>

static void show(const char* what, int rc) { printf("%-52s %s\n", what, errno_name(rc)); }

/* Runs op(m) on a new thread, returns its result. */
typedef int (*MutexOp)(pthread_mutex_t*);
struct Call { MutexOp op; pthread_mutex_t* m; int rc; };
static void* call_body(void* arg) {
  struct Call* c = arg;
  c->rc = c->op(c->m);
  note_os_threads();
  return NULL;
}
static int on_other_thread(MutexOp op, pthread_mutex_t* m) {
  struct Call c = {op, m, -1};
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, call_body, &c), 0);
  CHECK_RC(pthread_join(t, NULL), 0);
  return c.rc;
}
static int timedlock_30ms(pthread_mutex_t* m) {
  struct timespec d = deadline_in(CLOCK_REALTIME, 30);
  return pthread_mutex_timedlock(m, &d);
}
/* Locks and, if that worked, unlocks again: "could another thread take it?" */
static int lock_unlock(pthread_mutex_t* m) {
  int rc = pthread_mutex_trylock(m);
  if (rc == 0) pthread_mutex_unlock(m);
  return rc;
}

static void init_typed(pthread_mutex_t* m, int type) {
  pthread_mutexattr_t a;
  CHECK_RC(pthread_mutexattr_init(&a), 0);
  CHECK_RC(pthread_mutexattr_settype(&a, type), 0);
  int got = -1;
  CHECK_RC(pthread_mutexattr_gettype(&a, &got), 0);
  CHECK_EQ(got, type);
  CHECK_RC(pthread_mutex_init(m, &a), 0);
  pthread_mutexattr_destroy(&a);
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  show("mutexattr_settype(999)", pthread_mutexattr_settype(&a, 999));
  pthread_mutexattr_destroy(&a);

  pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
  show("normal: lock", pthread_mutex_lock(&normal));
  show("normal: trylock while locked", pthread_mutex_trylock(&normal));
  show("normal: other thread trylock", on_other_thread(pthread_mutex_trylock, &normal));
  show("normal: other thread timedlock (30 ms)", on_other_thread(timedlock_30ms, &normal));
  show("normal: unlock", pthread_mutex_unlock(&normal));
  show("normal: other thread trylock+unlock", on_other_thread(lock_unlock, &normal));
  show("normal: destroy", pthread_mutex_destroy(&normal));

  pthread_mutex_t check;
  init_typed(&check, PTHREAD_MUTEX_ERRORCHECK);
  show("errorcheck: unlock while unlocked", pthread_mutex_unlock(&check));
  show("errorcheck: lock", pthread_mutex_lock(&check));
  show("errorcheck: lock again", pthread_mutex_lock(&check));
  show("errorcheck: trylock again", pthread_mutex_trylock(&check));
  show("errorcheck: timedlock again", timedlock_30ms(&check));
  show("errorcheck: other thread unlock", on_other_thread(pthread_mutex_unlock, &check));
  show("errorcheck: other thread trylock", on_other_thread(pthread_mutex_trylock, &check));
  show("errorcheck: other thread timedlock (30 ms)", on_other_thread(timedlock_30ms, &check));
  show("errorcheck: unlock", pthread_mutex_unlock(&check));
  show("errorcheck: unlock again", pthread_mutex_unlock(&check));
  show("errorcheck: other thread trylock+unlock", on_other_thread(lock_unlock, &check));
  show("errorcheck: destroy", pthread_mutex_destroy(&check));

  pthread_mutex_t rec;
  init_typed(&rec, PTHREAD_MUTEX_RECURSIVE);
  show("recursive: unlock while unlocked", pthread_mutex_unlock(&rec));
  show("recursive: lock (count 1)", pthread_mutex_lock(&rec));
  show("recursive: lock (count 2)", pthread_mutex_lock(&rec));
  show("recursive: trylock (count 3)", pthread_mutex_trylock(&rec));
  show("recursive: timedlock (count 4)", timedlock_30ms(&rec));
  show("recursive: other thread unlock", on_other_thread(pthread_mutex_unlock, &rec));
  show("recursive: other thread trylock", on_other_thread(pthread_mutex_trylock, &rec));
  show("recursive: other thread timedlock (30 ms)", on_other_thread(timedlock_30ms, &rec));
  int unlocked = 0;
  while (pthread_mutex_unlock(&rec) == 0) ++unlocked;
  printf("%-52s %d\n", "recursive: unlocks that succeeded", unlocked);
  show("recursive: unlock once more", pthread_mutex_unlock(&rec));
  show("recursive: other thread trylock+unlock", on_other_thread(lock_unlock, &rec));
  show("recursive: destroy", pthread_mutex_destroy(&rec));

  pthread_mutex_t rec_np = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
  show("RECURSIVE_INITIALIZER_NP: lock", pthread_mutex_lock(&rec_np));
  show("RECURSIVE_INITIALIZER_NP: lock again", pthread_mutex_lock(&rec_np));
  show("RECURSIVE_INITIALIZER_NP: other thread trylock", on_other_thread(pthread_mutex_trylock, &rec_np));
  show("RECURSIVE_INITIALIZER_NP: unlock", pthread_mutex_unlock(&rec_np));
  show("RECURSIVE_INITIALIZER_NP: unlock", pthread_mutex_unlock(&rec_np));
  show("RECURSIVE_INITIALIZER_NP: unlock while unlocked", pthread_mutex_unlock(&rec_np));

  pthread_mutex_t check_np = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
  show("ERRORCHECK_INITIALIZER_NP: lock", pthread_mutex_lock(&check_np));
  show("ERRORCHECK_INITIALIZER_NP: lock again", pthread_mutex_lock(&check_np));
  show("ERRORCHECK_INITIALIZER_NP: other thread unlock", on_other_thread(pthread_mutex_unlock, &check_np));
  show("ERRORCHECK_INITIALIZER_NP: unlock", pthread_mutex_unlock(&check_np));
  show("ERRORCHECK_INITIALIZER_NP: unlock while unlocked", pthread_mutex_unlock(&check_np));

  /* A mutex with the type set to NORMAL explicitly behaves as the default one. */
  pthread_mutex_t plain;
  init_typed(&plain, PTHREAD_MUTEX_NORMAL);
  show("NORMAL by attr: lock", pthread_mutex_lock(&plain));
  show("NORMAL by attr: trylock while locked", pthread_mutex_trylock(&plain));
  show("NORMAL by attr: unlock", pthread_mutex_unlock(&plain));

  /* Robust and process-shared mutexes (glibc marks robust ones process-shared too): another
   * thread must still be kept out of a recursive or errorcheck one. */
  static const struct { const char* name; int robust, pshared, type; } variants[] = {
      {"robust recursive", 1, 0, PTHREAD_MUTEX_RECURSIVE},
      {"robust errorcheck", 1, 0, PTHREAD_MUTEX_ERRORCHECK},
      {"pshared recursive", 0, 1, PTHREAD_MUTEX_RECURSIVE},
      {"pshared errorcheck", 0, 1, PTHREAD_MUTEX_ERRORCHECK},
  };
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; ++i) {
    pthread_mutexattr_t va;
    pthread_mutexattr_init(&va);
    pthread_mutexattr_settype(&va, variants[i].type);
    if (variants[i].robust) CHECK_RC(pthread_mutexattr_setrobust(&va, PTHREAD_MUTEX_ROBUST), 0);
    if (variants[i].pshared) CHECK_RC(pthread_mutexattr_setpshared(&va, PTHREAD_PROCESS_SHARED), 0);
    pthread_mutex_t vm;
    CHECK_RC(pthread_mutex_init(&vm, &va), 0);
    pthread_mutexattr_destroy(&va);
    char what[80];
    snprintf(what, sizeof what, "%s: lock", variants[i].name);
    show(what, pthread_mutex_lock(&vm));
    snprintf(what, sizeof what, "%s: other thread trylock", variants[i].name);
    show(what, on_other_thread(pthread_mutex_trylock, &vm));
    snprintf(what, sizeof what, "%s: other thread unlock", variants[i].name);
    show(what, on_other_thread(pthread_mutex_unlock, &vm));
    snprintf(what, sizeof what, "%s: unlock", variants[i].name);
    show(what, pthread_mutex_unlock(&vm));
    snprintf(what, sizeof what, "%s: other thread trylock+unlock", variants[i].name);
    show(what, on_other_thread(lock_unlock, &vm));
    pthread_mutex_destroy(&vm);
  }

  /* timedlock with a malformed deadline: EINVAL only when it would have to wait. */
  pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
  struct timespec bad = {0, 1000000000};
  show("timedlock free mutex, tv_nsec 1e9", pthread_mutex_timedlock(&held, &bad));
  pthread_mutex_unlock(&held);

  report_os_threads();
  return 0;
}
