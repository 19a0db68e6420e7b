/*
 * kernel/cpu/stack.S: running a function on another stack.
 */
#ifndef KERNEL_STACK_H
#define KERNEL_STACK_H

#include "common/lib/types.h"

/* Calls fn(arg) with rsp = top (16-byte aligned) and returns fn's value on
 * the caller's own stack. */
uint64_t call_on_stack(void *arg, uint64_t (*fn)(void *), uint64_t top);

#endif
