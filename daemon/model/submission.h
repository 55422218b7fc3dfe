/*
 * submission.h — one command buffer of a session from recording to
 * retirement: the job the scheduler sees, the buffers, programs and graphs
 * it keeps alive, the state the encoder caches while recording it, and its
 * timing. A captured graph records into one too (graph.h). Types and one
 * recording primitive only: session.c and encoder.c work on them.
 */
#ifndef GD_SUBMISSION_H
#define GD_SUBMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "device/kernel_types.h"
#include "model/hazard.h"
#include "submit/descriptors.h"
#include "submit/scheduler.h"
#include "submit/timing.h"

#define GD_PUSH_CACHE 256           /* push constants up to this size are compared */

/* Commands that write buffers: dispatches, copies and fills. */
#define GD_WRITE_STAGES \
	(VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_2_COPY_BIT | VK_PIPELINE_STAGE_2_CLEAR_BIT)
#define GD_WRITE_ACCESS (VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT | VK_ACCESS_2_TRANSFER_WRITE_BIT)

struct gd_buffer;
struct gd_graph;
struct gd_program;
struct gd_session;

/* A buffer range bound to a dispatch. */
struct gd_bound {
	struct gd_buffer *buf;
	uint64_t offset, range;
};

/* The stages a command (or a group of them) runs in and its accesses: what
 * a barrier before it makes visible to, and one after it waits for. */
struct gd_cmd_sync {
	VkPipelineStageFlags2 stage;
	VkAccessFlags2 read, write;
};

/* One command buffer's life: recorded, committed, submitted, retired. The
 * scheduler sees its job (whose next links the session's spares too). */
struct gd_submission {
	struct gd_job job;
	struct gd_submission *spare; /* the session's spares */
	struct gd_session *session;
	uint64_t serial;             /* daemon-wide id of this recording */
	struct gd_buffer **refs;     /* buffers kept alive until retirement */
	uint32_t n_refs, cap_refs;
	struct gd_program **progs;   /* pipelines kept alive until retirement */
	uint32_t n_progs, cap_progs;
	struct gd_descriptors desc;  /* descriptor pools when push descriptors are off */
	struct gd_graph **graphs;    /* graphs it executes, referenced until retirement */
	uint32_t n_graphs, cap_graphs;
	/* State the last dispatch left bound, so that identical state is not
	 * recorded again: a stream of dispatches over the same buffers pays
	 * for vkCmdDispatch alone. Cleared where the state becomes undefined. */
	VkPipeline bound;
	VkPipelineLayout bound_layout;   /* of bound_set and bound_push; NULL: none */
	struct gd_bound bound_set[GPUCMD_MAX_BINDINGS];
	uint8_t bound_push[GD_PUSH_CACHE];
	struct gd_hazard hazard;     /* ranges of the current concurrent group */
	struct gd_cmd_sync group;    /* ... and its stages and accesses */
	VkPipelineStageFlags2 covered; /* stages the barrier that opened the group orders */
	struct gd_cb_timing *timing; /* its timestamp queries, kept for reuse; NULL until profiled */
	bool timed;                  /* this recording writes them */
	VkQueryPool busy;            /* gd_busy_*: its GPU time when not timed; kept for reuse */
	bool busy_on;                /* this recording writes them */
	int open_query;              /* query closing the command being recorded, -1: none */
	char label[128];             /* stage label at commit, for its timing record */
	/* Called at retirement before references drop: a transfer's reply
	 * (requests/transfer.c). hook_* are its arguments. */
	void (*on_retire)(struct gd_submission *sub);
	uint64_t hook_id, hook_size;
	struct gd_buffer *hook_buf;  /* referenced */
	struct gd_buffer *hook_new;  /* a new buffer being cleared, referenced: its handle comes at retirement */
	bool counted;                /* counted in its client's in-flight work */
	bool held;                   /* held for a fence, counted in its session's and connection's held */
};

static inline void gd_cmd_barrier(VkCommandBuffer cb, VkPipelineStageFlags2 src_stage, VkAccessFlags2 src_access,
				  VkPipelineStageFlags2 dst_stage, VkAccessFlags2 dst_access)
{
	VkMemoryBarrier2 mb = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = src_stage,
		.srcAccessMask = src_access,
		.dstStageMask = dst_stage,
		.dstAccessMask = dst_access,
	};
	VkDependencyInfo di = {
		.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
		.memoryBarrierCount = 1,
		.pMemoryBarriers = &mb,
	};
	vkCmdPipelineBarrier2(cb, &di);
}

#endif
