/*
 * CPU feature probing from CPUID. common/ has no inline assembly: the
 * loader and the kernel pass their own cpuid function, the host tests pass
 * a table of fake leaves.
 */
#ifndef COMMON_CPU_H
#define COMMON_CPU_H

#include "common/lib/types.h"

/* Executes CPUID(leaf, subleaf) into regs[0..3] = eax, ebx, ecx, edx. */
typedef void (*cpuid_fn)(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

struct cpu_features {
	char vendor[13];
	char brand[49]; /* empty when leaf 0x80000004 is missing */
	uint32_t max_leaf;
	uint32_t max_ext_leaf;
	uint8_t maxphyaddr; /* bits; 36 when leaf 0x80000008 is missing */
	uint8_t maxlinaddr; /* bits; 48 when leaf 0x80000008 is missing */
	bool long_mode;     /* 80000001h EDX.29 */
	bool nx;            /* 80000001h EDX.20 */
	bool page1g;        /* 80000001h EDX.26 */
	bool pae;           /* 1h EDX.6 */
	bool pse;           /* 1h EDX.3 */
	bool pge;           /* 1h EDX.13 */
	bool pat;           /* 1h EDX.16 */
	bool tsc;           /* 1h EDX.4 */
	bool pcid;          /* 1h ECX.17 */
	bool x2apic;        /* 1h ECX.21 */
	bool hypervisor;    /* 1h ECX.31 */
	bool smep;          /* 7h EBX.7 */
	bool smap;          /* 7h EBX.20 */
	bool umip;          /* 7h ECX.2 */
	bool la57;          /* 7h ECX.16 */
	bool invariant_tsc; /* 80000007h EDX.8 */
};

void cpu_features_probe(cpuid_fn cpuid, struct cpu_features *f);

/* Physical-address mask for page-table entries: bits 12..maxphyaddr-1. */
uint64_t cpu_phys_addr_mask(const struct cpu_features *f);

#endif
