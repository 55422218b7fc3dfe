/*
 * buffer.c — buffer memory. Each buffer is host-visible and coherent, mapped
 * for its whole life so that inline writes and reads are a memcpy; device-
 * local memory is preferred when the device has memory that is both (a CPU
 * device, or a GPU with resizable BAR).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "daemon.h"
#include "gpu.h"
#include "log.h"

int gd_buffer_create(struct gd_daemon *d, uint64_t size, uint32_t flags, struct gd_buffer **ret_buf, char *err,
		     size_t errlen)
{
	(void)flags; /* every buffer is host-visible for now */
	struct gd_gpu *gpu = d->gpu;
	if (size == 0) {
		snprintf(err, errlen, "buffer size must not be zero");
		return -EINVAL;
	}
	if (size > gpu->max_buffer_size) {
		snprintf(err, errlen, "buffer size %llu exceeds the device's maxBufferSize %llu",
			 (unsigned long long)size, (unsigned long long)gpu->max_buffer_size);
		return -E2BIG;
	}
	struct gd_buffer *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "daemon out of memory");
		return -ENOMEM;
	}
	b->d = d;
	b->refs = 1;
	b->size = size;
	int r = -ENOMEM;
	VkBufferCreateInfo bi = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.size = size,
		.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
			 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	VkResult res = vkCreateBuffer(gpu->device, &bi, NULL, &b->buf);
	if (res != VK_SUCCESS) {
		snprintf(err, errlen, "vkCreateBuffer of %llu bytes failed: %s", (unsigned long long)size,
			 gd_vk_result(res));
		goto fail;
	}
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(gpu->device, b->buf, &req);
	const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	int type = gd_gpu_memory_type(gpu, req.memoryTypeBits, host | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	if (type < 0)
		type = gd_gpu_memory_type(gpu, req.memoryTypeBits, host);
	if (type < 0) {
		snprintf(err, errlen, "the device has no host-visible coherent memory for buffers");
		r = -ENODEV;
		goto fail;
	}
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.allocationSize = req.size,
		.memoryTypeIndex = (uint32_t)type,
	};
	res = vkAllocateMemory(gpu->device, &ai, NULL, &b->mem);
	if (res != VK_SUCCESS) {
		snprintf(err, errlen, "out of device memory allocating %llu bytes (%s)", (unsigned long long)size,
			 gd_vk_result(res));
		goto fail;
	}
	res = vkBindBufferMemory(gpu->device, b->buf, b->mem, 0);
	if (res == VK_SUCCESS)
		res = vkMapMemory(gpu->device, b->mem, 0, VK_WHOLE_SIZE, 0, (void **)&b->map);
	if (res != VK_SUCCESS) {
		snprintf(err, errlen, "binding or mapping %llu bytes failed: %s", (unsigned long long)size,
			 gd_vk_result(res));
		goto fail;
	}
	memset(b->map, 0, size);
	d->stats.live_buffers++;
	*ret_buf = b;
	return 0;
fail:
	b->refs = 0;
	b->d = NULL; /* not counted yet */
	vkDestroyBuffer(gpu->device, b->buf, NULL);
	vkFreeMemory(gpu->device, b->mem, NULL);
	free(b);
	return r;
}

struct gd_buffer *gd_buffer_ref(struct gd_buffer *b)
{
	b->refs++;
	return b;
}

void gd_buffer_unref(struct gd_buffer *b)
{
	if (--b->refs)
		return;
	VkDevice dev = b->d->gpu->device;
	vkDestroyBuffer(dev, b->buf, NULL);
	if (b->map)
		vkUnmapMemory(dev, b->mem);
	vkFreeMemory(dev, b->mem, NULL);
	b->d->stats.live_buffers--;
	free(b);
}
