/*
 * COM1, a 16550-compatible UART at I/O port 0x3f8: 115200 baud, 8N1,
 * polled output. No input, no interrupts.
 */
#ifndef KERNEL_SERIAL_H
#define KERNEL_SERIAL_H

#include "common/lib/types.h"

/* Programs the UART and checks it answers (loopback). Safe to call more
 * than once: later calls do nothing. Without a working UART every output
 * call below returns at once. */
void serial_init(void);

bool serial_present(void);

/* Bytes handed to a transmitter that had room for them (CRs included):
 * what shows that COM1 still works. */
uint64_t serial_bytes_sent(void);

/* Writes n bytes, turning "\n" into "\r\n". */
void serial_write(const char *s, size_t n);

#endif
