/*
 * buffer.c — buffer creation, memory type choice, accounting and residency
 * (see buffer.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/account.h"
#include "model/buffer.h"
#include "model/core.h"
#include "device/gpu.h"
#include "device/vkcheck.h"
#include "gpucmd_defs.h"

/* Host-visible buffers are read back by the CPU: cached memory first.
 * Device-local ones take the driver's first device-local type, which the
 * specification orders as the fastest. */
static int choose_type(const struct gd_gpu *gpu, uint32_t bits, uint32_t flags)
{
	const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	int t;
	if (flags & (GPUCMD_BUFFER_HOST_VISIBLE | GD_BUFFER_STAGING)) {
		t = gd_gpu_memory_type(gpu, bits, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
		return t >= 0 ? t : gd_gpu_memory_type(gpu, bits, host);
	}
	t = gd_gpu_memory_type(gpu, bits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	return t >= 0 ? t : gd_gpu_memory_type(gpu, bits, host);
}

/* Makes b's VkBuffer of b->size bytes and binds memory to it: client
 * shared memory imported in place (import), or the driver's of a type
 * that suits flags. */
static int make_backed(struct gd_core *d, struct gd_buffer *b, uint32_t flags, const struct gd_shm *shm,
		       bool import, char *err, size_t errlen)
{
	struct gd_gpu *gpu = d->proc->gpu;
	uint64_t size = b->size;
	VkExternalMemoryBufferCreateInfo ext = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
						.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT};
	VkBufferCreateInfo bi = {
		.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
		.pNext = import ? &ext : NULL,
		/* Rounded up to 4 bytes so that a fill of the whole buffer
		 * (which works in 32-bit words) reaches its last byte. */
		.size = (size + 3) & ~3ull,
		/* Any buffer may be bound to a kernel's uniform buffer binding. */
		.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
			 VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
		.sharingMode = VK_SHARING_MODE_EXCLUSIVE,
	};
	char what[64];
	snprintf(what, sizeof(what), "buffer of %" PRIu64 " bytes", size);
	int r = gd_vk_explain(vkCreateBuffer(gpu->device, &bi, NULL, &b->buf), what, "vkCreateBuffer", err, errlen);
	if (r < 0)
		return r;
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(gpu->device, b->buf, &req);
	int type = choose_type(gpu, req.memoryTypeBits, shm ? GPUCMD_BUFFER_HOST_VISIBLE : flags);
	if (import && req.size > shm->len) {
		snprintf(err, errlen, "the device needs %" PRIu64 " bytes for this buffer, the shared memory has %" PRIu64,
			 (uint64_t)req.size, shm->len);
		return -EINVAL;
	}
	if (import) {
		r = gd_memory_import(d->proc->memory, shm->ptr, shm->len, req.memoryTypeBits, &b->mem, err, errlen);
	} else if (type < 0) {
		snprintf(err, errlen, "the device has no memory type for a buffer with flags 0x%x", flags);
		r = -ENODEV;
	} else {
		r = gd_memory_alloc(d->proc->memory, &req, (uint32_t)type, &b->mem, err, errlen);
	}
	if (r < 0)
		return r;
	return gd_vk_explain(vkBindBufferMemory(gpu->device, b->buf, b->mem.mem, b->mem.offset), what,
			     "vkBindBufferMemory", err, errlen);
}

/* Creates a buffer whose memory is client shared memory (shm), or the
 * driver's when shm is NULL. */
static int create(struct gd_core *d, struct gd_account *acct, uint64_t size, uint32_t flags, struct gd_shm *shm,
		  struct gd_buffer **ret_buf, char *err, size_t errlen)
{
	struct gd_gpu *gpu = d->proc->gpu;
	if (size == 0) {
		snprintf(err, errlen, "buffer size must not be zero");
		return -EINVAL;
	}
	if (size > gpu->max_buffer_size) {
		snprintf(err, errlen, "buffer size %" PRIu64 " exceeds the device's maxBufferSize %" PRIu64, size,
			 gpu->max_buffer_size);
		return -E2BIG;
	}
	struct gd_buffer *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "daemon out of memory");
		return -ENOMEM;
	}
	int r = acct ? gd_account_charge(acct, size, err, errlen) : 0;
	if (r < 0) {
		free(b);
		return r;
	}
	b->size = size;
	bool import = shm && gpu->host_pointer_properties && !d->proc->cfg.no_host_import;
	r = make_backed(d, b, flags, shm, import, err, errlen);
	if (r < 0)
		goto fail;
	VkMemoryPropertyFlags props = gpu->mem.memoryTypes[b->mem.type].propertyFlags;
	bool coherent = props & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
	bool staged = d->proc->cfg.force_staging && !(flags & (GPUCMD_BUFFER_HOST_VISIBLE | GD_BUFFER_STAGING));
	b->map = coherent && !staged ? b->mem.map : NULL;
	if ((flags & GD_BUFFER_STAGING || (shm && !import)) && !b->map) {
		snprintf(err, errlen, "the device has no host-coherent memory for staging");
		r = -ENODEV;
		goto fail;
	}
	if (shm) {
		b->shm = *shm;
		b->shm_copy = !import;
		b->map = shm->ptr; /* writes and reads see the client's memory */
	}
	b->d = d;
	b->acct = acct ? gd_account_ref(acct) : NULL;
	b->refs = 1;
	b->flags = flags;
	d->stats.live_buffers++;
	gd_buffer_set_resident(b, true);
	*ret_buf = b;
	return 0;
