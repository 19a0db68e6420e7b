/*
 * The local APIC: every CPU's own interrupt controller, which delivers
 * its timer, its error interrupt and the IPIs other CPUs send, and which
 * sends INIT and SIPI to start the other CPUs.
 *
 * x2APIC mode (registers are MSRs, 32-bit APIC IDs) when CPUID reports
 * it, else xAPIC mode (registers in a 4 KiB MMIO page, mapped uncached
 * through mm_map_mmio; 8-bit IDs). Every CPU uses the mode the boot CPU
 * chose. Register offsets are the xAPIC page's; x2APIC MSR numbers are
 * 0x800 + offset / 16 (SDM Vol. 3A, 11.12.1.2).
 */
#ifndef KERNEL_APIC_H
#define KERNEL_APIC_H

#include "common/hw/acpi.h"
#include "common/hw/cpu.h"
#include "common/lib/types.h"

#define APIC_ID         0x020
#define APIC_VERSION    0x030
#define APIC_TPR        0x080
#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0
#define APIC_ESR        0x280
#define APIC_ICR_LOW    0x300
#define APIC_ICR_HIGH   0x310
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_LINT1  0x360
#define APIC_LVT_ERROR  0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define APIC_LVT_MASKED   (1u << 16)
#define APIC_LVT_PERIODIC (1u << 17)

/* ICR low word: delivery mode and level (SDM Vol. 3A, 11.6.1). */
#define ICR_FIXED   0x000u
#define ICR_NMI     0x400u
#define ICR_INIT    0x500u
#define ICR_STARTUP 0x600u
#define ICR_ASSERT  (1u << 14)

/*
 * On the boot CPU: picks the mode (x2APIC when CPUID has it), maps the
 * xAPIC page, masks the 8259s (the kernel takes interrupts from local
 * APICs only), installs the error handler and sets this CPU's APIC up
 * (apic_init_cpu). madt may be NULL; its NMI entries say which LINT pin
 * is NMI, and its APIC address is checked against the MSR's. Prints one
 * line. Returns false, with a line saying why, when there is no usable
 * APIC (CPUID lacks one, or it cannot be mapped): then no timer and one
 * CPU.
 */
bool apic_init(const struct cpu_features *cpu, const struct acpi_madt *madt);

/* True once apic_init succeeded. */
bool apic_ready(void);

/* True in x2APIC mode. */
bool apic_x2apic(void);

/*
 * Sets up this CPU's APIC: enabled in the boot CPU's mode, spurious
 * vector, task priority 0 (every vector accepted), error interrupt,
 * LINT0 masked, LINT1 NMI when a MADT NMI entry names this CPU (by the
 * UID of its APIC ID's entry) or every CPU, else masked, error register
 * cleared; this_cpu()->apic_id set. cpu is this CPU's CPUID. Returns
 * NULL, or why this CPU cannot (no x2APIC where the boot CPU uses it).
 */
const char *apic_init_cpu(const struct cpu_features *cpu);

/* This CPU's APIC ID, from its APIC. */
uint32_t apic_read_id(void);

/* The highest APIC ID an IPI can name in this mode. */
uint32_t apic_max_id(void);

uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t v);

/* End of interrupt. */
void apic_eoi(void);

/*
 * Sends an IPI with ICR low word `icr` (vector | ICR_* mode and level)
 * to the APIC `apic_id`, and checks it was delivered: in xAPIC mode the
 * delivery-status bit must clear within 1 ms, and in both modes the
 * error register must be clean afterwards. Returns 0, or -ERR_RANGE with
 * *why naming what failed. Interrupts are off while it runs.
 */
int apic_send_ipi(uint32_t apic_id, uint32_t icr, const char **why);

#endif
