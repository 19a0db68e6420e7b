/*
 * COM1 driver: the first console up and the last one standing, so it
 * depends on nothing but port I/O (no boot info, no memory).
 *
 * Register offsets and bits are the 16550's (PC16550D data sheet).
 */
#include "kernel/dev/serial.h"

#include "kernel/cpu/arch.h"

#define UART_DATA 0 /* THR on write, RBR on read; DLL when DLAB=1 */
#define UART_IER  1 /* interrupt enable; DLM when DLAB=1 */
#define UART_FCR  2 /* FIFO control */
#define UART_LCR  3 /* line control */
#define UART_MCR  4 /* modem control */
#define UART_LSR  5 /* line status */

#define LCR_8N1          0x03
#define LCR_DLAB         0x80
#define FCR_ENABLE_CLEAR 0x07 /* enable FIFOs, clear both */
#define MCR_DTR_RTS      0x03
#define MCR_LOOPBACK     0x10
#define LSR_THR_EMPTY    0x20

#define UART_CLOCK_DIV 1 /* 115200 / 1 = 115200 baud */

/* How long to wait for room in the transmitter before giving up on one
 * byte. A real 16550 at 115200 baud drains a byte in about 87 us; the
 * bound only matters when the port is wedged. */
#define TX_SPIN_LIMIT 1000000u

static bool initialised;
static bool present;
static uint64_t sent; /* bytes the transmitter took */

static void uart_out(uint16_t reg, uint8_t v)
{
	outb(COM1_PORT + reg, v);
}

static uint8_t uart_in(uint16_t reg)
{
	return inb(COM1_PORT + reg);
}

/* With MCR loopback on, a byte written to THR comes back in RBR. A
 * missing UART reads as 0xff on ISA, so this tells the two apart. */
static bool uart_loopback_ok(void)
{
	const uint8_t probe = 0xa5;

	uart_out(UART_MCR, MCR_LOOPBACK | MCR_DTR_RTS);
	uart_out(UART_DATA, probe);
	for (uint32_t i = 0; i < TX_SPIN_LIMIT; i++) {
		if (uart_in(UART_LSR) & 1)
			break;
	}
	bool ok = uart_in(UART_DATA) == probe;
	uart_out(UART_MCR, MCR_DTR_RTS);
	return ok;
}

void serial_init(void)
{
	if (initialised)
		return;
	initialised = true;

	uart_out(UART_IER, 0);
	uart_out(UART_LCR, LCR_DLAB);
	uart_out(UART_DATA, UART_CLOCK_DIV & 0xff);
	uart_out(UART_IER, UART_CLOCK_DIV >> 8);
	uart_out(UART_LCR, LCR_8N1);
	uart_out(UART_FCR, FCR_ENABLE_CLEAR);
	present = uart_loopback_ok();
}

bool serial_present(void)
{
	return present;
}

uint64_t serial_bytes_sent(void)
{
	return sent;
}

static void serial_putc(char c)
{
	for (uint32_t i = 0; i < TX_SPIN_LIMIT; i++) {
		if (uart_in(UART_LSR) & LSR_THR_EMPTY) {
			sent++;
			break;
		}
	}
	uart_out(UART_DATA, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}
