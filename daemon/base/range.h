/*
 * range.h — a first-fit allocator of offsets in [0, size): the bookkeeping
 * inside one device memory block (memory.c). It knows nothing of Vulkan, so
 * it is tested on its own (tests/test_range.c).
 *
 * Free space is a sorted array of disjoint ranges. Allocation scans it for
 * the first range that holds the aligned request; freeing merges a range
 * with its neighbours, so the array stays as short as the fragmentation.
 */
#ifndef GD_RANGE_H
#define GD_RANGE_H

#include <stdint.h>

struct gd_range {
	uint64_t offset, size;
};

struct gd_ranges {
	struct gd_range *free;   /* sorted by offset, never adjacent */
	uint32_t n, cap;
	uint64_t size;           /* the whole space */
	uint64_t used;           /* bytes handed out */
};

/* The whole of [0, size) starts free. 0 or -ENOMEM. */
int gd_ranges_init(struct gd_ranges *r, uint64_t size);
void gd_ranges_finish(struct gd_ranges *r);
/* Finds `size` bytes at a multiple of `align` (a power of two). 0,
 * -ENOSPC when no free range holds it, or -ENOMEM. */
int gd_ranges_alloc(struct gd_ranges *r, uint64_t size, uint64_t align, uint64_t *ret_offset);
/* Returns [offset, offset+size), which gd_ranges_alloc handed out. 0 or
 * -ENOMEM (the range stays lost to this block; nothing else breaks). */
int gd_ranges_free(struct gd_ranges *r, uint64_t offset, uint64_t size);

#endif
