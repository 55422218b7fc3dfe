/*
 * memory.c — blocks, dedicated allocations, budget and priority (see
 * memory.h). Runs on the loop thread only.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "device/gpu.h"
#include "device/vkcheck.h"
#include "base/list.h"
#include "base/log.h"
#include "device/memory.h"
#include "base/range.h"

#define PRIORITY_RESIDENT 1.0f
#define PRIORITY_EVICTABLE 0.25f

struct gd_block {
	struct gd_list link;      /* gd_memory.blocks[type] */
	VkDeviceMemory mem;
	uint8_t *map;
	struct gd_ranges ranges;
	uint32_t type;
	uint32_t n_allocs, n_resident;
};

/* A dedicated allocation whose buffer was freed, kept for the next buffer of
 * the same size and memory type (memory.h). */
struct gd_kept {
	struct gd_list link;      /* gd_memory.kept, oldest first */
	VkDeviceMemory mem;
	uint8_t *map;
	uint64_t size;
	uint32_t type;
};

struct gd_memory {
	pthread_mutex_t lock;      /* every shard allocates: each call below holds it */
	struct gd_gpu *gpu;
	struct gd_list blocks[VK_MAX_MEMORY_TYPES];
	struct gd_list kept;
	uint64_t kept_bytes, keep_max, reused;
	uint32_t n_kept;
	uint64_t allocated[VK_MAX_MEMORY_HEAPS];  /* VkDeviceMemory bytes per heap */
	uint64_t used[VK_MAX_MEMORY_HEAPS];       /* bytes handed to buffers per heap */
	uint64_t block_size[VK_MAX_MEMORY_HEAPS];
	uint32_t n_allocations;
};

struct gd_memory *gd_memory_create(struct gd_gpu *gpu, uint32_t keep_mib)
{
	struct gd_memory *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	m->gpu = gpu;
	for (uint32_t i = 0; i < VK_MAX_MEMORY_TYPES; i++)
		gd_list_init(&m->blocks[i]);
	gd_list_init(&m->kept);
	uint64_t largest = 0;
	for (uint32_t h = 0; h < gpu->mem.memoryHeapCount; h++)
		if (gpu->mem.memoryHeaps[h].size > largest)
			largest = gpu->mem.memoryHeaps[h].size;
	/* An eighth: on the H200 a sixteenth (8.8 GB) did not hold eight clients'
	 * 2 GiB each and their disconnects still stalled the others 24-42 ms
	 * (BENCHMARKS.md). */
	m->keep_max = keep_mib == GD_CONFIG_AUTO ? largest / 8 : (uint64_t)keep_mib << 20;
	/* A small heap (a 256 MiB BAR window) gets smaller blocks so one
	 * block never takes a large share of it. */
	for (uint32_t h = 0; h < gpu->mem.memoryHeapCount; h++) {
		uint64_t bs = GD_BLOCK_SIZE;
		while (bs > (1u << 20) && bs > gpu->mem.memoryHeaps[h].size / 16)
			bs /= 2;
		m->block_size[h] = bs;
	}
	return m;
}

static uint32_t heap_of(const struct gd_memory *m, uint32_t type)
{
	return m->gpu->mem.memoryTypes[type].heapIndex;
}

static uint32_t heaps(struct gd_memory *m, struct gd_heap_usage *out)
{
	const struct gd_gpu *gpu = m->gpu;
	VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
	VkPhysicalDeviceMemoryProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
	if (gpu->has_memory_budget)
		vkGetPhysicalDeviceMemoryProperties2(gpu->phys, &p);
	for (uint32_t h = 0; h < gpu->mem.memoryHeapCount; h++) {
		const VkMemoryHeap *heap = &gpu->mem.memoryHeaps[h];
		out[h] = (struct gd_heap_usage){
			.size = heap->size,
			.budget = gpu->has_memory_budget ? b.heapBudget[h] : heap->size,
			.usage = gpu->has_memory_budget ? b.heapUsage[h] : m->allocated[h],
			.allocated = m->allocated[h],
			.used = m->used[h],
			.device_local = heap->flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT,
		};
	}
	return gpu->mem.memoryHeapCount;
}

uint32_t gd_memory_heaps(struct gd_memory *m, struct gd_heap_usage *out)
{
	pthread_mutex_lock(&m->lock);
	uint32_t n = heaps(m, out);
	pthread_mutex_unlock(&m->lock);
	return n;
}

uint32_t gd_memory_allocations(struct gd_memory *m)
{
	pthread_mutex_lock(&m->lock);
	uint32_t n = m->n_allocations;
	pthread_mutex_unlock(&m->lock);
	return n;
}

