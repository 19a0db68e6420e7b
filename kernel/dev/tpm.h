/*
 * The TPM 2.0 at 0xfed40000 (FIFO interface, locality 0): the kernel
 * reads back the PCRs the loader extended (PCR 8: command line, PCR 9:
 * kernel file; loader/measure.c) from the TPM itself, so they can be
 * compared with values computed from the files.
 */
#ifndef KERNEL_TPM_H
#define KERNEL_TPM_H

#include "common/lib/types.h"

/*
 * Maps locality 0 uncached, and when a TPM 2.0 answers there reads the
 * SHA-256 values of PCRs 8 and 9 and prints them, one line each:
 *   kernel: tpm: PCR 8 sha256 <64 hex digits>
 * No TPM (or one this driver cannot speak to) is one line; a TPM that
 * does not answer within the interface's timeouts, or answers wrongly, is
 * one line naming the step. None of them stops the boot. tsc_hz is the
 * TSC's rate for the timeouts (0 = unknown: then the waits assume a TSC
 * of TPM_TSC_HZ_UNKNOWN, never shorter than specified). Call after
 * mm_init (it needs mm_map_mmio).
 */
void tpm_report(uint64_t tsc_hz);

/* 10 GHz: no x86 TSC runs faster, so a wait computed with it lasts at
 * least as long as intended (up to about 10x on a 1 GHz TSC). */
#define TPM_TSC_HZ_UNKNOWN 10000000000ull

#endif
