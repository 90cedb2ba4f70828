/* A thread that waits for another by spinning on tries that fail at once: a trylock on a lock
 * the other thread holds (pthread mutex, rwlock, spinlock, C11 mtx, ftrylockfile), sem_trywait
 * before it posts, and EAGAIN from calls the program asked not to block (O_NONBLOCK pipes and
 * listeners, MSG_DONTWAIT). The other thread parks three times before it lets go, as natively
 * it would run on another CPU meanwhile. Each mode must finish, as it does natively; run with
 * preemption off (GREENRUN_TIMESLICE=0), only the spinner's own calls can let the other run.
 * usage: spin_tries [MODE...] (no MODE: every one, in turn) */
#include "progs.h" /* first: it defines _GNU_SOURCE */

#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <threads.h>
#include <unistd.h>

enum { kValue = 42 };

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spinlock;
static mtx_t c11_mutex;
static FILE* file;
static sem_t posted, holding;
static int fds[2];
static struct sockaddr_in listen_address;
static volatile int value;

/* The other thread's work: three parks, then its value. */
static void work(void) {
  for (int i = 0; i < 3; ++i) usleep(2000);
  value = kValue;
}

/* A mode: what the other thread does (hold something, or act at the end of its work), and how
 * the spinning thread tries until it succeeds. */
struct mode {
  const char* name;
  void* (*other)(void*);
  void (*spin)(void);
  int holds; /* the other thread takes something first, and says so on `holding` */
};

/* Locks: held for the whole of the work. */
static void* hold_mutex(void* arg) {
  CHECK_RC(pthread_mutex_lock(&mutex), 0);
  sem_post(&holding);
  work();
  CHECK_RC(pthread_mutex_unlock(&mutex), 0);
  return arg;
}
static void spin_mutex(void) {
  int rc;
  while ((rc = pthread_mutex_trylock(&mutex)) != 0) CHECK_RC(rc, EBUSY);
  CHECK_RC(pthread_mutex_unlock(&mutex), 0);
}

static void* hold_rwlock(void* arg) {
  CHECK_RC(pthread_rwlock_wrlock(&rwlock), 0);
  sem_post(&holding);
  work();
  CHECK_RC(pthread_rwlock_unlock(&rwlock), 0);
  return arg;
}
static void spin_rwlock_read(void) {
  int rc;
  while ((rc = pthread_rwlock_tryrdlock(&rwlock)) != 0) CHECK_RC(rc, EBUSY);
  CHECK_RC(pthread_rwlock_unlock(&rwlock), 0);
}
static void spin_rwlock_write(void) {
  int rc;
  while ((rc = pthread_rwlock_trywrlock(&rwlock)) != 0) CHECK_RC(rc, EBUSY);
  CHECK_RC(pthread_rwlock_unlock(&rwlock), 0);
}

static void* hold_spinlock(void* arg) {
  CHECK_RC(pthread_spin_lock(&spinlock), 0);
  sem_post(&holding);
  work();
  CHECK_RC(pthread_spin_unlock(&spinlock), 0);
  return arg;
}
static void spin_spinlock(void) {
  int rc;
  while ((rc = pthread_spin_trylock(&spinlock)) != 0) CHECK_RC(rc, EBUSY);
  CHECK_RC(pthread_spin_unlock(&spinlock), 0);
}

static void* hold_c11_mutex(void* arg) {
  CHECK_EQ(mtx_lock(&c11_mutex), thrd_success);
  sem_post(&holding);
  work();
  CHECK_EQ(mtx_unlock(&c11_mutex), thrd_success);
  return arg;
}
static void spin_c11_mutex(void) {
  int rc;
  while ((rc = mtx_trylock(&c11_mutex)) != thrd_success) CHECK_EQ(rc, thrd_busy);
  CHECK_EQ(mtx_unlock(&c11_mutex), thrd_success);
}

static void* hold_file(void* arg) {
  flockfile(file);
  sem_post(&holding);
  work();
  funlockfile(file);
  return arg;
}
static void spin_file(void) {
  while (ftrylockfile(file) != 0) {
  }
  funlockfile(file);
}

/* A count and descriptors: the other thread posts, writes, reads or connects after its work. */
static void* post_later(void* arg) {
  work();
  sem_post(&posted);
  return arg;
}
static void spin_sem(void) {
  while (sem_trywait(&posted) != 0) CHECK_EQ(errno, EAGAIN);
}

static void* write_later(void* arg) {
  work();
  CHECK_EQ(write(fds[1], "x", 1), 1);
  return arg;
}
static void spin_read(void) {
  char c;
  ssize_t n;
  while ((n = read(fds[0], &c, 1)) != 1) {
    CHECK_EQ(n, -1);
    CHECK_EQ(errno, EAGAIN);
  }
  CHECK_EQ(c, 'x');
}

