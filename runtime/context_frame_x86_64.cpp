// First frame of a new context for the x86-64 register switch: the frame context_x86_64.S pops,
// resuming at the entry function with the stack aligned as after a call.
#include <ucontext.h>

#include <cstdint>

#include "context.h"

extern "C" void greenrun_context_switch(void** save_sp, void* load_sp);

namespace greenrun::rt {
namespace {

struct SwitchFrame {  // mirrors the table at the top of context_x86_64.S
  std::uint32_t mxcsr;
  std::uint16_t x87_control;
  std::uint16_t padding;
  std::uint64_t r15, r14, r13, r12, rbx, rbp;
  std::uint64_t resume_address;
};
static_assert(sizeof(SwitchFrame) == 64);

}  // namespace

void context_make(Context& ctx, void* stack_lo, std::size_t stack_size, void (*entry)()) {
  // As a call would leave it: entry starts with rsp = 8 (mod 16), above it a zero return
  // address, which ends every backtrace there. Written directly rather than with makecontext,
  // whose ucontext_t (nearly 1 KiB to clear) was a tenth of a thread's creation.
  auto top = reinterpret_cast<std::uintptr_t>(stack_lo) + stack_size;
  auto* entry_sp = reinterpret_cast<std::uint64_t*>((top & ~std::uintptr_t{15}) - 8);
  *entry_sp = 0;
  auto* frame = reinterpret_cast<SwitchFrame*>(entry_sp) - 1;
  *frame = SwitchFrame{};
  // A new context starts with the control words of the thread that made it, as a pthread does.
  __asm__ volatile("stmxcsr %0" : "=m"(frame->mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(frame->x87_control));
  frame->resume_address = reinterpret_cast<std::uint64_t>(entry);
  ctx.saved = frame;
}

void context_switch(Context& from, Context& to) { greenrun_context_switch(&from.saved, to.saved); }

bool context_registers(const Context& ctx, ucontext_t* uc) {
  if (!ctx.saved) return false;
  const auto* frame = static_cast<const SwitchFrame*>(ctx.saved);
  greg_t* r = uc->uc_mcontext.gregs;
  r[REG_RIP] = static_cast<greg_t>(frame->resume_address);
  r[REG_RSP] = reinterpret_cast<greg_t>(frame + 1);  // as after the switch's `ret`
  r[REG_RBP] = static_cast<greg_t>(frame->rbp);
  r[REG_RBX] = static_cast<greg_t>(frame->rbx);
  r[REG_R12] = static_cast<greg_t>(frame->r12);
  r[REG_R13] = static_cast<greg_t>(frame->r13);
  r[REG_R14] = static_cast<greg_t>(frame->r14);
  r[REG_R15] = static_cast<greg_t>(frame->r15);
  return true;
}

const char* context_backend() { return "x86_64"; }

}  // namespace greenrun::rt
