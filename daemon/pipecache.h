/*
 * pipecache.h — the Vulkan pipeline cache kept on disk (pipeline_cache in
 * the configuration; under systemd $STATE_DIRECTORY/pipeline-cache), so
 * that a restarted daemon builds its pipelines from the driver's cache
 * instead of compiling every kernel again.
 */
#ifndef GD_PIPECACHE_H
#define GD_PIPECACHE_H

#include <vulkan/vulkan.h>

struct gd_gpu;

/* A cache seeded from path when the file holds data of this very device
 * and driver; otherwise (missing, other device, unreadable: logged) an
 * empty one. NULL path: an empty cache that is never saved.
 * VK_NULL_HANDLE only when the driver cannot create a cache at all; the
 * pipelines are then built without one. */
VkPipelineCache gd_pipecache_load(struct gd_gpu *gpu, const char *path);
/* Writes the cache to path (a new file renamed over the old one, so a
 * crash never leaves half a cache) and destroys it. Failures are logged,
 * never fatal. Accepts VK_NULL_HANDLE and a NULL path. */
void gd_pipecache_save(struct gd_gpu *gpu, VkPipelineCache cache, const char *path);

#endif
