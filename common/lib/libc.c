/*
 * The four functions the compiler may emit calls to on the freestanding
 * targets (struct copies, large initialisers, loops it recognises), even
 * with -ffreestanding -fno-builtin. Built for the loader and the kernel
 * only; the host links its own libc. The work is done by string.c's
 * helpers, which are compiled so that they never call back into these.
 */
#include "common/lib/string.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
	mem_copy(dst, src, n);
	return dst;
}

/* mem_copy handles overlap. */
void *memmove(void *dst, const void *src, size_t n)
{
	mem_copy(dst, src, n);
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	mem_set(dst, c, n);
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	return mem_cmp(a, b, n);
}
