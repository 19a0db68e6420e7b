/*
 * run_catching and the trap handler's side of it. See catch.h.
 */
#include "kernel/cpu/catch.h"

#include "common/lib/string.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/trap.h"

/* One active run_catching; lives on catch_call's stack (catch.S knows the
 * layout). The innermost one is this CPU's catch_top (struct percpu). */
struct catch_record {
	struct catch_record *prev;
	struct caught *out;
	uint64_t rflags; /* at the call */
};

/* kernel/cpu/catch.S */
uint64_t catch_call(void (*fn)(void *), void *arg, struct caught *out);
extern const char catch_resume[];

bool run_catching(void (*fn)(void *), void *arg, struct caught *out)
{
	mem_set(out, 0, sizeof(*out));
	bool unwound = catch_call(fn, arg, out) != 0;
	return unwound || out->resumed;
}

bool catch_fixup(struct trap_frame *f)
{
	struct catch_record *r = this_cpu()->catch_top;

	/* NMI and #MC come from outside the code under test. */
	if (!r || f->vector == TRAP_NMI || f->vector == TRAP_MC)
		return false;
	*r->out = (struct caught){
	    .vector = f->vector,
	    .error = f->error,
	    .cr2 = read_cr2(),
	    .rip = f->rip,
	    .rsp = f->rsp,
	    .frame = (uint64_t)(uintptr_t)f,
	};
	if (f->vector == TRAP_BP) {
		/* A trap: rip is already after the int3. */
		r->out->resumed = true;
		return true;
	}
	/*
	 * Resume in catch_call with the stack it had at the call. IRETQ
	 * loads rsp from the frame even at the same privilege level, so
	 * this also leaves an IST stack. RFLAGS: the interrupt flag the
	 * caller had, and AC, DF, TF and NT cleared whatever the abandoned
	 * code had set (a stac before a faulting access).
	 */
	f->rip = (uint64_t)(uintptr_t)catch_resume;
	f->rsp = (uint64_t)(uintptr_t)r;
	f->rflags = RFLAGS_RESERVED | (r->rflags & RFLAGS_IF);
	return true;
}
