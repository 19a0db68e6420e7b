/*
 * The CPU's protections: what the kernel turns on once it runs on its own
 * tables, each only after CPUID says the CPU has it (a bit a CPU does not
 * know makes the MOV to CR4 raise #GP; hypervisors differ in what they
 * pass through, so nothing is assumed from the CPU model).
 *
 *   CR0.WP     ring 0 cannot write read-only pages (every x86-64 CPU)
 *   EFER.NXE   NX bits are honoured; set by mm_init, which needs it before
 *              its tables (which use NX) go live: here it is only checked
 *   CR4.PGE    global pages survive CR3 writes (the kernel's are global)
 *   CR4.SMEP   ring 0 cannot execute user pages
 *   CR4.SMAP   ring 0 cannot touch user pages unless RFLAGS.AC is set
 *              (stac/clac); the kernel maps no user pages, so nothing it
 *              does needs AC
 *   CR4.UMIP   ring 3 cannot run SGDT/SIDT/SLDT/SMSW/STR
 */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include "common/hw/cpu.h"
#include "common/lib/types.h"

#define CR4_PGE  (1ull << 7)
#define CR4_UMIP (1ull << 11)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)

#define CPUID_HYPERVISOR_LEAF 0x40000000u

/* Prints one line: vendor, brand, MAXPHYADDR, MAXLINADDR, 1 GiB pages,
 * and the hypervisor's signature when there is one. */
void cpu_report(const struct cpu_features *cpu);

/* The hypervisor's CPUID signature ("KVMKVMKVM", "TCGTCGTCGTCG", ...),
 * or "" when CPUID reports none. */
void cpu_hypervisor_name(const struct cpu_features *cpu, char name[13]);

/*
 * Turns on WP, PGE, SMEP, SMAP and UMIP where the CPU has them, checks
 * that EFER.NXE matches NX, and prints one line
 * "kernel: cpu: on: ...; missing: ..." naming each protection once.
 * Call after mm_init (the kernel's tables are live, the loader's and
 * their possible user pages are gone). Panics when EFER.NXE disagrees
 * with CPUID: mm_init broke its contract.
 */
void cpu_protect(const struct cpu_features *cpu);

/*
 * Programs IA32_PAT with PAT_KERNEL (common/mm/paging.h: entry 1, selected
 * by PWT alone, becomes write-combining; the others keep their power-on
 * types, so WB and UC mappings need no change) when CPUID has PAT, and
 * prints one line saying which. Returns true when WC is available.
 * Only a mapping with PWT alone changes type (write-through becomes
 * write-combining); the PVH entry's tables set no cache bits and firmware
 * tables leave memory types to the MTRRs, so it is safe to call before
 * the kernel's own tables, whose CR3 switch flushes the TLB.
 */
bool cpu_init_pat(const struct cpu_features *cpu);

/* The PAT in effect: PAT_KERNEL once cpu_init_pat programmed it, else
 * PAT_POWER_ON (what PWT and PCD select on a CPU without PAT too). */
uint64_t cpu_pat(void);

/* cpu_stac sets RFLAGS.AC, letting ring 0 touch user pages under SMAP;
 * cpu_clac clears it again. Only on CPUs with SMAP (the instructions are
 * #UD otherwise). */
static inline void cpu_stac(void)
{
	__asm__ volatile("stac" : : : "memory", "cc");
}

static inline void cpu_clac(void)
{
	__asm__ volatile("clac" : : : "memory", "cc");
}

#endif
