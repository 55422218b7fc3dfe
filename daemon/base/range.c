/*
 * range.c — the first-fit offset allocator (see range.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/range.h"

int gd_ranges_init(struct gd_ranges *r, uint64_t size)
{
	*r = (struct gd_ranges){.size = size, .cap = 8};
	r->free = malloc(r->cap * sizeof(*r->free));
	if (!r->free)
		return -ENOMEM;
	r->free[0] = (struct gd_range){0, size};
	r->n = size ? 1 : 0;
	return 0;
}

void gd_ranges_finish(struct gd_ranges *r)
{
	free(r->free);
	*r = (struct gd_ranges){0};
}

/* Makes room for one more entry at index i. */
static int insert_at(struct gd_ranges *r, uint32_t i, struct gd_range v)
{
	if (r->n == r->cap) {
		uint32_t cap = r->cap * 2;
		struct gd_range *f = realloc(r->free, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		r->free = f;
		r->cap = cap;
	}
	memmove(&r->free[i + 1], &r->free[i], (r->n - i) * sizeof(*r->free));
	r->free[i] = v;
	r->n++;
	return 0;
}

static void remove_at(struct gd_ranges *r, uint32_t i)
{
	memmove(&r->free[i], &r->free[i + 1], (r->n - i - 1) * sizeof(*r->free));
	r->n--;
}

int gd_ranges_alloc(struct gd_ranges *r, uint64_t size, uint64_t align, uint64_t *ret_offset)
{
	if (size == 0 || size > r->size)
		return -ENOSPC;
	for (uint32_t i = 0; i < r->n; i++) {
		struct gd_range f = r->free[i];
		uint64_t start = (f.offset + align - 1) & ~(align - 1);
		uint64_t pad = start - f.offset;
		if (start < f.offset || pad > f.size || f.size - pad < size)
			continue;
		uint64_t tail = f.size - pad - size;
		if (pad && tail) {
			/* Both sides stay free: the entry becomes the padding
			 * and the tail is a new entry after it. */
			if (insert_at(r, i + 1, (struct gd_range){start + size, tail}) < 0)
				return -ENOMEM;
			r->free[i].size = pad;
		} else if (pad) {
			r->free[i].size = pad;
		} else if (tail) {
			r->free[i] = (struct gd_range){start + size, tail};
		} else {
			remove_at(r, i);
		}
		r->used += size;
		*ret_offset = start;
		return 0;
	}
	return -ENOSPC;
}

int gd_ranges_free(struct gd_ranges *r, uint64_t offset, uint64_t size)
{
	/* First free range after the one returned (binary search). */
	uint32_t lo = 0, hi = r->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->free[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool merge_prev = lo > 0 && r->free[lo - 1].offset + r->free[lo - 1].size == offset;
	bool merge_next = lo < r->n && offset + size == r->free[lo].offset;
	if (merge_prev && merge_next) {
		r->free[lo - 1].size += size + r->free[lo].size;
		remove_at(r, lo);
	} else if (merge_prev) {
		r->free[lo - 1].size += size;
	} else if (merge_next) {
		r->free[lo].offset = offset;
		r->free[lo].size += size;
	} else if (insert_at(r, lo, (struct gd_range){offset, size}) < 0) {
		return -ENOMEM;
	}
	r->used -= size;
	return 0;
}
