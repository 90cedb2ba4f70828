/* greenrun_context_switch(void** save_sp, void* load_sp) — System V x86-64.
 *
 * Frame left on the suspended stack (low address first), 64 bytes:
 *   +0   MXCSR (4 bytes)      SSE control/status: rounding mode and exception masks are callee-saved
 *   +4   x87 control word (2) precision and rounding control, also callee-saved
 *   +8   r15
 *   +16  r14
 *   +24  r13
 *   +32  r12
 *   +40  rbx
 *   +48  rbp
 *   +56  resume address       pushed by our caller's `call`
 * Resumption returns with `ret`. The return-stack predictor then expects the address the
 * suspending side was called from, which is right whenever both sides suspended at the same call
 * site: each switching function of the runtime (Scheduler::switch_away, Greenlet::switch_to, the
 * C API's switch; rt::switch_to is inline in them) has one, and a thread is mostly resumed by
 * one of its kind. The predictor then stays in step for every return after it. `pop` + `jmp`
 * instead leaves one stale entry on the predictor per switch, and every later return of the
 * resumed side is then mispredicted. Measured with tests/bench (ns per switch, ret vs pop+jmp):
 * greenlet ping-pong 10.1 vs 17.6, scheduler park+wake 12.3 vs 28.4, Event 27.8 vs 45.6; only a
 * bare ping-pong between two loops that never return, switch.raw_two_sites, is faster with
 * `jmp` (4.7 vs 11). The one return that differs between two sides of a greenlet ping-pong,
 * into the code that called the switch, is taken with pop + jmp at the API instead (see
 * GREENRUN_SWITCH_RETURN in api/api_internal.h).
 *
 * The control words cost most of the switch: 4.7 ns with them, 1.6 ns without, nearly all of it
 * in stmxcsr (saving alone: 4.1 ns). Restoring only when the target's words differ from ours
 * (compare, then ldmxcsr/fldcw if needed) measured slower, 6.1 ns, so both are always restored.
 */
    .text
    .globl  greenrun_context_switch
    .hidden greenrun_context_switch
    .type   greenrun_context_switch, @function
    .p2align 4
greenrun_context_switch:
    .cfi_startproc
    endbr64
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)        /* publish where the suspended context resumes */

    movq    %rsi, %rsp          /* adopt the target's stack */
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   greenrun_context_switch, .-greenrun_context_switch

    .section .note.GNU-stack,"",@progbits
