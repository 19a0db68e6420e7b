/*
 * The CPU report and protections. See cpu.h.
 */
#include "kernel/cpu/cpu.h"

#include "common/lib/fmt.h"
#include "common/mm/paging.h"
#include "kernel/boot/panic.h"
#include "kernel/cpu/arch.h"
#include "kernel/dev/console.h"

/* The hypervisor's signature (CPUID 0x40000000 EBX ECX EDX), e.g.
 * "KVMKVMKVM"; empty when CPUID says there is no hypervisor. */
void cpu_hypervisor_name(const struct cpu_features *cpu, char name[13])
{
	uint32_t r[4];

	name[0] = '\0';
	if (!cpu->hypervisor)
		return;
	cpuid(CPUID_HYPERVISOR_LEAF, 0, r);
	for (int i = 0; i < 12; i++)
		name[i] = (char)(r[1 + i / 4] >> (8 * (i % 4)));
	name[12] = '\0';
}

void cpu_report(const struct cpu_features *cpu)
{
	char hv[13];

	cpu_hypervisor_name(cpu, hv);
	kprintf("kernel: cpu: %s \"%s\", MAXPHYADDR %u, MAXLINADDR %u, 1 GiB "
		"pages: %s%s%s%s\n",
		cpu->vendor, cpu->brand[0] ? cpu->brand : "no brand string",
		(uint32_t)cpu->maxphyaddr, (uint32_t)cpu->maxlinaddr,
		cpu->page1g ? "yes" : "no",
		cpu->hypervisor ? ", hypervisor \"" : "", hv,
		cpu->hypervisor ? "\"" : "");
}

/* Adds name to the "on" or the "missing" list. */
static void note(char *on, char *missing, size_t cap, bool have,
		 const char *name)
{
	char *list = have ? on : missing;
	size_t len = 0;
	while (list[len])
		len++;
	fmt_snprintf(list + len, cap - len, " %s", name);
}

void cpu_protect(const struct cpu_features *cpu)
{
	char on[64] = "", missing[64] = "";
	uint64_t cr4 = read_cr4();

	write_cr0(read_cr0() | CR0_WP);
	note(on, missing, sizeof(on), true, "WP");

	bool nxe = (rdmsr(MSR_EFER) & EFER_NXE) != 0;
	if (nxe != cpu->nx)
		panic("cpu", "EFER.NXE is %s but CPUID %s NX (mm_init sets it)",
		      nxe ? "on" : "off", cpu->nx ? "has" : "lacks");
	note(on, missing, sizeof(on), nxe, "NXE");

	if (cpu->pge)
		cr4 |= CR4_PGE;
	note(on, missing, sizeof(on), cpu->pge, "PGE");
	if (cpu->smep)
		cr4 |= CR4_SMEP;
	note(on, missing, sizeof(on), cpu->smep, "SMEP");
	if (cpu->smap)
		cr4 |= CR4_SMAP;
	note(on, missing, sizeof(on), cpu->smap, "SMAP");
	if (cpu->umip)
		cr4 |= CR4_UMIP;
	note(on, missing, sizeof(on), cpu->umip, "UMIP");
	write_cr4(cr4);

	kprintf("kernel: cpu: on:%s; missing:%s\n", on[0] ? on : " none",
		missing[0] ? missing : " none");
}

static uint64_t pat_in_effect = PAT_POWER_ON;

uint64_t cpu_pat(void)
{
	return pat_in_effect;
}

bool cpu_init_pat(const struct cpu_features *cpu)
{
	if (!cpu->pat) {
		kputs("kernel: cpu: no PAT (CPUID 1h EDX.16): no "
		      "write-combining, the framebuffer is mapped uncached\n");
		return false;
	}
	wrmsr(MSR_PAT, PAT_KERNEL);
	uint64_t got = rdmsr(MSR_PAT);
	if (got != PAT_KERNEL)
		panic("cpu", "IA32_PAT reads 0x%lx after writing 0x%lx", got,
		      PAT_KERNEL);
	pat_in_effect = PAT_KERNEL;
	kprintf("kernel: cpu: PAT 0x%016lx: WB, WC (PWT), UC- (PCD), UC "
		"(PCD PWT)\n",
		got);
	return true;
}
