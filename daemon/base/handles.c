/*
 * handles.c — the per-connection handle table (see handles.h).
 * Layout of a handle: bits 0..19 index+1 (0 is never a handle), bits 20..31
 * the slot's generation. A slot whose twelve generation bits are spent is
 * retired rather than reused, so no handle value ever names two objects on
 * one connection: after about 4.3 billion frees of one kind the table is
 * full and creation fails with -EMFILE (the client reconnects).
 */
#include <errno.h>
#include <stdlib.h>

#include "base/handles.h"

#define GEN_MAX 0xfffu

void gd_handles_init(struct gd_handles *h)
{
	*h = (struct gd_handles){0};
}

void gd_handles_finish(struct gd_handles *h)
{
	free(h->objs);
	free(h->gens);
	free(h->free);
	*h = (struct gd_handles){0};
}

static int grow(struct gd_handles *h)
{
	uint32_t cap = h->cap ? h->cap * 2 : 16;
	if (cap > GD_HANDLES_MAX)
		cap = GD_HANDLES_MAX;
	if (cap <= h->cap)
		return -EMFILE;
	void **objs = realloc(h->objs, cap * sizeof(*objs));
	if (objs)
		h->objs = objs;
	uint16_t *gens = realloc(h->gens, cap * sizeof(*gens));
	if (gens)
		h->gens = gens;
	uint32_t *fr = realloc(h->free, cap * sizeof(*fr));
	if (fr)
		h->free = fr;
	if (!objs || !gens || !fr)
		return -ENOMEM;
	for (uint32_t i = h->cap; i < cap; i++) {
		h->objs[i] = NULL;
		h->gens[i] = 0;
	}
	h->cap = cap;
	return 0;
}

int gd_handles_add(struct gd_handles *h, void *obj, uint32_t *ret_handle)
{
	uint32_t idx;
	if (h->n_free) {
		idx = h->free[--h->n_free];
	} else {
		if (h->used == h->cap) {
			int r = grow(h);
			if (r < 0)
				return r;
		}
		idx = h->used++;
	}
	h->objs[idx] = obj;
	h->count++;
	*ret_handle = (uint32_t)h->gens[idx] << 20 | (idx + 1);
	return 0;
}

static uint32_t slot(const struct gd_handles *h, uint32_t handle)
{
	uint32_t idx = (handle & GD_HANDLES_MAX) - 1;
	if ((handle & GD_HANDLES_MAX) == 0 || idx >= h->used || !h->objs[idx] ||
	    h->gens[idx] != handle >> 20)
		return UINT32_MAX;
	return idx;
}

void *gd_handles_get(const struct gd_handles *h, uint32_t handle)
{
	uint32_t idx = slot(h, handle);
	return idx == UINT32_MAX ? NULL : h->objs[idx];
}

void *gd_handles_remove(struct gd_handles *h, uint32_t handle)
{
	uint32_t idx = slot(h, handle);
	if (idx == UINT32_MAX)
		return NULL;
	void *obj = h->objs[idx];
	h->objs[idx] = NULL;
	if (h->gens[idx] < GEN_MAX) {
		h->gens[idx]++;
		h->free[h->n_free++] = idx;
	}
	h->count--;
	return obj;
}

void *gd_handles_next(const struct gd_handles *h, uint32_t *cursor, uint32_t *ret_handle)
{
	for (uint32_t idx = *cursor; idx < h->used; idx++)
		if (h->objs[idx]) {
			*cursor = idx + 1;
			*ret_handle = (uint32_t)h->gens[idx] << 20 | (idx + 1);
			return h->objs[idx];
		}
	*cursor = h->used;
	return NULL;
}

void *gd_handles_pop(struct gd_handles *h)
{
	/* Walks down from the top and forgets the slots it passes: teardown
	 * stays linear however many objects there are. */
	h->n_free = 0;
	while (h->used > 0) {
		void *obj = h->objs[--h->used];
		if (obj) {
			h->count--;
			return obj;
		}
	}
	return NULL;
}