struct gd_memory_kept gd_memory_kept(struct gd_memory *m)
{
	pthread_mutex_lock(&m->lock);
	struct gd_memory_kept k = {.allocations = m->n_kept, .bytes = m->kept_bytes, .reused = m->reused};
	pthread_mutex_unlock(&m->lock);
	return k;
}

static bool release_kept_for(struct gd_memory *m, uint32_t h, uint64_t need);

/* One new VkDeviceMemory, checked against the heap's budget first (kept
 * memory is given back to make room). */
static int allocate(struct gd_memory *m, uint64_t size, uint32_t type, VkDeviceMemory *ret, uint8_t **ret_map,
		    char *err, size_t errlen)
{
	struct gd_gpu *gpu = m->gpu;
	uint32_t h = heap_of(m, type);
	struct gd_heap_usage u[VK_MAX_MEMORY_HEAPS];
	heaps(m, u);
	if ((u[h].usage > u[h].budget || size > u[h].budget - u[h].usage) && release_kept_for(m, h, size))
		heaps(m, u);
	if (u[h].usage > u[h].budget || size > u[h].budget - u[h].usage) {
		snprintf(err, errlen,
			 "allocating %" PRIu64 " bytes in memory heap %u would exceed the device budget (%" PRIu64
			 " of %" PRIu64 " bytes in use)",
			 size, h, u[h].usage, u[h].budget);
		return -ENOSPC;
	}
	VkMemoryPriorityAllocateInfoEXT prio = {.sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT,
						.priority = PRIORITY_RESIDENT};
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.pNext = gpu->has_memory_priority ? &prio : NULL,
		.allocationSize = size,
		.memoryTypeIndex = type,
	};
	VkResult res = vkAllocateMemory(gpu->device, &ai, NULL, ret);
	if ((res == VK_ERROR_OUT_OF_DEVICE_MEMORY || res == VK_ERROR_TOO_MANY_OBJECTS) && release_kept_for(m, UINT32_MAX, UINT64_MAX))
		res = vkAllocateMemory(gpu->device, &ai, NULL, ret);
	if (res != VK_SUCCESS) {
		snprintf(err, errlen, "the device is out of memory allocating %" PRIu64 " bytes in heap %u (%s)", size,
			 h, gd_vk_result(res));
		return -ENOSPC;
	}
	*ret_map = NULL;
	if (gpu->mem.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
		res = vkMapMemory(gpu->device, *ret, 0, VK_WHOLE_SIZE, 0, (void **)ret_map);
		if (res != VK_SUCCESS) {
			vkFreeMemory(gpu->device, *ret, NULL);
			snprintf(err, errlen, "mapping %" PRIu64 " bytes failed: %s", size, gd_vk_result(res));
			return gd_vk_errno(res);
		}
	}
	m->allocated[h] += size;
	m->n_allocations++;
	return 0;
}

static void release(struct gd_memory *m, VkDeviceMemory mem, uint64_t size, uint32_t type)
{
	vkFreeMemory(m->gpu->device, mem, NULL); /* unmaps implicitly */
	m->allocated[heap_of(m, type)] -= size;
	m->n_allocations--;
}

/* Takes k off the kept list; returns what it held. */
static struct gd_kept unkeep(struct gd_memory *m, struct gd_kept *k)
{
	struct gd_kept v = *k;
	gd_list_remove(&k->link);
	m->kept_bytes -= v.size;
	m->n_kept--;
	free(k);
	return v;
}

static void release_kept(struct gd_memory *m, struct gd_kept *k)
{
	struct gd_kept v = unkeep(m, k);
	release(m, v.mem, v.size, v.type);
}

/* Returns kept memory of heap h to the device, oldest first, until `need`
 * more bytes fit its budget (all of it for need UINT64_MAX, any heap for h
 * UINT32_MAX); whether anything was released. */
static bool release_kept_for(struct gd_memory *m, uint32_t h, uint64_t need)
{
	bool any = false;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &m->kept) {
		struct gd_kept *k = gd_container_of(pos, struct gd_kept, link);
		if (h != UINT32_MAX && heap_of(m, k->type) != h)
			continue;
		release_kept(m, k);
		any = true;
		struct gd_heap_usage u[VK_MAX_MEMORY_HEAPS];
		heaps(m, u);
		if (h != UINT32_MAX && u[h].usage <= u[h].budget && need <= u[h].budget - u[h].usage)
			break;
	}
	return any;
}

