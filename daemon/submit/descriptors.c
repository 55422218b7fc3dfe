/*
 * descriptors.c — push descriptors, or sets from per-command-buffer pools
 * (see descriptors.h). A pool holds SETS_PER_POOL sets of the largest
 * kernel interface (GPUCMD_MAX_BINDINGS buffers, all storage or all uniform),
 * so counting sets is enough to never run a pool dry.
 */
#include <errno.h>
#include <stdlib.h>

#include "device/gpu.h"
#include "device/registry.h"
#include "device/vkcheck.h"
#include "submit/descriptors.h"

#define SETS_PER_POOL 64u

/* The next set from ds's pools, creating a pool when all are used. */
static int allocate_set(struct gd_gpu *gpu, struct gd_descriptors *ds, VkDescriptorSetLayout layout,
			VkDescriptorSet *ret)
{
	if (ds->left == 0) {
		uint32_t next = ds->n_pools ? ds->cur + 1 : 0;
		if (next == ds->n_pools) {
			VkDescriptorPool *grown = realloc(ds->pools, (ds->n_pools + 1) * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			ds->pools = grown;
			VkDescriptorPoolSize sizes[2] = {
				{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * GPUCMD_MAX_BINDINGS},
				{VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER, SETS_PER_POOL * GPUCMD_MAX_BINDINGS},
			};
			VkDescriptorPoolCreateInfo ci = {
				.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
				.maxSets = SETS_PER_POOL,
				.poolSizeCount = 2,
				.pPoolSizes = sizes,
			};
			int r = gd_vk_check("vkCreateDescriptorPool",
					    vkCreateDescriptorPool(gpu->device, &ci, NULL, &ds->pools[ds->n_pools]));
			if (r < 0)
				return r;
			ds->n_pools++;
		}
		ds->cur = next;
		ds->left = SETS_PER_POOL;
	}
	VkDescriptorSetAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
		.descriptorPool = ds->pools[ds->cur],
		.descriptorSetCount = 1,
		.pSetLayouts = &layout,
	};
	int r = gd_vk_check("vkAllocateDescriptorSets", vkAllocateDescriptorSets(gpu->device, &ai, ret));
	if (r < 0)
		return r;
	ds->left--;
	return 0;
}

int gd_descriptors_bind(struct gd_gpu *gpu, struct gd_descriptors *ds, VkCommandBuffer cb,
			const struct gd_program *p, const VkDescriptorBufferInfo *info)
{
	uint32_t n = p->iface.n_bindings;
	if (n == 0)
		return 0;
	VkWriteDescriptorSet w[GPUCMD_MAX_BINDINGS];
	VkDescriptorSet set = VK_NULL_HANDLE;
	if (!gpu->push_descriptor) {
		int r = allocate_set(gpu, ds, p->set_layout, &set);
		if (r < 0)
			return r;
	}
	/* One write per binding: an array's elements are consecutive slots. */
	uint32_t nw = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (p->iface.element[i] != 0)
			continue;
		w[nw++] = (VkWriteDescriptorSet){
			.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
			.dstSet = set,
			.dstBinding = p->iface.binding[i],
			.descriptorCount = p->iface.count[i],
			.descriptorType = p->iface.kind[i] == GD_SLOT_UNIFORM ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
									     : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
			.pBufferInfo = &info[i],
		};
	}
	if (gpu->push_descriptor) {
		gpu->push_descriptor(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, nw, w);
	} else {
		vkUpdateDescriptorSets(gpu->device, nw, w, 0, NULL);
		vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
	}
	return 0;
}

void gd_descriptors_reset(struct gd_gpu *gpu, struct gd_descriptors *ds)
{
	for (uint32_t i = 0; i < ds->n_pools && i <= ds->cur; i++)
		vkResetDescriptorPool(gpu->device, ds->pools[i], 0);
	ds->cur = 0;
	ds->left = ds->n_pools ? SETS_PER_POOL : 0;
}

void gd_descriptors_finish(struct gd_gpu *gpu, struct gd_descriptors *ds)
{
	for (uint32_t i = 0; i < ds->n_pools; i++)
		vkDestroyDescriptorPool(gpu->device, ds->pools[i], NULL);
	free(ds->pools);
	*ds = (struct gd_descriptors){0};
}
