/*
 * submit_infos.h — the arrays of one vkQueueSubmit2: how a job becomes a
 * VkSubmitInfo2 (its waits and signals). Grown as needed, never shrunk, so
 * a turn's submission allocates nothing once the daemon has warmed up.
 * Owned by the scheduler; loop thread.
 */
#ifndef GD_SUBMIT_INFOS_H
#define GD_SUBMIT_INFOS_H

#include <stdint.h>

#include <vulkan/vulkan.h>

#include "submit/job.h"

struct gd_submit_infos {
	VkSubmitInfo2 *infos;
	VkCommandBufferSubmitInfo *cbs;
	VkSemaphoreSubmitInfo *sems; /* per job: its waits, then its (at most 2) signals */
	uint32_t cap;
};

/* Room for n jobs: 0, or -ENOMEM (what there was stays). */
int gd_submit_infos_reserve(struct gd_submit_infos *b, uint32_t n);
/* Fills entry i for job: it waits on its lane's previous job (retire[the
 * lane's last_track] at last_value: order within a session, whichever track
 * that went to), on its session's fence after a reset and on other
 * sessions' fences; it signals retire[the lane's track] at `value` and, for
 * a fence, the session's timeline. The lane's bookkeeping is the caller's. */
void gd_submit_infos_fill(struct gd_submit_infos *b, uint32_t i, const struct gd_job *job,
			  const VkSemaphore retire[GD_TRACKS], uint64_t value);
void gd_submit_infos_finish(struct gd_submit_infos *b);

#endif
