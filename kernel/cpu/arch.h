/*
 * x86-64 instructions the kernel uses, as small inline functions, and the
 * exit codes the kernel writes to QEMU's isa-debug-exit port.
 *
 * The exit codes are shared with assembly (kernel/boot/pvh.S); everything else
 * is C only.
 */
#ifndef KERNEL_ARCH_H
#define KERNEL_ARCH_H

/*
 * QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=4` ends the run when
 * the guest writes a value v to port 0xf4; QEMU then exits with status
 * (v << 1) | 1. So a passing run exits 1, never 0, and a caller that sees
 * status 1 must also check the log ("kernel: ready"): QEMU's own start-up
 * errors exit 1 too.
 */
#define QEMU_EXIT_PORT     0xf4
#define QEMU_EXIT_PASS     0x00 /* `test` run finished: status 1 */
#define QEMU_EXIT_PANIC    0x10 /* panic() in a `test` run: status 33 */
#define QEMU_EXIT_PVH_CPU  0x20 /* PVH entry: CPU cannot run us: status 65 */
#define QEMU_EXIT_SELFTEST 0x30 /* self-tests failed: status 97 */

#define COM1_PORT 0x3f8

/* Control-register, MSR and CPUID bits the entries use. */
#ifdef __ASSEMBLER__
#define ARCH_BIT(n) (1 << (n))
#else
#define ARCH_BIT(n) (1u << (n))
#endif
#define CR0_PE                ARCH_BIT(0)
#define CR0_WP                ARCH_BIT(16)
#define CR0_PG                ARCH_BIT(31)
#define CR4_PAE               ARCH_BIT(5)
#define MSR_EFER              0xc0000080
#define MSR_PAT               0x277
#define EFER_LME              ARCH_BIT(8)
#define EFER_NXE              ARCH_BIT(11)
#define EFLAGS_ID             ARCH_BIT(21)
#define CPUID_1_EDX_PAE       ARCH_BIT(6)  /* leaf 1 */
#define CPUID_80000001_EDX_NX ARCH_BIT(20) /* leaf 0x80000001 */
#define CPUID_80000001_EDX_LM ARCH_BIT(29)

#ifndef __ASSEMBLER__

#include "common/lib/types.h"

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Has the signature of common/hw/cpu.h's cpuid_fn, so its address can be
 * passed to cpu_features_probe. */
static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]),
			   "=d"(regs[3])
			 : "a"(leaf), "c"(subleaf));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* Control registers. The "memory" clobbers keep the compiler from moving
 * memory accesses across a change of translation or protection. */
static inline uint64_t read_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v) : : "memory");
	return v;
}

static inline void write_cr0(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v) : : "memory");
	return v;
}

static inline void write_cr2(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr2" : : "r"(v) : "memory");
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v) : : "memory");
	return v;
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v) : : "memory");
	return v;
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

/* Stops this CPU for good: with interrupts off only an NMI or SMI wakes
 * hlt, hence the loop. */
static inline __attribute__((noreturn)) void halt_forever(void)
{
	for (;;) {
		cli();
		hlt();
	}
}

/* Ends a QEMU run with status (code << 1) | 1 when the isa-debug-exit
 * device is present; returns (and does nothing visible) when it is not. */
static inline void qemu_exit(uint32_t code)
{
	outl(QEMU_EXIT_PORT, code);
}

#endif /* !__ASSEMBLER__ */

#endif
