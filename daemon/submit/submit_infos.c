/*
 * submit_infos.c — a job's waits and signals as a VkSubmitInfo2 (see
 * submit_infos.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "submit/submit_infos.h"

#define SEMS_PER (2 + GD_MAX_XWAITS + 2)

int gd_submit_infos_reserve(struct gd_submit_infos *b, uint32_t n)
{
	if (n <= b->cap)
		return 0;
	uint32_t cap = b->cap ? b->cap : 16;
	while (cap < n)
		cap *= 2;
	VkSubmitInfo2 *infos = realloc(b->infos, cap * sizeof(*infos));
	if (infos)
		b->infos = infos;
	VkCommandBufferSubmitInfo *cbs = realloc(b->cbs, cap * sizeof(*cbs));
	if (cbs)
		b->cbs = cbs;
	VkSemaphoreSubmitInfo *sems = realloc(b->sems, SEMS_PER * cap * sizeof(*sems));
	if (sems)
		b->sems = sems;
	if (!infos || !cbs || !sems)
		return -ENOMEM;
	b->cap = cap;
	return 0;
}

static VkSemaphoreSubmitInfo sem_info(VkSemaphore sem, uint64_t value)
{
	return (VkSemaphoreSubmitInfo){
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO,
		.semaphore = sem,
		.value = value,
		.stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
	};
}

void gd_submit_infos_fill(struct gd_submit_infos *b, uint32_t i, const struct gd_job *job,
			  const VkSemaphore retire[GD_TRACKS], uint64_t value)
{
	const struct gd_lane *lane = job->lane;
	VkSemaphoreSubmitInfo *wait = &b->sems[SEMS_PER * i];
	VkSemaphoreSubmitInfo *sig = wait + SEMS_PER - 2;
	uint32_t nw = 0, ns = 0;
	if (lane->last_value)
		wait[nw++] = sem_info(retire[lane->last_track], lane->last_value);
	if (job->fence_wait)
		wait[nw++] = sem_info(lane->timeline->sem, job->fence_wait);
	for (uint32_t j = 0; j < job->n_xwait; j++)
		wait[nw++] = sem_info(job->xwait[j]->sem, job->xwait_value[j]);
	sig[ns++] = sem_info(retire[lane->track], value);
	if (job->fence_signal)
		sig[ns++] = sem_info(lane->timeline->sem, job->fence_signal);
	b->cbs[i] = (VkCommandBufferSubmitInfo){.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO,
						.commandBuffer = job->cb};
	b->infos[i] = (VkSubmitInfo2){
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2,
		.waitSemaphoreInfoCount = nw,
		.pWaitSemaphoreInfos = wait,
		.commandBufferInfoCount = 1,
		.pCommandBufferInfos = &b->cbs[i],
		.signalSemaphoreInfoCount = ns,
		.pSignalSemaphoreInfos = sig,
	};
}

void gd_submit_infos_finish(struct gd_submit_infos *b)
{
	free(b->infos);
	free(b->cbs);
	free(b->sems);
	*b = (struct gd_submit_infos){0};
}
