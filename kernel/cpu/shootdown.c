/*
 * TLB shootdown. See shootdown.h.
 */
#include "kernel/cpu/shootdown.h"

#include "kernel/boot/panic.h"
#include "kernel/cpu/apic.h"
#include "kernel/cpu/irq.h"
#include "kernel/cpu/percpu.h"
#include "kernel/cpu/tsc.h"
#include "kernel/mm/mm.h"

static struct {
	uint32_t lock;     /* 1 while a request is out */
	uint64_t va, size; /* the request's range */
	uint64_t pending;  /* CPUs that have not flushed it yet */
	uint64_t requests, ipis;
} sd;

uint64_t shootdown_count(void)
{
	return __atomic_load_n(&sd.requests, __ATOMIC_RELAXED);
}

uint64_t shootdown_ipis(void)
{
	return __atomic_load_n(&sd.ipis, __ATOMIC_RELAXED);
}

/* Flushes the request's range here when this CPU is in the pending set,
 * then leaves it. The range was stored before the set (release), so the
 * acquire load of the set makes it visible. */
static void answer(void)
{
	uint64_t me = 1ull << this_cpu()->index;
	if (!(__atomic_load_n(&sd.pending, __ATOMIC_ACQUIRE) & me))
		return;
	tlb_flush_local(sd.va, sd.size);
	__atomic_fetch_and(&sd.pending, ~me, __ATOMIC_RELEASE);
}

void shootdown_init(void)
{
	irq_set_handler(VEC_TLB, answer);
}

void tlb_shootdown(uint64_t va, uint64_t size)
{
	struct percpu *self = this_cpu();
	uint64_t targets = percpu_online_mask() & ~(1ull << self->index);
	const char *why;

	if (!targets)
		return;
	while (__atomic_exchange_n(&sd.lock, 1, __ATOMIC_ACQUIRE)) {
		answer(); /* the holder may be waiting for us */
		cpu_pause();
	}
	sd.va = va;
	sd.size = size;
	__atomic_store_n(&sd.pending, targets, __ATOMIC_RELEASE);
	for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
		if (!(targets & (1ull << i)))
			continue;
		struct percpu *c = percpu_get(i);
		if (apic_send_ipi(c->apic_id, ICR_FIXED | VEC_TLB, &why))
			panic("tlb",
			      "shootdown IPI to cpu %u (APIC id %u) not "
			      "delivered: %s",
			      i, c->apic_id, why);
		sd.ipis++;
	}
	uint64_t end = tsc_deadline(SHOOTDOWN_TIMEOUT_US);
	uint64_t left;
	while ((left = __atomic_load_n(&sd.pending, __ATOMIC_ACQUIRE))) {
		if (tsc_passed(end)) {
			uint32_t i = (uint32_t)__builtin_ctzll(left);
			panic("tlb",
			      "cpu %u (APIC id %u) did not acknowledge the "
			      "shootdown of 0x%lx (%lu bytes) within %u ms",
			      i, percpu_get(i)->apic_id, va, size,
			      SHOOTDOWN_TIMEOUT_US / 1000);
		}
		cpu_pause();
	}
	sd.requests++;
	__atomic_store_n(&sd.lock, 0, __ATOMIC_RELEASE);
}
