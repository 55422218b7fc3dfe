/*
 * timing.c — timestamp queries of profiling sessions, and the two around
 * every other command buffer that account its GPU time (see timing.h).
 * Recording runs on the loop thread while a command buffer is recorded;
 * collection runs at retirement, when the queries are known to be written,
 * so reading them never waits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/gpu.h"
#include "device/vkcheck.h"
#include "submit/timing.h"

#define N_QUERIES (2 + 2 * GD_TIMING_MAX_CMDS)

bool gd_timing_supported(const struct gd_gpu *gpu)
{
	return gpu->families[gpu->family].timestampValidBits > 0 && gpu->props.limits.timestampPeriod > 0;
}

int gd_cb_timing_begin(struct gd_gpu *gpu, struct gd_cb_timing **t, VkCommandBuffer cb)
{
	if (!*t) {
		struct gd_cb_timing *n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		VkQueryPoolCreateInfo qi = {
			.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
			.queryType = VK_QUERY_TYPE_TIMESTAMP,
			.queryCount = N_QUERIES,
		};
		int r = gd_vk_check("vkCreateQueryPool", vkCreateQueryPool(gpu->device, &qi, NULL, &n->pool));
		if (r < 0) {
			free(n);
			return r;
		}
		*t = n;
	}
	(*t)->n_cmds = 0;
	vkCmdResetQueryPool(cb, (*t)->pool, 0, N_QUERIES);
	vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, (*t)->pool, 0);
	return 0;
}

int gd_cb_timing_cmd_start(struct gd_cb_timing *t, VkCommandBuffer cb, const char *name)
{
	if (t->n_cmds == GD_TIMING_MAX_CMDS)
		return -1;
	int q = 2 + 2 * (int)t->n_cmds;
	snprintf(t->names[t->n_cmds++], GD_TIMING_NAME, "%s", name);
	vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, t->pool, (uint32_t)q);
	return q + 1;
}

void gd_cb_timing_cmd_end(struct gd_cb_timing *t, VkCommandBuffer cb, int query)
{
	if (query >= 0)
		vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, t->pool, (uint32_t)query);
}

void gd_cb_timing_end(struct gd_cb_timing *t, VkCommandBuffer cb)
{
	vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, t->pool, 1);
}

void gd_cb_timing_destroy(struct gd_gpu *gpu, struct gd_cb_timing *t)
{
	if (!t)
		return;
	vkDestroyQueryPool(gpu->device, t->pool, NULL);
	free(t);
}

/* Ticks to nanoseconds, keeping only the bits the queue writes. */
static uint64_t to_ns(const struct gd_gpu *gpu, uint64_t ticks)
{
	uint32_t bits = gpu->families[gpu->family].timestampValidBits;
	if (bits < 64)
		ticks &= (1ull << bits) - 1;
	return (uint64_t)((double)ticks * gpu->props.limits.timestampPeriod);
}

uint64_t gd_timing_collect(struct gd_timing *tm, struct gd_gpu *gpu, struct gd_cb_timing *t, uint64_t serial,
			   const char *label, uint64_t *ret_start, uint64_t *ret_end)
{
	uint64_t ticks[N_QUERIES];
	uint32_t n = 2 + 2 * t->n_cmds;
	VkResult res = vkGetQueryPoolResults(gpu->device, t->pool, 0, n, n * sizeof(uint64_t), ticks, sizeof(uint64_t),
					     VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
	*ret_start = *ret_end = 0;
	if (res != VK_SUCCESS)
		return 0;
	uint64_t start = to_ns(gpu, ticks[0]), end = to_ns(gpu, ticks[1]);
	struct gd_timed_cb *c = &tm->cbs[tm->n_cbs++ % GD_TIMING_CB_RING];
	c->serial = serial;
	snprintf(c->label, sizeof(c->label), "%s", label);
	c->n_cmds = t->n_cmds;
	c->start_ns = start;
	c->end_ns = end;
	for (uint32_t i = 0; i < t->n_cmds; i++) {
		struct gd_timed_cmd *r = &tm->cmds[tm->n_cmds++ % GD_TIMING_CMD_RING];
		*r = (struct gd_timed_cmd){serial, i, "", to_ns(gpu, ticks[2 + 2 * i]), to_ns(gpu, ticks[3 + 2 * i])};
		memcpy(r->name, t->names[i], GD_TIMING_NAME);
	}
	*ret_start = start;
	*ret_end = end;
	return end > start ? end - start : 0;
}

/* With hostQueryReset the two queries are reset on the host when they are
 * read, so the command buffer carries the two timestamps alone. */
int gd_busy_begin(struct gd_gpu *gpu, VkQueryPool *pool, VkCommandBuffer cb)
{
	if (!*pool) {
		VkQueryPoolCreateInfo qi = {
			.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
			.queryType = VK_QUERY_TYPE_TIMESTAMP,
			.queryCount = 2,
		};
		int r = gd_vk_check("vkCreateQueryPool", vkCreateQueryPool(gpu->device, &qi, NULL, pool));
		if (r < 0) {
			*pool = VK_NULL_HANDLE;
			return r;
		}
		if (gpu->host_query_reset)
			vkResetQueryPool(gpu->device, *pool, 0, 2);
	}
	if (!gpu->host_query_reset)
		vkCmdResetQueryPool(cb, *pool, 0, 2);
	vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_TOP_OF_PIPE_BIT, *pool, 0);
	return 0;
}

void gd_busy_end(VkQueryPool pool, VkCommandBuffer cb)
{
	vkCmdWriteTimestamp2(cb, VK_PIPELINE_STAGE_2_BOTTOM_OF_PIPE_BIT, pool, 1);
}

uint64_t gd_busy_collect(struct gd_gpu *gpu, VkQueryPool pool)
{
	/* Retired: both are written, nothing to wait for. */
	uint64_t ticks[2];
	VkResult r = vkGetQueryPoolResults(gpu->device, pool, 0, 2, sizeof(ticks), ticks, sizeof(uint64_t),
					   VK_QUERY_RESULT_64_BIT);
	if (gpu->host_query_reset)
		vkResetQueryPool(gpu->device, pool, 0, 2);
	if (r != VK_SUCCESS)
		return 0;
	uint64_t start = to_ns(gpu, ticks[0]), end = to_ns(gpu, ticks[1]);
	return end > start ? end - start : 0;
}

void gd_busy_destroy(struct gd_gpu *gpu, VkQueryPool pool)
{
	vkDestroyQueryPool(gpu->device, pool, NULL);
}
