/*
 * kmain: the kernel's boot sequence, one step per line. Both entries (UEFI
 * through _start, PVH through pvh_main) arrive here with a struct
 * boot_info; from here on the kernel does not care which one ran.
 *
 * Order matters in the first steps: the boot info is copied before
 * anything can overwrite it, COM1 comes up before the first check so a
 * refused boot info is reported, and the memory map and command line are
 * copied only once the struct that points to them has been checked.
 */
#include "kernel/kernel.h"

#include "common/string.h"
#include "kernel/arch.h"
#include "kernel/console.h"
#include "kernel/handoff.h"
#include "kernel/layout.h"
#include "kernel/mm.h"
#include "kernel/panic.h"
#include "kernel/ptdump.h"
#include "kernel/report.h"

/* `test` on the command line: the run ends by itself (through QEMU's
 * isa-debug-exit device) when the kernel is ready or panics. */
static bool test_run(const struct handoff *h)
{
	return cmdline_has(h->cmdline, "test");
}

/* The last step: report the kernel's own start-up time, then end a test
 * run or wait forever. */
static __attribute__((noreturn)) void kernel_ready(const struct handoff *h)
{
	char buf[64];

	report_format_cycles(buf, sizeof(buf), rdtsc() - kernel_entry_tsc,
	                     h->info.tsc_hz);
	kprintf("kernel: init: %s from kernel entry\n", buf);
	kputs("kernel: ready\n");
	if (test_run(h)) {
		qemu_exit(QEMU_EXIT_PASS);
		/* Still here: there is no isa-debug-exit device. */
		kputs("kernel: test run: no exit device at port 0xf4, "
		      "halting\n");
	}
	halt_forever();
}

/* call_on_stack (kernel/stack.S): fn(arg) on the stack ending at top. */
uint64_t call_on_stack(void *arg, uint64_t (*fn)(void *), uint64_t top);

static struct cpu_features cpu;

/* The rest of the boot, on a stack with an unmapped guard page below. */
static uint64_t kmain_on_own_stack(void *arg)
{
	const struct handoff *h = arg;

	if (wx_check(mm_kernel_pt(), cpu.nx))
		panic("mm", "W^X violated by the kernel's own tables");
	if (cmdline_has(h->cmdline, "ptdump"))
		ptdump_print(mm_kernel_pt());
	kernel_ready(h);
}

void kmain(uint64_t bi_phys)
{
	const struct handoff *h = handoff_get();
	const char *fb_why;

	handoff_copy_info(bi_phys);
	console_init_serial();
	handoff_check();
	handoff_copy_tables();
	panic_set_test_mode(test_run(h));
	fb_why = console_init_framebuffer(&h->info.fb);
	report_boot(h, fb_why);
	cpu_features_probe(cpuid, &cpu);
	mm_init(h, &cpu);

	uint64_t guard, top = mm_alloc_stack(KERNEL_STACK_SIZE / PAGE_SIZE,
					     &guard);
	if (!top)
		panic("mm", "no memory for the kernel stack");
	kprintf("kernel: stack 0x%lx-0x%lx, guard page at 0x%lx\n",
		top - KERNEL_STACK_SIZE, top, guard);
	call_on_stack((void *)h, kmain_on_own_stack, top);
	panic("boot", "returned from the kernel's own stack");
}
