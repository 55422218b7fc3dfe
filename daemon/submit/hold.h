/*
 * hold.h — which ready bulk work the scheduler keeps back in the daemon
 * this turn, and in what order a turn's batch goes to the GPU: while HIGH
 * work is queued, on the GPU, or was seen within high_window_ms, at most
 * bulk_depth_high bulk (normal, low) jobs are on the GPU at once, so a HIGH
 * stage finds little bulk work ahead of it in the GPU's queues (eager
 * sessions also cut their parts short then, model/session.c). A batch
 * takes HIGH jobs first, then every bulk lane's round robin.
 *
 * Work kept back stays counted against its client's in-flight limit, which
 * is what stops a flooding client's socket from being read. Fairness among
 * equals is not done here but where clients are read (fair_depth,
 * model/account.h). Loop thread; HIGH activity on any shard of the
 * process holds bulk work back on every shard (shared_high_ns).
 */
#ifndef GD_HOLD_H
#define GD_HOLD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "submit/job.h"

struct gd_config;

struct gd_hold {
	uint64_t window_ns;       /* high_window_ms */
	uint32_t bulk_depth;      /* bulk_depth_high; 0: no limit */
	uint64_t last_high_ns;    /* HIGH work last queued or retired */
	_Atomic uint64_t *shared_high_ns; /* the same for every shard of the process; may be NULL */
	uint32_t high_pending;    /* HIGH jobs queued or on the GPU */
	uint32_t bulk_on_gpu;     /* bulk jobs submitted and not retired */
	uint64_t turn, rounds;    /* turns; batch rounds (the lanes' `round` compares with it) */
	uint64_t held;            /* turns in which ready bulk work was kept back, since start */
	uint64_t held_turn;       /* the last of them */
};

/* Takes the keys of cfg (start, and SIGHUP through the scheduler). */
void gd_hold_configure(struct gd_hold *h, const struct gd_config *cfg);
/* Whether HIGH work is pending or was seen within the window. */
bool gd_hold_high_active(const struct gd_hold *h);
/* A job was queued; it was submitted; it retired (or failed unsubmitted:
 * on_gpu false). */
void gd_hold_queued(struct gd_hold *h, const struct gd_job *job);
void gd_hold_submitted(struct gd_hold *h, struct gd_job *job);
/* Its submission failed: it is not on the GPU after all. */
void gd_hold_unsubmitted(struct gd_hold *h, struct gd_job *job);
void gd_hold_retired(struct gd_hold *h, struct gd_job *job, bool on_gpu);
/* Starts a turn: orders `ready` (HIGH first,
 * then normal, then low; round robin between lanes within each). Returns
 * the new head. */
struct gd_job *gd_hold_begin_turn(struct gd_hold *h, struct gd_job *ready);
/* Nothing is kept back any more (the daemon stops). */
void gd_hold_stop(struct gd_hold *h);
/* Whether a ready job must stay in the daemon this turn. */
bool gd_hold_keep(struct gd_hold *h, const struct gd_job *job);

#endif
