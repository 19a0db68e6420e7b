/*
 * Catching CPU exceptions on purpose, for the self-tests: run a function
 * that is expected to fault, and get back what the CPU reported instead
 * of an exception dump.
 *
 * The return point is saved when run_catching is called (callee-saved
 * registers and rsp, like setjmp), not derived from the faulting
 * instruction, so recovery works for any fault: a fetch from a
 * non-executable page (where rip is the bad target), a #DF that arrived
 * on its IST stack after a stack overflow, a #GP from a bad selector.
 */
#ifndef KERNEL_CATCH_H
#define KERNEL_CATCH_H

#include "common/lib/types.h"

struct trap_frame;

/* What the CPU reported for a caught exception. */
struct caught {
	uint64_t vector;
	uint64_t error; /* 0 for vectors without an error code */
	uint64_t cr2; /* at delivery; meaningful for #PF (and #DF after one) */
	uint64_t rip; /* the instruction the CPU reported */
	uint64_t rsp; /* the interrupted stack pointer */
	uint64_t frame; /* where the trap frame was: which stack took it */
	bool resumed;   /* an int3: recorded, and fn went on after it */
};

/*
 * Runs fn(arg). Returns false when fn returned without an exception.
 * Returns true when an exception (any vector but NMI and #MC, which the
 * code under test does not cause) was raised while fn ran, with *out
 * describing it:
 *  - a fault or abort abandons fn: run_catching returns as if fn had
 *    returned, with the interrupt flag as it was at the call and
 *    RFLAGS.AC clear; whatever fn had not undone stays as it was (e.g. a
 *    mapping it made);
 *  - #BP (int3) is recorded with out->resumed set and fn continues after
 *    the int3.
 * Calls nest: an exception goes to the innermost run_catching of the CPU
 * it happened on (each CPU has its own, in its struct percpu). Interrupts
 * (vectors 32 and up) are never caught: they go to their handlers.
 */
bool run_catching(void (*fn)(void *), void *arg, struct caught *out);

/* For trap_dispatch: when a run_catching is active and takes f's vector,
 * records f and edits it to resume there (or, for #BP, after the int3);
 * returns true. Returns false when the exception is not caught. */
bool catch_fixup(struct trap_frame *f);

#endif
