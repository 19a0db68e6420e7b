/*
 * The loader's CPU access: the instructions common/ may not use (it has no
 * inline assembly), the TSC frequency estimate and the jump to the kernel.
 */
#include "loader.h"

void cpu_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(regs[0]), "=b"(regs[1]), "=c"(regs[2]),
			   "=d"(regs[3])
			 : "a"(leaf), "c"(subleaf));
}

uint64_t cpu_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t cpu_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t cpu_read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

/* "memory": the compiler must not move table writes across the switch. */
void cpu_write_cr3(uint64_t value)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(value) : "memory");
}

uint64_t cpu_read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* Global TLB entries survive CR3 writes; toggling CR4.PGE drops them. */
void cpu_flush_global_tlb(void)
{
	uint64_t cr4 = cpu_read_cr4();

	if (!(cr4 & CR4_PGE))
		return;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 & ~CR4_PGE) : "memory");
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
}

#define CPUID_HYPERVISOR_BASE   0x40000000u
#define CPUID_HYPERVISOR_TIMING 0x40000010u /* EAX = TSC kHz (VMware, QEMU) */

/*
 * The TSC frequency as CPUID states it, or 0: leaf 0x15 gives the crystal
 * clock and the TSC/crystal ratio (exact, when all three are there), a
 * hypervisor's timing leaf the TSC rate in kHz. Leaf 0x16 is only the
 * nominal base frequency, close to the TSC rate on the Intel CPUs that
 * have it: cpu_tsc_hz_nominal.
 */
uint64_t cpu_tsc_hz_cpuid(void)
{
	uint32_t r[4];

	cpu_cpuid(0, 0, r);
	if (r[0] >= 0x15) {
		cpu_cpuid(0x15, 0, r);
		if (r[0] && r[1] && r[2])
			return (uint64_t)r[2] * r[1] / r[0];
	}
	cpu_cpuid(1, 0, r);
	if (r[2] & (1u << 31)) {
		cpu_cpuid(CPUID_HYPERVISOR_BASE, 0, r);
		if (r[0] >= CPUID_HYPERVISOR_TIMING) {
			cpu_cpuid(CPUID_HYPERVISOR_TIMING, 0, r);
			if (r[0])
				return (uint64_t)r[0] * 1000;
		}
	}
	return 0;
}

uint64_t cpu_tsc_hz_nominal(void)
{
	uint32_t r[4];

	cpu_cpuid(0, 0, r);
	if (r[0] < 0x16)
		return 0;
	cpu_cpuid(0x16, 0, r);
	return (uint64_t)(r[0] & 0xffff) * 1000000;
}

/* Ticks across a 0.5 ms Stall: the last resort (see loader/tsc.c). */
uint64_t cpu_tsc_hz_stall(void)
{
	uint64_t t0 = cpu_rdtsc();
	efi_bs->Stall(500);
	uint64_t t1 = cpu_rdtsc();
	return (t1 - t0) * 2000;
}

uint32_t cpu_inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

typedef __attribute__((sysv_abi)) void (*kernel_entry_fn)(uint64_t);

/*
 * The hand-off. The kernel's entry is SysV (rdi = arg); the loader is
 * MS ABI, hence the function-pointer type. Both ABIs keep rsp 16-byte
 * aligned at call sites, and UEFI enters efi_main on an aligned stack, so
 * an ordinary call gives the kernel the alignment SysV promises. The
 * loader's stack (boot-services memory) stays valid until the kernel
 * switches to its own.
 */
void cpu_enter_kernel(uint64_t entry, uint64_t arg, uint64_t *tsc_jump)
{
	kernel_entry_fn fn = (kernel_entry_fn)(uintptr_t)entry;

	__asm__ volatile("cli" : : : "memory");
	*tsc_jump = cpu_rdtsc();
	fn(arg);
	/* A kernel that returns has nothing to return to: boot services
	 * are gone. Stop here rather than run off into the firmware. */
	for (;;)
		__asm__ volatile("hlt");
}
