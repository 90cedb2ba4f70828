// Saved execution contexts and the switch between them.
// Invariant: a Context is either running (its fields are stale) or suspended (they describe
// exactly where it resumes); context_switch is the only way to move between the two.
#pragma once
#include <ucontext.h>

#include <cstddef>

namespace greenrun::rt {

// What every backend provides (context_<arch>.S + context_frame_<arch>.cpp, or
// context_ucontext.cpp as the portable fallback):
//   - context_make builds the first frame of a new context with makecontext(3) on the given
//     stack, so that the first switch to it calls entry() with a 16-byte aligned stack.
//     entry must never return: a finished context switches away for the last time.
//   - context_switch saves what the ABI says survives a call (callee-saved registers, stack
//     pointer, SSE/x87 control words) into `from`, then resumes `to`. No system call.
//   - A Context that was never made (an adopted OS thread, zero-initialised) may be switched
//     from: the switch fills it in.
struct Context {
  void* saved = nullptr;  // asm backends: the suspended stack pointer; ucontext: a ucontext_t*
};

void context_make(Context& ctx, void* stack_lo, std::size_t stack_size, void (*entry)());
void context_switch(Context& from, Context& to);

// For the stack dump: writes the registers a suspended context resumes with (pc, sp, frame
// pointer and the callee-saved ones) into `uc`, which holds a unw_getcontext snapshot
// (libunwind's unw_context_t is a ucontext_t on Linux), so that unw_init_local walks the
// suspended stack. False when the context is not suspended or the backend cannot say.
bool context_registers(const Context& ctx, ucontext_t* uc);

// Name of the compiled-in backend ("x86_64", "aarch64" or "ucontext"), for benchmarks and tests.
const char* context_backend();

}  // namespace greenrun::rt
