// greenrun's pool of native OS threads for blocking work. Threads start as jobs arrive while
// none is idle, up to the limit, and then wait for more; they block every signal, so that
// process-directed signals reach the program's own threads (as libuv's pool threads do).
// A finished job goes back to its hub through Hub::post(), which readies the parked caller on
// the hub's OS thread. While a job is out, the hub counts an external waker, so that a thread
// waiting for it is never taken for deadlocked.
#include "threadpool.h"

#include <pthread.h>
#include <sys/prctl.h>

#include <cerrno>

#include "hub.h"
#include "service_thread.h"

namespace greenrun::rt {
namespace {

struct Job : RemoteTask {
  void (*work)(void*) = nullptr;
  void* arg = nullptr;
  GreenThread* waiter = nullptr;
  Job* next_job = nullptr;
  bool done = false;
};

// Shared between the hub's OS thread and the pool's: guarded by `lock`, a real mutex (callers
// are inside a RuntimeCall, and pool threads are native, so the shims pass these through).
struct Pool {
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
  Job* head = nullptr;
  Job* tail = nullptr;
  unsigned threads = 0;
  unsigned idle = 0;
  unsigned limit = 64;
};

Pool& pool() {
  static auto* p = new Pool();  // leaked: pool threads may outlive static destructors
  return *p;
}

void finish(RemoteTask* task) {  // on the hub's OS thread
  auto* job = static_cast<Job*>(task);
  Hub* hub = job->waiter->hub;
  job->done = true;
  hub->remove_external_waker();
  hub->scheduler().ready(job->waiter);
}

void* worker(void*) {
  prctl(PR_SET_NAME, "greenrun-pool");  // greenrun's own, for anyone listing the threads
  Pool& p = pool();
  pthread_mutex_lock(&p.lock);
  for (;;) {
    while (!p.head) {
      ++p.idle;
      pthread_cond_wait(&p.work_ready, &p.lock);
      --p.idle;
    }
    Job* job = p.head;
    p.head = job->next_job;
    if (!p.head) p.tail = nullptr;
    pthread_mutex_unlock(&p.lock);
    job->work(job->arg);
    job->run = &finish;
    job->waiter->hub->post(job);  // the job is the caller's: not touched after this
    pthread_mutex_lock(&p.lock);
  }
}

// Queues `job`, starting a thread if none is idle and the limit allows. 0 or an errno.
int submit(Job* job) {
  Pool& p = pool();
  pthread_mutex_lock(&p.lock);
  if (p.tail) p.tail->next_job = job; else p.head = job;
  p.tail = job;
  int rc = 0;
  if (p.idle == 0 && p.threads < p.limit) {
    rc = start_service_thread(&worker, nullptr);
    if (rc == 0) ++p.threads;
    else if (p.threads > 0) rc = 0;  // a running thread will get to it
  } else {
    pthread_cond_signal(&p.work_ready);
  }
  if (rc != 0) {  // no thread to run it: take it back (it is the last in the queue)
    Job** link = &p.head;
    Job* previous = nullptr;
    while (*link != job) previous = *link, link = &(*link)->next_job;
    *link = nullptr;
    p.tail = previous;
  }
  pthread_mutex_unlock(&p.lock);
  return rc;
}

}  // namespace

int run_in_threadpool(void (*work)(void*), void* arg) {
  GreenThread* self = current();
  Job job;
  job.work = work;
  job.arg = arg;
  job.waiter = self;
  self->hub->add_external_waker();  // before the job can finish and remove it
  int rc;
  {
    RuntimeCall runtime;  // the pool's mutex and pthread_create must be libc's own
    rc = submit(&job);
  }
  if (rc != 0) {
    self->hub->remove_external_waker();
    return -rc;
  }
  ++self->hub->stats().threadpool_jobs;
  // An interruption (kill, Timeout) is held back until the job is done: park() would return at
  // once while one is pending, and `arg` must outlive the work.
  std::exception_ptr pending = std::move(self->pending_throw);
  self->pending_throw = nullptr;
  while (!job.done) self->hub->scheduler().park(WaitReason::threadpool, &job);
  if (pending && !self->pending_throw) self->pending_throw = std::move(pending);
  return 0;
}

void size_threadpool(unsigned threads) { pool().limit = threads ? threads : 1; }

void reset_threadpool_after_fork() {
  Pool& p = pool();
  p = Pool{.limit = p.limit};  // its threads and their jobs stayed in the parent
}

}  // namespace greenrun::rt
