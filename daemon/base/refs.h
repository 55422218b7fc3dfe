/*
 * refs.h — reference counts shared by the shards' threads (atomic), and
 * the one step a table of counted objects needs: taking a reference to an
 * object found under the table's lock unless its last reference is being
 * dropped (its dropper then takes it out of the table under that lock).
 */
#ifndef GD_REFS_H
#define GD_REFS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

static inline bool gd_ref_unless_zero(_Atomic uint32_t *refs)
{
	uint32_t n = atomic_load_explicit(refs, memory_order_relaxed);
	while (n && !atomic_compare_exchange_weak_explicit(refs, &n, n + 1, memory_order_relaxed, memory_order_relaxed))
		;
	return n != 0;
}

#endif
