/*
 * retired_sems.c — semaphores destroyed once the queues are done with them
 * (see retired_sems.h).
 */
#include <stdlib.h>

#include "submit/retired_sems.h"

void gd_retired_sems_add(struct gd_retired_sems *r, VkDevice dev, VkSemaphore sem, const uint64_t after[GD_TRACKS])
{
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 16;
		struct gd_retired_sem *v = realloc(r->v, cap * sizeof(*v));
		if (!v) {
			vkDestroySemaphore(dev, sem, NULL); /* the old behaviour */
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	struct gd_retired_sem *e = &r->v[r->n++];
	e->sem = sem;
	for (uint32_t t = 0; t < GD_TRACKS; t++)
		e->after[t] = after[t];
}

/* Whether every queue is certainly done with the submissions made before e
 * was recorded: on each track, a later submission completed, or all of
 * them completed and either the track has a queue of its own (the lavapipe
 * race needs a CPU device, which has one queue) or the other track, on the
 * same in-order queue, completed a later one. One recorded while HIGH work
 * stopped for good waits for the scheduler's end. */
static bool queues_done(const struct gd_retired_sem *e, const uint64_t done[GD_TRACKS], bool shared)
{
	bool later = false;
	for (uint32_t t = 0; t < GD_TRACKS; t++)
		later |= done[t] > e->after[t];
	for (uint32_t t = 0; t < GD_TRACKS; t++)
		if (done[t] < e->after[t] || (done[t] == e->after[t] && e->after[t] && !(later || !shared)))
			return false;
	return true;
}

void gd_retired_sems_collect(struct gd_retired_sems *r, VkDevice dev, struct gd_completion *c, bool all)
{
	if (!r->n)
		return;
	uint64_t done[GD_TRACKS] = {0};
	for (uint32_t t = 0; t < GD_TRACKS && !all; t++)
		done[t] = gd_completion_done(c, t);
	uint32_t kept = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		if (all || queues_done(&r->v[i], done, r->shared))
			vkDestroySemaphore(dev, r->v[i].sem, NULL);
		else
			r->v[kept++] = r->v[i];
	}
	r->n = kept;
}

VkResult gd_retired_sems_nudge(VkQueue queue, pthread_mutex_t *lock, VkSemaphore retire, uint64_t value)
{
	VkSemaphoreSubmitInfo sig = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO,
		.semaphore = retire,
		.value = value,
		.stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
	};
	VkSubmitInfo2 si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .signalSemaphoreInfoCount = 1, .pSignalSemaphoreInfos = &sig};
	if (lock)
		pthread_mutex_lock(lock);
	VkResult r = vkQueueSubmit2(queue, 1, &si, VK_NULL_HANDLE);
	if (lock)
		pthread_mutex_unlock(lock);
	return r;
}

void gd_retired_sems_finish(struct gd_retired_sems *r)
{
	free(r->v);
	*r = (struct gd_retired_sems){0};
}
