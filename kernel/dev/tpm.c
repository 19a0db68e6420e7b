/*
 * The kernel's TPM driver: the glue between common/hw/tis.c (the FIFO
 * protocol, every wait bounded) and common/hw/tpm2.c (TPM2_PCR_Read as
 * bytes), which the host tests run against a simulated TPM. Here: the
 * uncached mapping of the registers, the TSC as the clock, and the
 * lines printed. See tpm.h.
 */
#include "kernel/dev/tpm.h"

#include "common/hw/tis.h"
#include "common/hw/tpm2.h"
#include "kernel/cpu/arch.h"
#include "kernel/dev/console.h"
#include "kernel/mm/mm.h"

/* PCR 8: the command line, PCR 9: the kernel file (loader/measure.c). */
#define TPM_PCRS ((1u << 8) | (1u << 9))

struct tpm_regs {
	uint64_t va;      /* locality 0's registers */
	uint64_t tsc_mhz; /* TSC ticks per microsecond */
};

static uint8_t mmio_read8(void *ctx, uint32_t reg)
{
	const struct tpm_regs *r = ctx;
	return *(volatile uint8_t *)(uintptr_t)(r->va + reg);
}

static uint32_t mmio_read32(void *ctx, uint32_t reg)
{
	const struct tpm_regs *r = ctx;
	return *(volatile uint32_t *)(uintptr_t)(r->va + reg);
}

static void mmio_write8(void *ctx, uint32_t reg, uint8_t v)
{
	const struct tpm_regs *r = ctx;
	*(volatile uint8_t *)(uintptr_t)(r->va + reg) = v;
}

static void mmio_write32(void *ctx, uint32_t reg, uint32_t v)
{
	const struct tpm_regs *r = ctx;
	*(volatile uint32_t *)(uintptr_t)(r->va + reg) = v;
}

static uint64_t tsc_now_us(void *ctx)
{
	const struct tpm_regs *r = ctx;
	return rdtsc() / r->tsc_mhz;
}

static void print_pcr(uint32_t pcr, const uint8_t *v)
{
	char hex[2 * TPM2_SHA256_SIZE + 1];
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < TPM2_SHA256_SIZE; i++) {
		hex[2 * i] = digits[v[i] >> 4];
		hex[2 * i + 1] = digits[v[i] & 15];
	}
	hex[sizeof(hex) - 1] = 0;
	kprintf("kernel: tpm: PCR %u sha256 %s\n", pcr, hex);
}

static void read_pcrs(const struct tis_io *io)
{
	/* Static: about 1.3 KiB the boot stack need not hold; this runs
	 * once. */
	static uint8_t resp[512];
	static struct tpm2_pcr_values pcrs;
	uint8_t cmd[TPM2_PCR_READ_CMD_SIZE];
	size_t cmd_len, resp_len;
	const char *what;
	char why[160];
	uint32_t rc;

	cmd_len = tpm2_pcr_read_command(cmd, TPM2_ALG_SHA256, TPM_PCRS);
	if (tis_transmit(io, cmd, cmd_len, resp, sizeof(resp), &resp_len, why,
			 sizeof(why))) {
		kprintf("kernel: tpm: TPM2_PCR_Read: %s; PCRs not read\n", why);
		return;
	}
	if (tpm2_pcr_read_parse(resp, resp_len, TPM2_ALG_SHA256, TPM_PCRS,
				&pcrs, &rc, &what)) {
		if (rc && tpm2_rc_name(rc))
			kprintf("kernel: tpm: TPM2_PCR_Read: %s; PCRs not "
				"read\n",
				tpm2_rc_name(rc));
		else if (rc)
			kprintf("kernel: tpm: TPM2_PCR_Read: response code "
				"0x%x; PCRs not read\n",
				rc);
		else
			kprintf("kernel: tpm: TPM2_PCR_Read: %s; PCRs not "
				"read\n",
				what);
		return;
	}
	for (uint32_t pcr = 0; pcr < TPM2_PCR_COUNT; pcr++) {
		if (!(TPM_PCRS & (1u << pcr)))
			continue;
		if (pcrs.returned & (1u << pcr))
			print_pcr(pcr, pcrs.value[pcr]);
		else
			kprintf("kernel: tpm: PCR %u sha256 not returned by "
				"the TPM\n",
				pcr);
	}
}

void tpm_report(uint64_t tsc_hz)
{
	struct tpm_regs regs;
	struct tis_info info;
	char why[160];
	int rc;

	regs.va = mm_map_mmio(TIS_BASE, TIS_LOCALITY_SZ, MM_UC);
	if (!regs.va) {
		kprintf("kernel: tpm: cannot map 0x%lx; TPM not looked at\n",
			TIS_BASE);
		return;
	}
	if (tsc_hz < 1000000)
		tsc_hz = TPM_TSC_HZ_UNKNOWN;
	regs.tsc_mhz = tsc_hz / 1000000;
	struct tis_io io = {&regs,       mmio_read8,   mmio_read32,
			    mmio_write8, mmio_write32, tsc_now_us};

	rc = tis_probe(&io, &info, why, sizeof(why));
	if (rc == -ERR_NOTFOUND) {
		kprintf("kernel: tpm: 0x%lx: %s\n", TIS_BASE, why);
		return;
	}
	if (rc) {
		kprintf("kernel: tpm: 0x%lx: %s; PCRs not read\n", TIS_BASE,
			why);
		return;
	}
	kprintf("kernel: tpm: 0x%lx: %s, vendor 0x%04x device 0x%04x "
		"revision 0x%02x\n",
		TIS_BASE, why, info.did_vid & 0xffff, info.did_vid >> 16,
		(uint32_t)info.rid);
	read_pcrs(&io);
	tis_release(&io);
}
