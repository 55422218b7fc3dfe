/*
 * timing.h — GPU timing of a profiling session: timestamp queries around
 * each command buffer and each command in it, read back at retirement,
 * converted with the device's timestampPeriod and kept in fixed-size rings
 * per session until a client fetches them (docs/ENCODER.md).
 *
 * A session owns its struct gd_timing (created when profiling is turned
 * on, destroyed with the session); each submission of a profiling session
 * owns a struct gd_cb_timing (its query pool), recycled with it.
 */
#ifndef GD_TIMING_H
#define GD_TIMING_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define GD_TIMING_MAX_CMDS 1024  /* timed commands per command buffer; later ones are not timed */
#define GD_TIMING_CMD_RING 8192  /* command records a session keeps */
#define GD_TIMING_CB_RING 1024   /* command-buffer records a session keeps */
#define GD_TIMING_NAME 64        /* a kernel's name and its NUL */

struct gd_gpu;

/* The queries of one command buffer: 0 and 1 bracket it, 2i+2 and 2i+3
 * bracket its command i. */
struct gd_cb_timing {
	VkQueryPool pool;
	uint32_t n_cmds;
	/* Copies: a client kernel or a graph that names a command may be
	 * freed before the command retires or its record is fetched. */
	char names[GD_TIMING_MAX_CMDS][GD_TIMING_NAME];
};

struct gd_timed_cmd {
	uint64_t cb;                 /* serial of its command buffer */
	uint32_t index;              /* position in the command buffer */
	char name[GD_TIMING_NAME];   /* kernel name, "buffer copy", "buffer fill", "replay of a graph" */
	uint64_t start_ns, end_ns;
};

struct gd_timed_cb {
	uint64_t serial;
	char label[128];
	uint32_t n_cmds;
	uint64_t start_ns, end_ns;
};

struct gd_timing {
	struct gd_timed_cmd cmds[GD_TIMING_CMD_RING];
	uint64_t n_cmds;             /* ever recorded; the ring holds the last ones */
	struct gd_timed_cb cbs[GD_TIMING_CB_RING];
	uint64_t n_cbs;
	uint64_t first_cmd, first_cb;/* oldest not yet fetched-and-cleared */
	uint64_t untimed;            /* commands beyond GD_TIMING_MAX_CMDS of their command buffer */
};

/* True when the queue gpucmdd submits to writes timestamps. */
bool gd_timing_supported(const struct gd_gpu *gpu);

/* Creates the query pool on first use and records the reset and the
 * command buffer's start. 0 or -ENOMEM. */
int gd_cb_timing_begin(struct gd_gpu *gpu, struct gd_cb_timing **t, VkCommandBuffer cb);
/* Brackets one command; returns the query index to close it with, or -1
 * when the command buffer has no room left (counted as untimed by the
 * caller). */
int gd_cb_timing_cmd_start(struct gd_cb_timing *t, VkCommandBuffer cb, const char *name);
void gd_cb_timing_cmd_end(struct gd_cb_timing *t, VkCommandBuffer cb, int query);
/* The command buffer's end, before vkEndCommandBuffer. */
void gd_cb_timing_end(struct gd_cb_timing *t, VkCommandBuffer cb);
/* Frees the pool. Accepts NULL. */
void gd_cb_timing_destroy(struct gd_gpu *gpu, struct gd_cb_timing *t);

/* GPU time of every command buffer that is not profiled (gpu_accounting):
 * two timestamps around it, in a pool of two queries made on first use and
 * kept with the submission. begin: 0 or -ENOMEM. collect (once retired):
 * the time in ns, 0 when unreadable. destroy accepts VK_NULL_HANDLE. */
int gd_busy_begin(struct gd_gpu *gpu, VkQueryPool *pool, VkCommandBuffer cb);
void gd_busy_end(VkQueryPool pool, VkCommandBuffer cb);
uint64_t gd_busy_collect(struct gd_gpu *gpu, VkQueryPool pool);
void gd_busy_destroy(struct gd_gpu *gpu, VkQueryPool pool);

/* Reads a retired command buffer's queries into the session's rings.
 * Returns the command buffer's GPU time in ns (0 when unreadable) and its
 * start and end in *ret_start / *ret_end. */
uint64_t gd_timing_collect(struct gd_timing *tm, struct gd_gpu *gpu, struct gd_cb_timing *t, uint64_t serial,
			   const char *label, uint64_t *ret_start, uint64_t *ret_end);

#endif
