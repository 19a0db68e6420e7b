/*
 * kmain: the kernel's boot sequence, one step per line. Both entries (UEFI
 * through _start, PVH through pvh_main) arrive here with a struct
 * boot_info; from here on the kernel does not care which one ran.
 *
 * Why this order:
 *  - COM1 comes first: it needs nothing, and everything after it can
 *    report;
 *  - the GDT, TSS and IDT come straight after, before anything reads what
 *    the loader handed over: from then on a CPU exception is a decoded
 *    dump and a panic (which ends a test run), also when the boot-info
 *    pointer itself is bad and the very first read of it faults. They
 *    need nothing from the boot info and no memory of their own. On the
 *    UEFI path they also stop the firmware's IDT being used, which lives
 *    in boot-services memory that mm_init reclaims;
 *  - the boot info is copied next, before anything can overwrite it;
 *  - the loader's lines are printed as soon as its version is known to
 *    have them, so a panic in any later check still shows what the
 *    loader did (a good boot's loader prints nothing itself);
 *  - it is checked before its map and command line are copied (they are
 *    found through it), and the command line before test mode;
 *  - the PAT is programmed once CPUID says it exists and before mm_init,
 *    which maps the framebuffer write-combining through it;
 *  - mm_init needs the CPU's features (NX, 1 GiB pages, MAXPHYADDR) and
 *    sets EFER.NXE itself, before its tables go live;
 *  - the IST stacks for #DF, NMI and #MC come from the frame allocator and
 *    live in the kernel's tables, so they follow mm_init; until then those
 *    vectors run on the current stack;
 *  - the remaining protections (WP, PGE, SMEP, SMAP, UMIP) are turned on
 *    once the kernel runs on its own tables, which have no user pages;
 *  - the rest runs on a stack with an unmapped guard page below it, so an
 *    overflow is a #DF on its IST stack, not silent corruption; the
 *    self-tests run last, on the finished kernel;
 *  - the ACPI tables (the MADT: the other CPUs, NMI wiring) are read once
 *    mm_init can map firmware memory outside the direct map;
 *  - the TSC's rate comes before anything that waits or times out;
 *  - the TPM's PCRs are read once mm_map_mmio gives its registers an
 *    uncached mapping and the TSC's rate bounds its waits (the loader's
 *    estimate can be far off, and PVH has none); before the self-tests,
 *    which then check that mapping with the rest; no TPM is one line,
 *    never a stop;
 *  - the local APIC needs the MADT's NMI entries and mm_map_mmio, and
 *    comes before the timer, which needs it and the TSC rate and turns
 *    interrupts on;
 *  - the APs start last, from the finished boot CPU: they copy its CR0,
 *    PAT, protections, IDT and tables, and the W^X check then runs on
 *    tables the trampoline has left again.
 */
#include "kernel/boot/kernel.h"

#include "common/lib/string.h"
#include "kernel/acpi/acpi.h"
#include "kernel/boot/handoff.h"
#include "kernel/boot/layout.h"
#include "kernel/boot/panic.h"
#include "kernel/boot/report.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/arch.h"
#include "kernel/cpu/cpu.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/smp.h"
#include "kernel/cpu/stack.h"
#include "kernel/cpu/timer.h"
#include "kernel/cpu/trap.h"
#include "kernel/cpu/tsc.h"
#include "kernel/dev/console.h"
#include "kernel/dev/tpm.h"
#include "kernel/mm/mm.h"
#include "kernel/mm/ptdump.h"
#include "kernel/selftest/selftest.h"

/* `test` on the command line: the run ends by itself (through QEMU's
 * isa-debug-exit device) when the kernel is ready or panics. */
static bool test_run(const struct handoff *h)
{
	return cmdline_has(h->cmdline, "test");
}

/* The last step: report the kernel's own start-up time, then end a test
 * run (with the self-tests' verdict) or wait forever. */
static __attribute__((noreturn)) void kernel_ready(const struct handoff *h,
						   uint32_t failed)
{
	char buf[64];

	report_format_cycles(buf, sizeof(buf), rdtsc() - kernel_entry_tsc,
			     tsc_hz() ? tsc_hz() : h->info.tsc_hz);
	kprintf("kernel: init: %s from kernel entry\n", buf);
	kputs("kernel: ready\n");
	if (test_run(h)) {
		qemu_exit(failed ? QEMU_EXIT_SELFTEST : QEMU_EXIT_PASS);
		/* Still here: there is no isa-debug-exit device. */
		kputs("kernel: test run: no exit device at port 0xf4, "
		      "halting\n");
	}
	halt_forever();
}

static struct cpu_features cpu;

/* The rest of the boot, on a stack with an unmapped guard page below. */
static uint64_t kmain_on_own_stack(void *arg)
{
	const struct handoff *h = arg;
	const struct acpi_madt *madt;

	madt = acpi_init(h);
	tsc_init(h, &cpu);
	tpm_report(tsc_hz());
	apic_init(&cpu, madt);
	timer_init(&cpu);
	smp_init(h, &cpu, madt);
	if (wx_check(mm_kernel_pt(), cpu.nx))
		panic("mm", "W^X violated by the kernel's own tables");
	if (cmdline_has(h->cmdline, "ptdump"))
		ptdump_print(mm_kernel_pt());
	uint32_t failed = test_run(h) ? selftest_run(h, &cpu) : 0;
	kernel_ready(h, failed);
}

void kmain(uint64_t bi_phys)
{
	const struct handoff *h = handoff_get();
	const char *fb_why;

	console_init_serial();
	trap_init();
	handoff_copy_info(bi_phys);
	handoff_check_version();
	report_loader_lines(h);
	handoff_check();
	handoff_copy_tables();
	panic_set_test_mode(test_run(h));
	fb_why = console_init_framebuffer(&h->info.fb);
	report_boot(h, fb_why);
	cpu_features_probe(cpuid, &cpu);
	cpu_report(&cpu);
	cpu_init_pat(&cpu);
	mm_init(h, &cpu);
	trap_init_stacks();
	cpu_protect(&cpu);

	uint64_t guard,
	    top = mm_alloc_stack(KERNEL_STACK_SIZE / PAGE_SIZE, &guard);
	if (!top)
		panic("mm", "no memory for the kernel stack");
	kprintf("kernel: stack 0x%lx-0x%lx, guard page at 0x%lx\n",
		top - KERNEL_STACK_SIZE, top, guard);
	this_cpu()->stack_bottom = top - KERNEL_STACK_SIZE;
	this_cpu()->stack_top = top;
	call_on_stack((void *)h, kmain_on_own_stack, top);
	panic("boot", "returned from the kernel's own stack");
}
