/*
 * hash.h — FNV-1a, 64-bit: the pipeline cache's payload check and the
 * registry's program lookup. Neither faces an adversary that could gain
 * from collisions (the registry compares whole modules on a hit).
 */
#ifndef GD_HASH_H
#define GD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GD_FNV1A_INIT 0xcbf29ce484222325ull

/* Continues hash h over size bytes. */
static inline uint64_t gd_fnv1a(uint64_t h, const void *bytes, size_t size)
{
	const uint8_t *p = bytes;
	for (size_t i = 0; i < size; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

#endif