/* A kept allocation of exactly `size` bytes of memory type `type`, taken. */
static bool reuse(struct gd_memory *m, uint64_t size, uint32_t type, struct gd_alloc *ret)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &m->kept) {
		struct gd_kept *k = gd_container_of(pos, struct gd_kept, link);
		if (k->size != size || k->type != type)
			continue;
		struct gd_kept v = unkeep(m, k);
		ret->mem = v.mem;
		ret->map = v.map;
		m->reused++;
		return true;
	}
	return false;
}

/* Keeps a freed dedicated allocation for reuse where there is room;
 * whether it did (else the caller frees it). */
static bool keep(struct gd_memory *m, const struct gd_alloc *a)
{
	struct gd_kept *k;
	if (a->imported || a->size > m->keep_max - m->kept_bytes || !(k = malloc(sizeof(*k))))
		return false;
	*k = (struct gd_kept){.mem = a->mem, .map = a->map, .size = a->size, .type = a->type};
	gd_list_insert_tail(&m->kept, &k->link);
	m->kept_bytes += a->size;
	m->n_kept++;
	/* Nothing lives in it: the driver may page it out first. */
	if (m->gpu->set_memory_priority)
		m->gpu->set_memory_priority(m->gpu->device, a->mem, PRIORITY_EVICTABLE);
	return true;
}

static void destroy_block(struct gd_memory *m, struct gd_block *b)
{
	gd_list_remove(&b->link);
	release(m, b->mem, b->ranges.size, b->type);
	gd_ranges_finish(&b->ranges);
	free(b);
}

static struct gd_block *create_block(struct gd_memory *m, uint32_t type, char *err, size_t errlen, int *r)
{
	struct gd_block *b = calloc(1, sizeof(*b));
	uint64_t size = m->block_size[heap_of(m, type)];
	if (!b || gd_ranges_init(&b->ranges, size) < 0) {
		free(b);
		snprintf(err, errlen, "daemon out of memory");
		*r = -ENOMEM;
		return NULL;
	}
	*r = allocate(m, size, type, &b->mem, &b->map, err, errlen);
	if (*r < 0) {
		gd_ranges_finish(&b->ranges);
		free(b);
		return NULL;
	}
	b->type = type;
	gd_list_insert_tail(&m->blocks[type], &b->link);
	return b;
}

static int alloc_locked(struct gd_memory *m, const VkMemoryRequirements *req, uint32_t type, struct gd_alloc *ret,
			    char *err, size_t errlen)
{
	uint32_t h = heap_of(m, type);
	*ret = (struct gd_alloc){.type = type, .size = req->size};
	int r;
	if (req->size > m->block_size[h] / 2) {
		r = reuse(m, req->size, type, ret) ? 0 : allocate(m, req->size, type, &ret->mem, &ret->map, err, errlen);
		if (r < 0) {
			ret->mem = VK_NULL_HANDLE;
			return r;
		}
		m->used[h] += req->size;
		return 0;
	}
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &m->blocks[type]) {
		struct gd_block *b = gd_container_of(pos, struct gd_block, link);
		if (gd_ranges_alloc(&b->ranges, req->size, req->alignment, &ret->offset) == 0) {
			ret->block = b;
			goto found;
		}
	}
	ret->block = create_block(m, type, err, errlen, &r);
	if (!ret->block)
		return r;
	if (gd_ranges_alloc(&ret->block->ranges, req->size, req->alignment, &ret->offset) < 0) {
		snprintf(err, errlen, "daemon out of memory");
		return -ENOMEM;
	}
found:
	ret->mem = ret->block->mem;
	ret->map = ret->block->map ? ret->block->map + ret->offset : NULL;
	ret->block->n_allocs++;
	m->used[h] += req->size;
	return 0;
}

