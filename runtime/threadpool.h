// Runs blocking work that cannot be made cooperative (glibc's resolver, for one) on greenrun's
// own pool of native OS threads while the calling green thread parks. The pool is greenrun's
// alone: libuv's threadpool is process-global, shared with a program that uses libuv itself
// (Node), and sized through the program's environment. Invariant: the work function runs on a
// pool thread, so it may block, but must not touch the hub or any green thread.
#pragma once
#include <cerrno>

namespace greenrun::rt {

// Runs work(arg) on a pool thread and parks until it has returned. Returns 0, or a negative
// errno if the work could not be handed to a thread (it then has not run). The work always runs
// to completion, even if the caller is interrupted: the caller waits for it regardless, since
// `arg` usually lives on the caller's stack.
int run_in_threadpool(void (*work)(void* arg), void* arg);

// Runs call() on a pool thread, parked until it returns, and gives back its result. errno is
// per OS thread: the pool thread starts with the caller's, and the caller gets the pool
// thread's back, so a call that leaves errno alone leaves it alone for the caller too. If no
// pool thread can take it, the call runs here instead (blocking the hub, but done).
template <class Call>
auto call_in_threadpool(Call call) {
  using Result = decltype(call());
  struct Job {
    Call* call;
    Result result;
    int error;
  };
  Job job{&call, Result{}, errno};
  auto work = [](void* arg) {
    Job* j = static_cast<Job*>(arg);
    errno = j->error;
    j->result = (*j->call)();
    j->error = errno;
  };
  if (run_in_threadpool(work, &job) != 0) return call();
  errno = job.error;
  return job.result;
}

// At most this many pool threads (started as work arrives and none is idle; default 64, so
// that about that many name lookups run at once). Takes effect for threads not yet started.
void size_threadpool(unsigned threads);

// In the child of fork(): the parent's pool threads do not exist there; start afresh.
void reset_threadpool_after_fork();

}  // namespace greenrun::rt
