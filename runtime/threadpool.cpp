#include "threadpool.h"

#include <uv.h>

#include <cstdio>
#include <cstdlib>

#include "hub.h"

namespace greenrun::rt {
namespace {

struct Job {
  uv_work_t request;  // first member: the callbacks get a uv_work_t*
  void (*work)(void*);
  void* arg;
  GreenThread* waiter;
  bool done = false;
};

void run_job(uv_work_t* request) {
  Job* job = reinterpret_cast<Job*>(request);
  job->work(job->arg);
}

void job_done(uv_work_t* request, int) {
  Job* job = reinterpret_cast<Job*>(request);
  job->done = true;
  job->waiter->hub->scheduler().ready(job->waiter);
}

}  // namespace

int run_in_threadpool(void (*work)(void*), void* arg) {
  GreenThread* self = current();
  Job job{{}, work, arg, self};
  int rc;
  {
    RuntimeCall runtime;  // libuv takes its threadpool mutex here: it must stay a real mutex
    rc = uv_queue_work(self->hub->loop(), &job.request, &run_job, &job_done);
  }
  if (rc != 0) return rc;
  ++self->hub->stats().threadpool_jobs;
  // An interruption (kill, Timeout) is held back until the job is done: park() would return at
  // once while one is pending, and `arg` must outlive the work.
  std::exception_ptr pending = std::move(self->pending_throw);
  self->pending_throw = nullptr;
  while (!job.done) self->hub->scheduler().park(WaitReason::threadpool, &job);
  if (pending && !self->pending_throw) self->pending_throw = std::move(pending);
  return 0;
}

void size_threadpool(unsigned threads) {
  if (std::getenv("UV_THREADPOOL_SIZE")) return;
  char value[16];
  std::snprintf(value, sizeof value, "%u", threads);
  setenv("UV_THREADPOOL_SIZE", value, 0);
}

}  // namespace greenrun::rt