fail:
	if (b->mem.mem)
		gd_memory_free(d->proc->memory, &b->mem);
	vkDestroyBuffer(gpu->device, b->buf, NULL);
	if (acct)
		gd_account_uncharge(acct, size);
	free(b);
	return r;
}

int gd_buffer_create(struct gd_core *d, struct gd_account *acct, uint64_t size, uint32_t flags,
		     struct gd_buffer **ret_buf, bool *ret_needs_zero, char *err, size_t errlen)
{
	int r = create(d, acct, size, flags, NULL, ret_buf, err, errlen);
	if (r < 0)
		return r;
	struct gd_buffer *b = *ret_buf;
	/* Memory may have held another client's data: never hand it out
	 * uncleared. Staging is the daemon's own and always overwritten. */
	if (b->map && !(flags & GD_BUFFER_STAGING))
		memset(b->map, 0, size);
	if (ret_needs_zero)
		*ret_needs_zero = !b->map;
	return 0;
}

int gd_buffer_create_shared(struct gd_core *d, struct gd_account *acct, uint64_t size, struct gd_shm *shm,
			    struct gd_buffer **ret_buf, bool *ret_zero_copy, char *err, size_t errlen)
{
	int r = create(d, acct, size, 0, shm, ret_buf, err, errlen);
	if (r == 0) {
		*ret_zero_copy = !(*ret_buf)->shm_copy;
		*shm = (struct gd_shm){0};
	}
	return r;
}

void gd_buffer_shm_in(struct gd_buffer *b)
{
	if (b->shm_copy)
		memcpy(b->mem.map, b->shm.ptr, b->size);
}

void gd_buffer_shm_out(struct gd_buffer *b)
{
	if (b->shm_copy)
		memcpy(b->shm.ptr, b->mem.map, b->size);
}

struct gd_buffer *gd_buffer_ref(struct gd_buffer *b)
{
	b->refs++;
	return b;
}

void gd_buffer_set_resident(struct gd_buffer *b, bool resident)
{
	if (b->resident == resident)
		return;
	b->resident = resident;
	gd_memory_set_resident(b->d->proc->memory, &b->mem, resident);
	if (b->acct)
		gd_account_resident(b->acct, b->size, resident ? 1 : -1);
	b->d->stats.resident_buffers += resident ? 1 : -1;
}

void gd_buffer_unref(struct gd_buffer *b)
{
	if (!b || --b->refs)
		return;
	struct gd_core *d = b->d;
	gd_buffer_set_resident(b, false);
	vkDestroyBuffer(d->proc->gpu->device, b->buf, NULL);
	gd_memory_free(d->proc->memory, &b->mem);
	gd_memfd_unmap(&b->shm); /* after the device let go of imported memory */
	/* The last client's buffers outlive it while the GPU still uses them. */
	if (!d->stats.clients)
		gd_memory_trim(d->proc->memory);
	if (b->acct) {
		gd_account_uncharge(b->acct, b->size);
		gd_account_unref(b->acct);
	}
	d->stats.live_buffers--;
	free(b);
}
