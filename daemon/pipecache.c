/*
 * pipecache.c — the pipeline cache file (see pipecache.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu.h"
#include "log.h"
#include "pipecache.h"

/* The data starts with VkPipelineCacheHeaderVersionOne. A driver must
 * ignore data it does not recognise, but checking first lets the log say
 * why the cache was not used (a new driver, another GPU). */
static bool matches_device(const struct gd_gpu *gpu, const uint8_t *data, size_t size)
{
	VkPipelineCacheHeaderVersionOne h;
	if (size < sizeof(h))
		return false;
	memcpy(&h, data, sizeof(h));
	return h.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && h.vendorID == gpu->props.vendorID &&
	       h.deviceID == gpu->props.deviceID &&
	       memcmp(h.pipelineCacheUUID, gpu->props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

/* Reads the whole file; NULL with *ret_size 0 when there is none. */
static uint8_t *read_all(const char *path, size_t *ret_size)
{
	*ret_size = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno != ENOENT)
			log_warn("pipeline cache %s: %s; starting with an empty one", path, strerror(errno));
		return NULL;
	}
	uint8_t *data = NULL;
	long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
	if (size > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)size)) &&
	    fread(data, 1, (size_t)size, f) == (size_t)size) {
		*ret_size = (size_t)size;
	} else {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

VkPipelineCache gd_pipecache_load(struct gd_gpu *gpu, const char *path)
{
	size_t size = 0;
	uint8_t *data = path ? read_all(path, &size) : NULL;
	if (data && !matches_device(gpu, data, size)) {
		log_info("pipeline cache %s was made by another device or driver; starting with an empty one", path);
		size = 0;
	}
	VkPipelineCacheCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
		.initialDataSize = size,
		.pInitialData = size ? data : NULL,
	};
	VkPipelineCache cache = VK_NULL_HANDLE;
	VkResult res = vkCreatePipelineCache(gpu->device, &ci, NULL, &cache);
	if (res != VK_SUCCESS) {
		gd_vk_error("vkCreatePipelineCache", res);
		cache = VK_NULL_HANDLE;
	} else if (size) {
		log_info("pipeline cache: %zu bytes from %s", size, path);
	}
	free(data);
	return cache;
}

void gd_pipecache_save(struct gd_gpu *gpu, VkPipelineCache cache, const char *path)
{
	if (!cache)
		return;
	size_t size = 0;
	uint8_t *data = NULL;
	VkResult res = VK_SUCCESS;
	if (path && (res = vkGetPipelineCacheData(gpu->device, cache, &size, NULL)) == VK_SUCCESS && size &&
	    (data = malloc(size)))
		res = vkGetPipelineCacheData(gpu->device, cache, &size, data);
	vkDestroyPipelineCache(gpu->device, cache, NULL);
	if (res != VK_SUCCESS)
		gd_vk_error("vkGetPipelineCacheData", res);
	if (!data || res != VK_SUCCESS) {
		free(data);
		return;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = fopen(tmp, "wb");
	bool ok = f && fwrite(data, 1, size, f) == size;
	if (f && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, path) == 0)
		log_debug("pipeline cache: %zu bytes written to %s", size, path);
	else {
		log_warn("cannot write the pipeline cache %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(data);
}
