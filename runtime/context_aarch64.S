/* greenrun_context_switch(void** save_sp, void* load_sp) — AAPCS64.
 *
 * Frame left on the suspended stack (low address first), 176 bytes:
 *   +0   x19, x20     +16  x21, x22     +32  x23, x24     +48  x25, x26
 *   +64  x27, x28     +80  x29 (fp), x30 (lr)
 *   +96  d8, d9       +112 d10, d11     +128 d12, d13     +144 d14, d15
 *   +160 resume pc    +168 fpcr         (FPCR rounding/trap controls are callee-saved)
 * The resume pc is normally the lr of our caller; a fresh context built by makecontext has a pc
 * that differs from its lr (__startcontext), hence the separate slot. Resumption uses
 * `ret x16`, a return, as the x86-64 switch does: the runtime always switches from one call
 * site, so the return-address predictor stays in step (see context_x86_64.S).
 */
    .text
    .globl  greenrun_context_switch
    .hidden greenrun_context_switch
    .type   greenrun_context_switch, %function
    .p2align 4
greenrun_context_switch:
    sub     sp, sp, #176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8,  d9,  [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mrs     x9, fpcr
    stp     x30, x9,  [sp, #160]
    mov     x9, sp
    str     x9, [x0]            /* publish where the suspended context resumes */

    mov     sp, x1              /* adopt the target's stack */
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    ldp     x16, x9,  [sp, #160]
    msr     fpcr, x9
    add     sp, sp, #176
    ret     x16
    .size   greenrun_context_switch, .-greenrun_context_switch

    .section .note.GNU-stack,"",@progbits
