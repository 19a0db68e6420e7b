/*
 * The kernel's side of ACPI: reaching the tables firmware left, for the
 * parser in common/hw/acpi.c.
 *
 * Tables in RAM types of the memory map (ACPI reclaimable, NVS, and
 * whatever RAM firmware put them in) are read through the direct map.
 * Some are not in RAM a map describes: QEMU microvm's RSDP is in the BIOS
 * area (0xf34d0), OVMF may put tables in reserved memory. Those are
 * mapped read-only through a mapping of their own in the MMIO area
 * (MM_FW_RO, write-back: see mm.h), never by widening the direct map.
 */
#ifndef KERNEL_ACPI_H
#define KERNEL_ACPI_H

#include "common/hw/acpi.h"

struct handoff;

/*
 * Reads the MADT through the boot info's RSDP and prints what it found in
 * one line, or one line `kernel: acpi: <table and fault>; one CPU` when
 * there is no RSDP or a table fails its checks. Returns the MADT, or NULL
 * (then the kernel runs on one CPU). Needs mm_init.
 */
const struct acpi_madt *acpi_init(const struct handoff *h);

#endif