static void* drain_later(void* arg) {
  work();
  char buf[4096];
  int flags = fcntl(fds[0], F_GETFL);
  CHECK_EQ(fcntl(fds[0], F_SETFL, flags | O_NONBLOCK), 0);
  while (read(fds[0], buf, sizeof buf) > 0) {
  }
  CHECK_EQ(errno, EAGAIN);
  return arg;
}
static void spin_write(void) {
  ssize_t n;
  while ((n = write(fds[1], "x", 1)) != 1) {
    CHECK_EQ(n, -1);
    CHECK_EQ(errno, EAGAIN);
  }
}

static void* send_later(void* arg) {
  work();
  CHECK_EQ(send(fds[1], "y", 1, 0), 1);
  return arg;
}
static void spin_recv(void) {
  char c;
  ssize_t n;
  while ((n = recv(fds[0], &c, 1, MSG_DONTWAIT)) != 1) {
    CHECK_EQ(n, -1);
    CHECK_EQ(errno, EAGAIN);
  }
  CHECK_EQ(c, 'y');
}

static void* connect_later(void* arg) {
  work();
  int s = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_EQ(connect(s, (struct sockaddr*)&listen_address, sizeof listen_address), 0);
  CHECK_EQ(write(s, "z", 1), 1);
  close(s);
  return arg;
}
static void spin_accept(void) {
  int s;
  while ((s = accept(fds[0], NULL, NULL)) < 0) CHECK_EQ(errno, EAGAIN);
  char c = 0;
  CHECK_EQ(read(s, &c, 1), 1);  /* the accepted socket is blocking: this read may wait */
  CHECK_EQ(c, 'z');
  close(s);
}

static const struct mode modes[] = {
    {"mutex_trylock", hold_mutex, spin_mutex, 1},
    {"rwlock_tryrdlock", hold_rwlock, spin_rwlock_read, 1},
    {"rwlock_trywrlock", hold_rwlock, spin_rwlock_write, 1},
    {"spin_trylock", hold_spinlock, spin_spinlock, 1},
    {"mtx_trylock", hold_c11_mutex, spin_c11_mutex, 1},
    {"ftrylockfile", hold_file, spin_file, 1},
    {"sem_trywait", post_later, spin_sem, 0},
    {"read_nonblocking", write_later, spin_read, 0},
    {"write_nonblocking", drain_later, spin_write, 0},
    {"recv_dontwait", send_later, spin_recv, 0},
    {"accept_nonblocking", connect_later, spin_accept, 0},
};
enum { kModes = sizeof modes / sizeof modes[0] };

/* Descriptors for the I/O modes, made before the other thread starts. */
static void set_up(const char* name) {
  if (strcmp(name, "read_nonblocking") == 0) {
    CHECK_EQ(pipe2(fds, O_NONBLOCK), 0);
  } else if (strcmp(name, "write_nonblocking") == 0) {
    CHECK_EQ(pipe(fds), 0);
    CHECK_EQ(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
    while (write(fds[1], "x", 1) == 1) {  /* full */
    }
    CHECK_EQ(errno, EAGAIN);
  } else if (strcmp(name, "recv_dontwait") == 0) {
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  } else if (strcmp(name, "accept_nonblocking") == 0) {
    fds[0] = loopback_listener(SOCK_NONBLOCK, 4, &listen_address);
    fds[1] = -1;
  } else {
    fds[0] = fds[1] = -1;
  }
}

static int run(const struct mode* m) {
  set_up(m->name);
  value = 0;
  pthread_t t;
  CHECK_RC(pthread_create(&t, NULL, m->other, NULL), 0);
  if (m->holds) sem_wait(&holding);
  m->spin();
  CHECK_RC(pthread_join(t, NULL), 0);
  printf("%s: the spinning thread got through; the other thread's value is %d\n", m->name,
         value);
  for (int i = 0; i < 2; ++i)
    if (fds[i] >= 0) close(fds[i]);
  return value == kValue ? 0 : 1;
}

int main(int argc, char** argv) {
  CHECK_RC(pthread_spin_init(&spinlock, PTHREAD_PROCESS_PRIVATE), 0);
  CHECK_EQ(mtx_init(&c11_mutex, mtx_plain), thrd_success);
  CHECK_EQ(sem_init(&posted, 0, 0), 0);
  CHECK_EQ(sem_init(&holding, 0, 0), 0);
  file = fopen("/dev/null", "w");
  CHECK_EQ(file != NULL, 1);
  for (int a = 1; a < argc; ++a) {
    int known = 0;
    for (int i = 0; i < kModes; ++i) known |= strcmp(argv[a], modes[i].name) == 0;
    if (!known) {
      fprintf(stderr, "spin_tries: no mode %s\n", argv[a]);
      return 2;
    }
  }
  int status = 0;
  for (int i = 0; i < kModes; ++i) {
    int chosen = argc == 1;
    for (int a = 1; a < argc; ++a) chosen |= strcmp(argv[a], modes[i].name) == 0;
    if (chosen) status |= run(&modes[i]);
  }
  return status;
}
