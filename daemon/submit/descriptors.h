/*
 * descriptors.h — binding a dispatch's buffers to its kernel's set 0. With
 * VK_KHR_push_descriptor they go straight into the command buffer. Without
 * it (or with --no-push-descriptors) each command buffer owns a short chain
 * of descriptor pools: sets are carved from them while recording and the
 * pools are reset when the command buffer retires, so a steady stream of
 * dispatches creates no pools and frees no sets.
 */
#ifndef GD_DESCRIPTORS_H
#define GD_DESCRIPTORS_H

#include <stdint.h>

#include <vulkan/vulkan.h>

struct gd_gpu;
struct gd_program;

/* Embedded in a submission; zero-initialised is empty. */
struct gd_descriptors {
	VkDescriptorPool *pools;
	uint32_t n_pools;     /* created so far, kept across resets */
	uint32_t cur;         /* pool sets come from now */
	uint32_t left;        /* sets left in pools[cur] */
};

/* Binds the buffer ranges info[0..n_bindings) to program p's slots in cb
 * (an array's elements are consecutive slots). 0, or -ENOMEM. */
int gd_descriptors_bind(struct gd_gpu *gpu, struct gd_descriptors *ds, VkCommandBuffer cb,
			const struct gd_program *p, const VkDescriptorBufferInfo *info);
/* The command buffer retired or was discarded: its sets may go. */
void gd_descriptors_reset(struct gd_gpu *gpu, struct gd_descriptors *ds);
/* Destroys the pools. */
void gd_descriptors_finish(struct gd_gpu *gpu, struct gd_descriptors *ds);

#endif
