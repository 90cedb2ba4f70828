// Thread pointer on AArch64: tpidr_el0, writable from user space.
#include "thread_pointer.h"

namespace greenrun::rt {

void* read_thread_pointer() {
  void* tp;
  __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
  return tp;
}

void write_thread_pointer(void* tp) { __asm__ volatile("msr tpidr_el0, %0" : : "r"(tp) : "memory"); }

const char* thread_pointer_method() { return "msr tpidr_el0"; }

}  // namespace greenrun::rt
