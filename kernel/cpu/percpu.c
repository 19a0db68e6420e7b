/*
 * The per-CPU blocks. See percpu.h.
 */
#include "kernel/cpu/percpu.h"

#include "kernel/cpu/arch.h"

#define MSR_GS_BASE 0xc0000101

static struct percpu cpus[SMP_MAX_CPUS];

struct percpu *percpu_get(uint32_t i)
{
	return &cpus[i];
}

void percpu_activate(struct percpu *c)
{
	c->self = c;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)c);
}

void percpu_init_boot(void)
{
	struct percpu *c = &cpus[0];

	c->index = 0;
	c->state = CPU_ONLINE;
	gdt_init(&c->gdt);
	percpu_activate(c);
}

uint64_t percpu_online_mask(void)
{
	uint64_t m = 0;
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++)
		if (__atomic_load_n(&cpus[i].state, __ATOMIC_ACQUIRE) ==
		    CPU_ONLINE)
			m |= 1ull << i;
	return m;
}

uint32_t percpu_online_count(void)
{
	return (uint32_t)__builtin_popcountll(percpu_online_mask());
}
