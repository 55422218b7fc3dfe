/*
 * pcache.h — the VkPipelineCache and its copy on disk. Start-up seeds the
 * cache from the file when the file is whole and was written for this very
 * device and driver; anything else is ignored with a log line. Saving writes
 * a temporary file and renames it over the old one, so a reader (or a crash)
 * never sees half a file.
 *
 * File (native byte order): "GPUCMDPC", u32 format version, u32 zero,
 * u64 payload length, u64 FNV-1a of the payload, then the payload: what
 * vkGetPipelineCacheData returned, beginning with its
 * VkPipelineCacheHeaderVersionOne (size, version, vendor, device, UUID).
 */
#ifndef GD_PCACHE_H
#define GD_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

struct gd_gpu;

struct gd_pcache {
	struct gd_gpu *gpu;
	VkPipelineCache cache;
	char *path;           /* NULL: no disk copy (--no-cache, or no usable directory) */
	uint64_t saved_hash;  /* of the payload last read or written, to skip rewriting it */
	size_t saved_size;
};

/* Creates the cache, seeded from dir's file for this device when it is
 * valid. dir NULL: memory only. Returns NULL only when the Vulkan object
 * cannot be made; a directory or file problem is logged and the cache
 * works without disk. */
struct gd_pcache *gd_pcache_create(struct gd_gpu *gpu, const char *dir);
/* Writes the cache to disk when it changed since it was read or last
 * written. 0 or a negative code (logged). */
int gd_pcache_save(struct gd_pcache *pc);
/* Destroys the cache without saving. Accepts NULL. */
void gd_pcache_destroy(struct gd_pcache *pc);

#endif
