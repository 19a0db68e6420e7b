/*
 * The local APIC. See apic.h. Registers and bits: Intel SDM Vol. 3A,
 * chapter 11.
 */
#include "kernel/cpu/apic.h"

#include "kernel/boot/panic.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/tsc.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"

#define MSR_APIC_BASE    0x1b
#define APIC_BASE_BSP    (1ull << 8)
#define APIC_BASE_EXTD   (1ull << 10) /* x2APIC mode */
#define APIC_BASE_ENABLE (1ull << 11)
#define MSR_X2APIC_FIRST 0x800
#define X2APIC_ICR       0x830 /* one 64-bit MSR: destination in 63:32 */
#define CPUID_1_EDX_APIC (1u << 9)

#define SVR_ENABLE     (1u << 8)
#define ICR_PENDING    (1u << 12) /* xAPIC only: send pending */
#define LVT_NMI        0x400u
#define LVT_ACTIVE_LOW (1u << 13)
#define ESR_SEND_ERRORS                                                        \
	0xe5u /* send checksum/accept, illegal vector,                         \
		 register: bits 0, 2, 5, 6, 7 */
#define PIC1_DATA   0x21
#define PIC2_DATA   0xa1
#define ICR_WAIT_US 1000

static bool ready, x2apic;
static volatile uint32_t *xapic; /* the xAPIC page's mapping */
static const struct acpi_madt *nmi_source;

bool apic_ready(void)
{
	return ready;
}

bool apic_x2apic(void)
{
	return x2apic;
}

uint32_t apic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + reg / 16);
	return xapic[reg / 4];
}

void apic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(MSR_X2APIC_FIRST + reg / 16, v);
	else
		xapic[reg / 4] = v;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

uint32_t apic_read_id(void)
{
	uint32_t id = apic_read(APIC_ID);
	return x2apic ? id : id >> 24;
}

uint32_t apic_max_id(void)
{
	/* 0xff (xAPIC) and 0xffffffff (x2APIC) mean "every APIC". */
	return x2apic ? 0xfffffffeu : 0xfeu;
}

/* The error register, latched by a write first (SDM 11.5.3). */
static uint32_t read_esr(void)
{
	apic_write(APIC_ESR, 0);
	return apic_read(APIC_ESR);
}

static void error_interrupt(void)
{
	struct percpu *c = this_cpu();
	c->last_esr = read_esr();
	c->apic_errors++;
}

int apic_send_ipi(uint32_t apic_id, uint32_t icr, const char **why)
{
	int rc = 0;
	uint64_t flags = irq_save();

	*why = NULL;
	(void)read_esr();
	/* The stores the target will read (a posted call, a shootdown's
	 * range) must be visible before the IPI: a WRMSR to an x2APIC
	 * register does not order them. */
	__asm__ volatile("mfence" : : : "memory");
	if (x2apic) {
		wrmsr(X2APIC_ICR, (uint64_t)apic_id << 32 | icr);
	} else {
		apic_write(APIC_ICR_HIGH, apic_id << 24);
		apic_write(APIC_ICR_LOW, icr);
		uint64_t end = tsc_deadline(ICR_WAIT_US);
		while (apic_read(APIC_ICR_LOW) & ICR_PENDING) {
			if (tsc_passed(end)) {
				*why = "the ICR's delivery status stayed "
				       "\"send pending\" for 1 ms";
				rc = -ERR_RANGE;
				break;
			}
			cpu_pause();
		}
	}
	uint32_t esr = read_esr();
	if (!rc && (esr & ESR_SEND_ERRORS)) {
		*why = esr & (1u << 5) ? "the APIC refused the vector (ESR "
					 "send illegal vector)"
				       : "the APIC reported a send error (ESR "
					 "bits 0, 2 or 7)";
		rc = -ERR_RANGE;
	}
	irq_restore(flags);
	return rc;
}

/* LINT1's setting for the processor with ACPI UID uid: NMI when a MADT
 * NMI entry names it (or every processor) on LINT1. LINT0 stays masked
 * on every CPU: it is the 8259's input (ExtINT), which the kernel does
 * not use, or NMI, which the MADT would also say. */
