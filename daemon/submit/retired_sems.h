/*
 * retired_sems.h — semaphores whose destruction waits until the queues are
 * certainly done with them (scheduler.c). Seeing a submission's retire
 * value is not enough: lavapipe may still be signalling the batch's other
 * semaphores (a session's fence). A semaphore is destroyed once, on each
 * track, a later submission completed, or all of them completed and either
 * the tracks have queues of their own or the other track, on the same
 * in-order queue, completed a later one. Loop thread.
 */
#ifndef GD_RETIRED_SEMS_H
#define GD_RETIRED_SEMS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "submit/completion.h"

struct gd_retired_sems {
	struct gd_retired_sem {
		VkSemaphore sem;
		uint64_t after[GD_TRACKS]; /* destroyed once values past these completed */
	} *v;
	uint32_t n, cap;
	bool shared;                       /* the tracks share one queue (gd_scheduler_create) */
};

/* Keeps sem until the tracks are past after[] (their newest values now);
 * destroys it at once where memory for the record runs out. */
void gd_retired_sems_add(struct gd_retired_sems *r, VkDevice dev, VkSemaphore sem, const uint64_t after[GD_TRACKS]);
/* Destroys those the queues are done with, given each track's completed
 * value as c saw it; all of them with all (the device idle). */
void gd_retired_sems_collect(struct gd_retired_sems *r, VkDevice dev, struct gd_completion *c, bool all);
/* Submits nothing but a signal of retire to value on queue (under lock,
 * where not NULL): the later submission that lets what is kept go when
 * none would come (an idle device). 0, or the queue's error. */
VkResult gd_retired_sems_nudge(VkQueue queue, pthread_mutex_t *lock, VkSemaphore retire, uint64_t value);
/* Frees the record; call after collecting all. */
void gd_retired_sems_finish(struct gd_retired_sems *r);

#endif
