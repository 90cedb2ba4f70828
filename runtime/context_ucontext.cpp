// Portable fallback: makecontext/swapcontext. Correct everywhere, but glibc's swapcontext makes
// an rt_sigprocmask system call on every switch, so the register backends are preferred.
// The ucontext_t of a made context lives at the top of its own stack; an adopted context (an OS
// thread's original stack) gets one from the heap the first time it is switched from.
#include <ucontext.h>

#include <cstdint>
#include <new>

#include "context.h"

namespace greenrun::rt {

void context_make(Context& ctx, void* stack_lo, std::size_t stack_size, void (*entry)()) {
  auto top = reinterpret_cast<std::uintptr_t>(stack_lo) + stack_size;
  auto slot = (top - sizeof(ucontext_t)) & ~std::uintptr_t{63};
  auto* uc = new (reinterpret_cast<void*>(slot)) ucontext_t{};
  getcontext(uc);
  uc->uc_stack.ss_sp = stack_lo;
  uc->uc_stack.ss_size = slot - reinterpret_cast<std::uintptr_t>(stack_lo);
  uc->uc_link = nullptr;
  makecontext(uc, entry, 0);
  ctx.saved = uc;
}

void context_switch(Context& from, Context& to) {
  // Adopted contexts are few (one per OS thread that uses greenrun) and live as long as it.
  if (!from.saved) from.saved = new ucontext_t{};
  swapcontext(static_cast<ucontext_t*>(from.saved), static_cast<ucontext_t*>(to.saved));
}

bool context_registers(const Context& ctx, ucontext_t* uc) {
  if (!ctx.saved) return false;
  uc->uc_mcontext = static_cast<const ucontext_t*>(ctx.saved)->uc_mcontext;
  return true;
}

const char* context_backend() { return "ucontext"; }

}  // namespace greenrun::rt
