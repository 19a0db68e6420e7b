/*
 * panic(): report and stop.
 */
#include "kernel/boot/panic.h"

#include "kernel/cpu/arch.h"
#include "kernel/dev/console.h"

static bool test_mode;
static bool panicking;

void panic_set_test_mode(bool on)
{
	test_mode = on;
}

void panic(const char *subsystem, const char *fmt, ...)
{
	va_list ap;

	cli();
	/* A panic while printing a panic (say, the framebuffer faulting),
	 * or on a second CPU, must not print over the first: stop quietly,
	 * the first message is out. */
	if (!__atomic_exchange_n(&panicking, true, __ATOMIC_ACQ_REL)) {
		console_init_serial();
		kprintf("panic: %s: ", subsystem);
		va_start(ap, fmt);
		kvprintf(fmt, ap);
		va_end(ap);
		kputs("\n");
	}
	if (test_mode)
		qemu_exit(QEMU_EXIT_PANIC);
	halt_forever();
}
