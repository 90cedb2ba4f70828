// First frame of a new context for the AArch64 register switch.
// makecontext(3) decides the entry registers (pc, sp, lr = __startcontext, x19 = uc_link); we
// lay them out as the frame context_aarch64.S loads.
#include <ucontext.h>

#include <cstdint>

#include "context.h"

extern "C" void greenrun_context_switch(void** save_sp, void* load_sp);

namespace greenrun::rt {
namespace {

struct SwitchFrame {  // mirrors the table at the top of context_aarch64.S
  std::uint64_t x19_to_x28[10];
  std::uint64_t fp, lr;
  std::uint64_t d8_to_d15[8];
  std::uint64_t resume_pc;
  std::uint64_t fpcr;
};
static_assert(sizeof(SwitchFrame) == 176);

}  // namespace

void context_make(Context& ctx, void* stack_lo, std::size_t stack_size, void (*entry)()) {
  ucontext_t uc{};
  uc.uc_stack.ss_sp = stack_lo;
  uc.uc_stack.ss_size = stack_size;
  uc.uc_link = nullptr;
  makecontext(&uc, entry, 0);

  auto* frame = reinterpret_cast<SwitchFrame*>(uc.uc_mcontext.sp - sizeof(SwitchFrame));
  *frame = SwitchFrame{};
  frame->x19_to_x28[0] = uc.uc_mcontext.regs[19];
  frame->fp = 0;
  frame->lr = uc.uc_mcontext.regs[30];
  frame->resume_pc = uc.uc_mcontext.pc;
  frame->fpcr = __builtin_aarch64_get_fpcr64();
  ctx.saved = frame;
}

void context_switch(Context& from, Context& to) { greenrun_context_switch(&from.saved, to.saved); }

bool context_registers(const Context& ctx, ucontext_t* uc) {
  if (!ctx.saved) return false;
  const auto* frame = static_cast<const SwitchFrame*>(ctx.saved);
  for (int i = 0; i < 10; ++i) uc->uc_mcontext.regs[19 + i] = frame->x19_to_x28[i];
  uc->uc_mcontext.regs[29] = frame->fp;
  uc->uc_mcontext.regs[30] = frame->lr;
  uc->uc_mcontext.sp = reinterpret_cast<std::uint64_t>(frame + 1);
  uc->uc_mcontext.pc = frame->resume_pc;
  return true;
}

const char* context_backend() { return "aarch64"; }

}  // namespace greenrun::rt
