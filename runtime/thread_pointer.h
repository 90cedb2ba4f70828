// The CPU's thread pointer: the register glibc finds a thread's TLS and thread descriptor
// through (%fs base on x86-64, tpidr_el0 on AArch64). Switching it is what gives each green
// pthread its own thread-local variables, errno and stack-protector state.
// Invariant: write_thread_pointer() is only called by the switch, immediately before the
// register switch, so no TLS access ever happens between the two.
#pragma once

namespace greenrun::rt {

// The calling OS thread's thread pointer.
void* read_thread_pointer();

// Points the calling OS thread's TLS at `tp`. x86-64: `wrfsbase` where the kernel allows it
// (AT_HWCAP2 has FSGSBASE; ~12 ns here), otherwise arch_prctl(ARCH_SET_FS) (~170 ns).
// Inline where it matters: it is part of every switch between green pthreads.
void write_thread_pointer(void* tp);

// Which way write_thread_pointer works here ("wrfsbase", "arch_prctl", "msr tpidr_el0"), for
// benchmarks and the statistics.
const char* thread_pointer_method();

}  // namespace greenrun::rt
