// Thread-local storage of its own for a green thread, made the way glibc's pthread_create makes
// it for a new thread: a thread descriptor (glibc's struct pthread) at the thread pointer, the
// static TLS of every module below it and a DTV from the loader, all at the top of the
// thread's stack. Invariant: a block is only ever used by the green thread it was built for,
// from build() until release(); the loader's own functions do the TLS work.
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace greenrun::rt {

// What a new thread's descriptor says about its stack (pthread_getattr_np reads it back, and
// glibc's alloca cutoff reads the size).
struct StackDescription {
  void* block = nullptr;         // lowest byte of the stack memory, guard included
  std::size_t block_size = 0;    // guard included
  std::size_t guard_size = 0;    // as made (rounded to pages)
  std::size_t reported_guard_size = 0;  // as asked for
  bool user_stack = false;       // memory the program supplied (pthread_attr_setstack)
};

namespace tls {

// Checks, once, that glibc's thread descriptor layout is one we know and that the loader's TLS
// functions are there. False (with *why naming the cause) when green threads must share their
// OS thread's TLS instead; then nothing below may be called.
bool available(const char** why = nullptr);

// Bytes taken from the top of a stack for the block (alignment slack included).
std::size_t reserve();

// Builds a block in the `reserve()` bytes below `stack_top` and returns its thread pointer
// (the runtime's own thread-local slots in it are the caller's to fill). nullptr when the
// loader cannot allocate the DTV (pthread_create then reports EAGAIN, as glibc's does).
void* build(void* stack_top, const StackDescription& stack);

// True (once per change) when a module dlopen'd since the last call took static TLS (an
// initial-exec TLS model library): glibc initialises it only in the threads it knows, so green
// threads that already exist find it zeroed. For a one-line diagnostic.
bool static_tls_grew();

// The thread id glibc finds in the descriptor (its recursive locks record it as the owner).
void set_tid(void* tp, pid_t tid);

// On the new thread, before its body runs: what glibc's start_thread does first (the locale's
// character tables, the resolver state pointer).
void start_on_current_thread();

// On the exiting thread, after its body: the C++ thread_local destructors
// (__cxa_thread_atexit_impl), which glibc runs before the pthread_key destructors.
void run_thread_local_destructors();

// After the thread is gone: frees the DTV, dynamically allocated TLS and the per-thread
// buffers glibc keeps in the descriptor. The memory of the block goes with its stack.
void release(void* tp);

// malloc's per-thread words (tcache, thread_arena) in the block at `tp`: green threads of one
// OS thread share that OS thread's, so a thread that moves to another OS thread (a hand-off)
// must take that one's. Both are no-ops where the words were not found.
void read_malloc_state(const void* tp, std::uintptr_t words[2]);
void write_malloc_state(void* tp, const std::uintptr_t words[2]);

// For tests and the statistics: the static TLS size (thread descriptor included).
std::size_t static_size();

}  // namespace tls
}  // namespace greenrun::rt
