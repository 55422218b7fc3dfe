/*
 * memory.h — the daemon's device memory: one allocator for every client.
 *
 * The device limits how many VkDeviceMemory objects may exist
 * (maxMemoryAllocationCount, often 4096), so small buffers are carved from
 * blocks of GD_BLOCK_SIZE with a first-fit allocator (range.h); a buffer of
 * more than half a block gets a dedicated allocation. Freed space is reused;
 * an empty block is returned to the device, except the last one of each
 * memory type, kept so that a client creating and freeing one small buffer
 * in a loop does not allocate 64 MiB each time.
 *
 * A dedicated allocation whose buffer is freed is kept (up to keep_mib in
 * all) for the next buffer of the same size and memory type, as a caching
 * allocator does: the NVIDIA driver takes 24 ms to allocate or free a GiB,
 * and while it does no other thread of the process submits or polls
 * (BENCHMARKS.md), so a client that makes and frees large buffers would
 * stall every other client each time. Buffers are cleared at creation
 * (model/buffer.c), so kept memory never shows one client's data to
 * another. Kept memory goes back to the device when an allocation needs
 * the room, when no client is connected, and at the end.
 *
 * New device memory is checked against the heap's budget
 * (VK_EXT_memory_budget where present, the heap size otherwise), so a
 * request that would push the device into paging fails with an error that
 * says so. Where VK_EXT_pageable_device_local_memory is present, memory
 * holding resident buffers gets a high priority and the rest a low one.
 * See docs/MEMORY.md for why this is a small allocator of our own.
 */
#ifndef GD_MEMORY_H
#define GD_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define GD_BLOCK_SIZE (64ull << 20)

struct gd_gpu;
struct gd_block;

/* One buffer's memory: a slice of a block or a dedicated allocation. */
struct gd_alloc {
	struct gd_block *block;   /* NULL for a dedicated allocation */
	VkDeviceMemory mem;
	uint64_t offset, size;
	uint8_t *map;             /* host pointer at offset, NULL if not mappable */
	uint32_t type;
	bool imported;            /* host memory (gd_memory_import): never kept */
};

struct gd_heap_usage {
	uint64_t size;            /* VkMemoryHeap.size */
	uint64_t budget;          /* what the driver says we may use (size without the extension) */
	uint64_t usage;           /* the driver's view of use by this process, or ours */
	uint64_t allocated;       /* device memory gpucmdd holds in this heap */
	uint64_t used;            /* of that, bytes handed out to buffers */
	bool device_local;
};

/* keep_mib: how much freed memory to keep for reuse; GD_CONFIG_AUTO: an
 * eighth of the largest heap, 0: none. */
struct gd_memory *gd_memory_create(struct gd_gpu *gpu, uint32_t keep_mib);
/* Frees every block. Every gd_alloc must have been freed. Accepts NULL. */
void gd_memory_destroy(struct gd_memory *m);

/* Allocates memory for `req` from memory type `type`. 0, or a negative code
 * with a message in err naming the heap and the limit that refused it. */
int gd_memory_alloc(struct gd_memory *m, const VkMemoryRequirements *req, uint32_t type, struct gd_alloc *ret,
		    char *err, size_t errlen);
void gd_memory_free(struct gd_memory *m, struct gd_alloc *a);
/* Wraps `size` bytes of host memory at ptr (aligned and sized to the
 * device's minImportedHostPointerAlignment) as device memory usable by a
 * buffer with memory type bits `type_bits`. The memory must stay mapped
 * until gd_memory_free. 0 or a negative code with a message in err. */
int gd_memory_import(struct gd_memory *m, void *ptr, uint64_t size, uint32_t type_bits, struct gd_alloc *ret,
		     char *err, size_t errlen);

/* Counts a buffer in `a` in or out of the residency set; raises or lowers
 * the priority of its memory where the device can page. */
void gd_memory_set_resident(struct gd_memory *m, struct gd_alloc *a, bool resident);

/* Fills up to VK_MAX_MEMORY_HEAPS entries; returns how many heaps. */
uint32_t gd_memory_heaps(struct gd_memory *m, struct gd_heap_usage *out);
/* VkDeviceMemory objects alive (blocks plus dedicated allocations, kept
 * ones included). */
uint32_t gd_memory_allocations(struct gd_memory *m);
/* Freed allocations kept for reuse: how many, their bytes, and how many
 * buffers were given one since start. */
struct gd_memory_kept { uint32_t allocations; uint64_t bytes, reused; };
struct gd_memory_kept gd_memory_kept(struct gd_memory *m);
/* Gives every kept allocation back to the device (no client is left). */
void gd_memory_trim(struct gd_memory *m);

#endif
