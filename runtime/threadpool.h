// Runs blocking work that cannot be made cooperative (glibc's resolver, for one) on greenrun's
// own pool of native OS threads while the calling green thread parks. The pool is greenrun's
// alone: libuv's threadpool is process-global, shared with a program that uses libuv itself
// (Node), and sized through the program's environment. Invariant: the work function runs on a
// pool thread, so it may block, but must not touch the hub or any green thread.
#pragma once

namespace greenrun::rt {

// Runs work(arg) on a pool thread and parks until it has returned. Returns 0, or a negative
// errno if the work could not be handed to a thread (it then has not run). The work always runs
// to completion, even if the caller is interrupted: the caller waits for it regardless, since
// `arg` usually lives on the caller's stack.
int run_in_threadpool(void (*work)(void* arg), void* arg);

// At most this many pool threads (started as work arrives and none is idle; default 64, so
// that about that many name lookups run at once). Takes effect for threads not yet started.
void size_threadpool(unsigned threads);

// In the child of fork(): the parent's pool threads do not exist there; start afresh.
void reset_threadpool_after_fork();

}  // namespace greenrun::rt
