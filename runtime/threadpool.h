// Runs blocking work that cannot be made cooperative (glibc's resolver, for one) on libuv's
// threadpool while the calling green thread parks. Invariant: the work function runs on a
// native threadpool thread, so it may block, but must not touch the hub or any green thread.
#pragma once

namespace greenrun::rt {

// Runs work(arg) on a threadpool thread and parks until it has returned. Returns 0, or a
// negative errno if the work could not be queued (it then has not run). The work always runs
// to completion, even if the caller is interrupted: the caller waits for it regardless, since
// `arg` usually lives on the caller's stack.
int run_in_threadpool(void (*work)(void* arg), void* arg);

// Sizes libuv's pool (UV_THREADPOOL_SIZE) before its first use, unless the user set it: the
// default of 4 would serialise concurrent DNS lookups. No effect once the pool has started.
void size_threadpool(unsigned threads);

}  // namespace greenrun::rt
