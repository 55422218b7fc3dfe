/*
 * hazard.h — the hazard tracker of one command buffer: the byte ranges the
 * current group of concurrent commands reads and writes, and the decision
 * whether the next command may join that group or needs a barrier first.
 *
 * A group is a run of commands recorded with no barrier between them, so
 * the GPU may run them in any order or at once. A command joins the group
 * unless one of its accesses overlaps one of the group's with at least one
 * write (read-after-write, write-after-read, write-after-write); then the
 * caller records a barrier and the command starts a new group.
 *
 * The tracker is a fixed array embedded in the submission: no allocation,
 * and a bounded cost per command. A group that would hold more than
 * GD_HAZARD_MAX_RANGES ranges is closed with a barrier (counted as an
 * overflow) instead of growing.
 */
#ifndef GD_HAZARD_H
#define GD_HAZARD_H

#include <stdbool.h>
#include <stdint.h>

#define GD_HAZARD_MAX_RANGES 64

struct gd_buffer;

enum gd_access_kind {
	GD_ACCESS_READ = 1,
	GD_ACCESS_WRITE = 2,
	GD_ACCESS_RW = 3,
};

/* One access of a command: bytes [begin, end) of buf. */
struct gd_access {
	struct gd_buffer *buf;       /* not referenced: the submission holds it */
	uint64_t begin, end;
	enum gd_access_kind kind;
};

struct gd_hazard {
	struct gd_access r[GD_HAZARD_MAX_RANGES];
	uint32_t n;
};

enum gd_hazard_verdict {
	GD_HAZARD_JOIN,      /* no conflict: the command joins the group */
	GD_HAZARD_CONFLICT,  /* RAW/WAR/WAW overlap: barrier, new group */
	GD_HAZARD_OVERFLOW,  /* the group is full: barrier, new group */
};

/* Empties the tracker: the next command starts a new group. */
static inline void gd_hazard_reset(struct gd_hazard *h)
{
	h->n = 0;
}

/* Decides whether a command with accesses acc[0..n) may join the group,
 * and records its accesses: in the group on GD_HAZARD_JOIN, as the only
 * members of a new group otherwise (the caller then records the barrier).
 * n must be at most GD_HAZARD_MAX_RANGES. */
enum gd_hazard_verdict gd_hazard_add(struct gd_hazard *h, const struct gd_access *acc, uint32_t n);

/* Adds one access to the ranges without a conflict test; false when there
 * is no room left. */
bool gd_hazard_merge(struct gd_hazard *h, const struct gd_access *a);

#endif
