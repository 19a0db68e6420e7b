/*
 * What the self-test files share: the test table's shape, the helpers the
 * tests call, and probes that touch an address with exactly one
 * instruction (inline assembly, so the compiler can neither fold nor
 * reorder an access that is meant to fault, nor treat a null or
 * non-canonical pointer as undefined behaviour).
 *
 * Internal to kernel/selftest*.c; kernel/selftest/selftest.h is the interface.
 */
#ifndef KERNEL_SELFTEST_LIB_H
#define KERNEL_SELFTEST_LIB_H

#include "common/hw/cpu.h"
#include "common/lib/types.h"
#include "kernel/cpu/catch.h"
#include "kernel/cpu/trap.h"

struct handoff;

/*
 * Virtual addresses the tests map and unmap; nothing else uses them, and
 * every test leaves them unmapped again (the table-count test checks).
 * SELFTEST_VA is 1 GiB aligned, in PML4 slot 384, between the direct map
 * and the stacks; SELFTEST_USER_VA is in the lower half, for the SMEP and
 * SMAP tests' user pages.
 */
#define SELFTEST_VA      SELFTEST_BASE /* kernel/mm/mm.h */
#define SELFTEST_USER_VA 0x0000100000000000ull

/* The LAPIC's registers (the architectural default base): device memory
 * that is never in the direct map, and that no test touches. */
#define LAPIC_PHYS 0xfee00000ull
/* The same for the first IOAPIC's registers. */
#define IOAPIC_PHYS 0xfec00000ull

/* The error-code bits a #PF expectation looks at. */
#define PF_CHECKED (PF_P | PF_W | PF_U | PF_RSVD | PF_I)

struct st_ctx {
	const struct handoff *h;
	const struct cpu_features *cpu;
	char hypervisor[13]; /* CPUID signature, "" on hardware */
	char why[192];       /* st_fail's buffer */
};

/* Features a test needs; without them it is skipped, not passed. */
enum {
	NEEDS_NX = 1u << 0,
	NEEDS_SMEP = 1u << 1,
	NEEDS_SMAP = 1u << 2,
	/*
	 * Executes INT3, INT n or STAC/CLAC. This machine's software KVM
	 * (PVM) cannot run those in guest ring 0: it hands them to KVM's
	 * instruction emulator, which lacks them, and the VM stops with
	 * "KVM internal error ... emulation failure" instead of going on.
	 * PVM shows the guest the same CPUID as KVM, so these tests are
	 * skipped under any KVM; TCG and hardware run them.
	 */
	NEEDS_NO_PVM = 1u << 3,
	/* Checks output reaches COM1: a machine without one cannot show it. */
	NEEDS_COM1 = 1u << 4,
};

struct selftest {
	const char *name;
	uint32_t needs;
	/*
	 * When faults is set, body must raise `vector` with (error code &
	 * err_mask) == err_bits, which abandons it (or, for #BP, continues
	 * it). Otherwise any exception is a failure.
	 */
	bool faults;
	uint32_t vector;
	uint32_t err_mask, err_bits;
	/* Runs under run_catching. Returns NULL when its own checks pass,
	 * else why not (a static string or st_fail's). */
	const char *(*body)(struct st_ctx *c);
};

#define EXPECT(v, mask, bits)                                                  \
	.faults = true, .vector = (v), .err_mask = (mask), .err_bits = (bits)
#define EXPECT_PF(bits) EXPECT(TRAP_PF, PF_CHECKED, (bits))

/* The tables, in the order they run: exceptions and CPU protections
 * (selftest_cpu.c), what the CPU enforces on the kernel's mappings
 * (selftest_mm.c), the consoles (selftest_dev.c), every CPU
 * (selftest_smp.c), what page-table operations cost (selftest_cost.c),
 * the page-table code and allocators (selftest_pt.c, last, as it ends by
 * checking that no test left anything behind). */
extern const struct selftest selftest_cpu_tests[];
extern const uint32_t selftest_cpu_count;
extern const struct selftest selftest_mm_tests[];
extern const uint32_t selftest_mm_count;
extern const struct selftest selftest_dev_tests[];
extern const uint32_t selftest_dev_count;
extern const struct selftest selftest_smp_tests[];
extern const uint32_t selftest_smp_count;
extern const struct selftest selftest_cost_tests[];
extern const uint32_t selftest_cost_count;
extern const struct selftest selftest_pt_tests[];
extern const uint32_t selftest_pt_count;

/* Formats why into c->why and returns it. */
const char *st_fail(struct st_ctx *c, const char *fmt, ...);

/* Describes an exception: "#PF error 0x3: P W -- ... at rip X, cr2 Y". */
void st_describe(char *buf, size_t cap, const struct caught *k);

/*
 * Runs fn(arg) expecting a fault of `vector` with (error & mask) == bits.
 * Returns NULL when it came, else why not. *out (when not NULL) gets what
 * was caught, for further checks.
 */
const char *st_expect(struct st_ctx *c, void (*fn)(void *), void *arg,
		      uint32_t vector, uint32_t mask, uint32_t bits,
		      struct caught *out);

/* The attributes of a kernel data page: writable, global, NX when the
 * CPU has it. */
uint64_t st_data_attr(const struct st_ctx *c);

/* Maps one fresh zeroed frame at va in the kernel's tables; returns its
 * physical address, or 0 (with c->why set) on failure. */
uint64_t st_map_page(struct st_ctx *c, uint64_t va, uint64_t attr);
/* Unmaps va and frees the frame st_map_page gave it. */
void st_unmap_page(uint64_t va, uint64_t pa);

/* Switches to the stack whose top is top and pushes until the CPU
 * faults (the guard page below it): the body of the stack-overflow
 * tests, run under run_catching. Never returns. */
void st_overflow_stack(void *top);

/* Single-instruction accesses. */
static inline uint8_t probe_read8(uint64_t va)
{
	uint8_t v;
	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(va) : "memory");
	return v;
}

static inline void probe_write8(uint64_t va, uint8_t v)
{
	__asm__ volatile("movb %1, (%0)" : : "r"(va), "q"(v) : "memory");
}

/* Calls the code at va (a `ret` the test put there), as a fetch. */
static inline void probe_call(uint64_t va)
{
	__asm__ volatile("call *%0"
			 :
			 : "r"(va)
			 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
			   "r11", "memory", "cc");
}

/* The same three as run_catching callbacks, address in arg. */
void st_read(void *va);
void st_write(void *va); /* writes back the byte it reads: harmless */
void st_call(void *va);

#define X86_RET 0xc3 /* the one-byte instruction the exec tests plant */

#endif
