// The entry a preempting signal handler makes the interrupted green thread return into (Go's
// asyncPreempt, for C code): the handler pushed the interrupted instruction's address 128 bytes
// below the interrupted stack pointer (the red zone a leaf function may use is left alone) and
// set the instruction pointer here. Everything the interrupted code may hold in registers is
// saved — flags, the general registers, and the whole extended state with XSAVE (x87, SSE, AVX
// and beyond, as XCR0 enables) — then greenrun_preempted() switches to other green threads and
// returns when this one is scheduled again; the state comes back and `ret 128` lands on the
// interrupted instruction with the stack pointer it had.
    .text
    .globl greenrun_async_preempt
    .hidden greenrun_async_preempt
    .type greenrun_async_preempt, @function
greenrun_async_preempt:
    .cfi_startproc
    // For unwinders (stack dumps): the caller's stack pointer is 136 bytes up, the interrupted
    // instruction's address right here.
    .cfi_def_cfa_offset 136
    .cfi_offset %rip, -136
    pushfq
    .cfi_adjust_cfa_offset 8
    pushq %rax
    .cfi_adjust_cfa_offset 8
    pushq %rcx
    .cfi_adjust_cfa_offset 8
    pushq %rdx
    .cfi_adjust_cfa_offset 8
    pushq %rsi
    .cfi_adjust_cfa_offset 8
    pushq %rdi
    .cfi_adjust_cfa_offset 8
    pushq %r8
    .cfi_adjust_cfa_offset 8
    pushq %r9
    .cfi_adjust_cfa_offset 8
    pushq %r10
    .cfi_adjust_cfa_offset 8
    pushq %r11
    .cfi_adjust_cfa_offset 8
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbx, 0
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %rbp, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r12, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r13, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r14, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset %r15, 0
    movq %rsp, %rbx                        // callee-saved: the frame above the XSAVE area
    .cfi_def_cfa_register %rbx
    andq $-64, %rsp                        // XSAVE wants 64-byte alignment
    subq greenrun_xsave_size(%rip), %rsp   // a multiple of 64
    // XRSTOR faults on a non-zero reserved header: clear the 64-byte header at offset 512.
    xorl %eax, %eax
    movq %rax, 512(%rsp)
    movq %rax, 520(%rsp)
    movq %rax, 528(%rsp)
    movq %rax, 536(%rsp)
    movq %rax, 544(%rsp)
    movq %rax, 552(%rsp)
    movq %rax, 560(%rsp)
    movq %rax, 568(%rsp)
    movl $-1, %eax
    movl $-1, %edx
    xsave64 (%rsp)
    cld                                    // the C ABI's direction flag
    call greenrun_preempted
    movl $-1, %eax
    movl $-1, %edx
    xrstor64 (%rsp)
    movq %rbx, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    popfq
    ret $128
    .cfi_endproc
    .size greenrun_async_preempt, .-greenrun_async_preempt

    .section .note.GNU-stack,"",@progbits
