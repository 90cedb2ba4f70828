// Thread pointer on x86-64: the %fs base. wrfsbase needs both the CPU feature and the kernel's
// consent (Linux 5.9+ sets HWCAP2_FSGSBASE in the auxiliary vector when user space may use
// it); without it the instruction faults, so the choice is made once, from AT_HWCAP2.
#include <asm/prctl.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "thread_pointer.h"

namespace greenrun::rt {
namespace {

constexpr unsigned long kHwcap2Fsgsbase = 1ul << 1;  // HWCAP2_FSGSBASE

// Read once; a plain global rather than a function-local static, whose guard would be checked
// on every switch. Before the constructor runs nobody switches threads.
bool g_wrfsbase = false;
[[gnu::constructor]] void decide() { g_wrfsbase = (getauxval(AT_HWCAP2) & kHwcap2Fsgsbase) != 0; }

bool can_wrfsbase() { return g_wrfsbase; }

}  // namespace

void* read_thread_pointer() {
  void* tp;
  __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));  // glibc keeps tcb->tcb == tp at %fs:0
  return tp;
}

void write_thread_pointer(void* tp) {
  if (can_wrfsbase()) [[likely]] {
    __asm__ volatile("wrfsbase %0" : : "r"(tp) : "memory");
  } else {
    // A raw system call: syscall() is interposed by the preload.
    long rc;
    __asm__ volatile("syscall"
                     : "=a"(rc)
                     : "0"(SYS_arch_prctl), "D"(ARCH_SET_FS), "S"(tp)
                     : "rcx", "r11", "memory");
    (void)rc;
  }
}

const char* thread_pointer_method() { return can_wrfsbase() ? "wrfsbase" : "arch_prctl"; }

}  // namespace greenrun::rt