static uint32_t lint_setting(uint32_t pin, uint32_t uid)
{
	const struct acpi_madt *m = nmi_source;
	for (uint32_t i = 0; m && i < m->nmi_count; i++) {
		const struct acpi_nmi *n = &m->nmi[i];
		if (n->lint != pin ||
		    (n->uid != ACPI_NMI_ALL_CPUS && n->uid != uid))
			continue;
		/* MPS INTI flags: polarity in bits 1:0, 3 = active low.
		 * NMI is edge-triggered whatever the trigger bits say. */
		return LVT_NMI | ((n->flags & 3) == 3 ? LVT_ACTIVE_LOW : 0);
	}
	return APIC_LVT_MASKED;
}

/* The ACPI UID of the processor with APIC ID id (~0 when the MADT does
 * not list it, which no NMI entry but "every processor" matches). */
static uint32_t uid_of(uint32_t id)
{
	const struct acpi_madt *m = nmi_source;
	for (uint32_t i = 0; m && i < m->cpu_count; i++)
		if (m->cpu[i].apic_id == id)
			return m->cpu[i].uid;
	return ~0u;
}

const char *apic_init_cpu(const struct cpu_features *cpu)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (x2apic) {
		if (!cpu->x2apic)
			return "no x2APIC, which the boot CPU uses";
		/* Enable first, then x2APIC: the SDM's order (11.12.5). */
		if (!(base & APIC_BASE_ENABLE))
			wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
		if (!(base & APIC_BASE_EXTD))
			wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	} else if (!(base & APIC_BASE_ENABLE)) {
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	}
	uint32_t id = apic_read_id();
	this_cpu()->apic_id = id;
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_ERROR, VEC_APIC_ERR);
	apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT1, lint_setting(1, uid_of(id)));
	apic_write(APIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	(void)read_esr();
	return NULL;
}

bool apic_init(const struct cpu_features *cpu, const struct acpi_madt *madt)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	if (!(r[3] & CPUID_1_EDX_APIC)) {
		kputs("kernel: apic: CPUID reports no local APIC (1h EDX.9): "
		      "no timer, one CPU\n");
		return false;
	}
	nmi_source = madt;
	uint64_t base = rdmsr(MSR_APIC_BASE);
	uint64_t phys = base & cpu_phys_addr_mask(cpu);
	x2apic = cpu->x2apic;
	if (!x2apic) {
		if (base & APIC_BASE_EXTD) {
			/* Only a CPU with x2APIC can be in that mode. */
			kputs("kernel: apic: in x2APIC mode but CPUID lacks "
			      "x2APIC: no timer, one CPU\n");
			return false;
		}
		uint64_t va = mm_map_mmio(phys, PAGE_SIZE, MM_UC);
		if (!va) {
			kprintf("kernel: apic: cannot map the xAPIC page at "
				"0x%lx: no timer, one CPU\n",
				phys);
			return false;
		}
		xapic = (volatile uint32_t *)(uintptr_t)va;
	}
	/* Every 8259 input masked: their vectors would land on exceptions
	 * (the BIOS's 0x08-0x0f) or past the IDT. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);
	irq_set_handler(VEC_APIC_ERR, error_interrupt);
	ready = true;
	(void)apic_init_cpu(cpu); /* the boot CPU's own mode: it cannot fail */

	uint32_t version = apic_read(APIC_VERSION);
	kprintf("kernel: apic: %s, boot CPU APIC id %u, version 0x%x, %u LVT "
		"entries%s; 8259s masked\n",
		x2apic ? "x2APIC (MSRs)" : "xAPIC (MMIO, uncached)",
		this_cpu()->apic_id, version & 0xff,
		((version >> 16) & 0xff) + 1,
		(base & APIC_BASE_BSP) ? "" : " (IA32_APIC_BASE.BSP is clear)");
	if (!x2apic)
		kprintf("kernel: apic: registers at 0x%lx mapped at 0x%lx\n",
			phys, (uint64_t)(uintptr_t)xapic);
	if (madt && madt->lapic_phys != phys)
		kprintf("kernel: apic: note: the MADT says 0x%lx, the MSR "
			"0x%lx (the MSR is used)\n",
			madt->lapic_phys, phys);
	return true;
}
