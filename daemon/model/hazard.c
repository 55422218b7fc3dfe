/*
 * hazard.c — conflict test and range bookkeeping of a command buffer's
 * current concurrent group (see hazard.h). Runs on the loop thread for
 * every recorded command, so it is a linear scan over a small fixed array:
 * at most GPUCMD_MAX_BINDINGS accesses against GD_HAZARD_MAX_RANGES ranges.
 */
#include "model/hazard.h"

static bool overlaps(const struct gd_access *a, const struct gd_access *b)
{
	return a->buf == b->buf && a->begin < b->end && b->begin < a->end;
}

/* Two accesses conflict when they overlap and at least one writes. */
static bool conflicts(const struct gd_access *a, const struct gd_access *b)
{
	return ((a->kind | b->kind) & GD_ACCESS_WRITE) && overlaps(a, b);
}

/* Merging into a range of the same buffer and kind that the access
 * overlaps or touches makes a run of dispatches over neighbouring slices of
 * one buffer cost one entry. */
bool gd_hazard_merge(struct gd_hazard *h, const struct gd_access *a)
{
	for (uint32_t i = 0; i < h->n; i++) {
		struct gd_access *r = &h->r[i];
		if (r->buf == a->buf && r->kind == a->kind && a->begin <= r->end && r->begin <= a->end) {
			if (a->begin < r->begin)
				r->begin = a->begin;
			if (a->end > r->end)
				r->end = a->end;
			return true;
		}
	}
	if (h->n == GD_HAZARD_MAX_RANGES)
		return false;
	h->r[h->n++] = *a;
	return true;
}

static void restart(struct gd_hazard *h, const struct gd_access *acc, uint32_t n)
{
	h->n = 0;
	for (uint32_t i = 0; i < n; i++)
		gd_hazard_merge(h, &acc[i]);
}

enum gd_hazard_verdict gd_hazard_add(struct gd_hazard *h, const struct gd_access *acc, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < h->n; j++)
			if (conflicts(&acc[i], &h->r[j])) {
				restart(h, acc, n);
				return GD_HAZARD_CONFLICT;
			}
	/* Within one command, accesses never conflict with each other: a
	 * dispatch's bindings run as one unit and a copy's ranges are
	 * validated not to overlap. */
	for (uint32_t i = 0; i < n; i++)
		if (!gd_hazard_merge(h, &acc[i])) {
			restart(h, acc, n);
			return GD_HAZARD_OVERFLOW;
		}
	return GD_HAZARD_JOIN;
}