int gd_memory_alloc(struct gd_memory *m, const VkMemoryRequirements *req, uint32_t type, struct gd_alloc *ret,
		    char *err, size_t errlen)
{
	pthread_mutex_lock(&m->lock);
	int r = alloc_locked(m, req, type, ret, err, errlen);
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int import_locked(struct gd_memory *m, void *ptr, uint64_t size, uint32_t type_bits, struct gd_alloc *ret,
			     char *err, size_t errlen)
{
	struct gd_gpu *gpu = m->gpu;
	VkMemoryHostPointerPropertiesEXT hp = {.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
	VkResult res = gpu->host_pointer_properties(gpu->device, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
						    ptr, &hp);
	uint32_t bits = res == VK_SUCCESS ? hp.memoryTypeBits & type_bits : 0;
	if (!bits) {
		snprintf(err, errlen, "the device cannot use this shared memory for a buffer (%s)", gd_vk_result(res));
		return -ENOTSUP;
	}
	uint32_t type = (uint32_t)__builtin_ctz(bits);
	VkImportMemoryHostPointerInfoEXT imp = {
		.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
		.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT,
		.pHostPointer = ptr,
	};
	VkMemoryAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
		.pNext = &imp,
		.allocationSize = size,
		.memoryTypeIndex = type,
	};
	*ret = (struct gd_alloc){.type = type, .size = size, .map = ptr, .imported = true};
	res = vkAllocateMemory(gpu->device, &ai, NULL, &ret->mem);
	if (res != VK_SUCCESS) {
		ret->mem = VK_NULL_HANDLE;
		snprintf(err, errlen, "importing %" PRIu64 " bytes of shared memory failed: %s", size, gd_vk_result(res));
		return gd_vk_errno(res);
	}
	m->allocated[heap_of(m, type)] += size;
	m->used[heap_of(m, type)] += size;
	m->n_allocations++;
	return 0;
}

int gd_memory_import(struct gd_memory *m, void *ptr, uint64_t size, uint32_t type_bits, struct gd_alloc *ret,
		     char *err, size_t errlen)
{
	pthread_mutex_lock(&m->lock);
	int r = import_locked(m, ptr, size, type_bits, ret, err, errlen);
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* True when another block of the same type is empty: then this one can go. */
static bool has_spare(struct gd_memory *m, struct gd_block *self)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &m->blocks[self->type]) {
		struct gd_block *b = gd_container_of(pos, struct gd_block, link);
		if (b != self && b->n_allocs == 0)
			return true;
	}
	return false;
}

static void free_locked(struct gd_memory *m, struct gd_alloc *a)
{
	m->used[heap_of(m, a->type)] -= a->size;
	struct gd_block *b = a->block;
	if (!b) {
		if (!keep(m, a))
			release(m, a->mem, a->size, a->type);
		return;
	}
	if (gd_ranges_free(&b->ranges, a->offset, a->size) < 0)
		log_warn("memory block lost %" PRIu64 " bytes: out of memory tracking free space", a->size);
	if (--b->n_allocs == 0 && has_spare(m, b))
		destroy_block(m, b);
}

void gd_memory_free(struct gd_memory *m, struct gd_alloc *a)
{
	pthread_mutex_lock(&m->lock);
	free_locked(m, a);
	pthread_mutex_unlock(&m->lock);
}

static void set_resident_locked(struct gd_memory *m, struct gd_alloc *a, bool resident)
{
	struct gd_gpu *gpu = m->gpu;
	struct gd_block *b = a->block;
	bool was_high = !b || b->n_resident > 0;
	if (b)
		b->n_resident += resident ? 1 : -1;
	bool high = b ? b->n_resident > 0 : resident;
	if (gpu->set_memory_priority && (!b || high != was_high))
		gpu->set_memory_priority(gpu->device, a->mem, high ? PRIORITY_RESIDENT : PRIORITY_EVICTABLE);
}

void gd_memory_set_resident(struct gd_memory *m, struct gd_alloc *a, bool resident)
{
	pthread_mutex_lock(&m->lock);
	set_resident_locked(m, a, resident);
	pthread_mutex_unlock(&m->lock);
}

static void trim_locked(struct gd_memory *m)
{
	/* A client connecting and leaving in a loop is the only one each time. */
	static struct gd_ratelimit trims = GD_RATELIMIT_CLIENT;
	if (!m->n_kept)
		return;
	gd_log_limited(&trims, GD_LOG_INFO, NULL, "giving %u kept allocations (%.1f MiB) back to the device: no client "
		       "is connected", m->n_kept, (double)m->kept_bytes / (1u << 20));
	release_kept_for(m, UINT32_MAX, UINT64_MAX);
}

void gd_memory_trim(struct gd_memory *m)
{
	pthread_mutex_lock(&m->lock);
	trim_locked(m);
	pthread_mutex_unlock(&m->lock);
}

void gd_memory_destroy(struct gd_memory *m)
{
	if (!m)
		return;
	release_kept_for(m, UINT32_MAX, UINT64_MAX);
	for (uint32_t t = 0; t < VK_MAX_MEMORY_TYPES; t++)
		while (!gd_list_empty(&m->blocks[t]))
			destroy_block(m, gd_container_of(m->blocks[t].next, struct gd_block, link));
	pthread_mutex_destroy(&m->lock);
	free(m);
}
