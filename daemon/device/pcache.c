/*
 * pcache.c — the pipeline cache on disk (see pcache.h). Every check on load
 * is about not handing a driver bytes it did not write: a driver is meant
 * to reject foreign cache data itself, but a corrupt file is cheaper to
 * refuse here than to debug in a driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device/gpu.h"
#include "device/vkcheck.h"
#include "base/log.h"
#include "base/hash.h"
#include "device/pcache.h"

#define MAGIC "GPUCMDPC"
#define FORMAT 1u
#define MAX_FILE (256u << 20)

struct file_header {
	char magic[8];
	uint32_t format, zero;
	uint64_t length, hash;
};

/* Why the payload was not written by this device and driver, or NULL. */
static const char *foreign(const struct gd_gpu *gpu, const uint8_t *p, size_t n)
{
	VkPipelineCacheHeaderVersionOne h;
	if (n < sizeof(h))
		return "shorter than a Vulkan pipeline cache header";
	memcpy(&h, p, sizeof(h));
	if (h.headerSize < sizeof(h) || h.headerSize > n)
		return "bad Vulkan header size";
	if (h.headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE)
		return "unknown Vulkan header version";
	if (h.vendorID != gpu->props.vendorID || h.deviceID != gpu->props.deviceID)
		return "written for another device";
	if (memcmp(h.pipelineCacheUUID, gpu->props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
		return "written by another driver version (cache UUID differs)";
	return NULL;
}

/* Reads and checks the file; *ret_data (malloc'd) is the payload. 0, or
 * -ENOENT (no file), or another negative code with *ret_why set. */
static int load(const struct gd_gpu *gpu, const char *path, uint8_t **ret_data, size_t *ret_len, const char **ret_why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	struct file_header h;
	uint8_t *data = NULL;
	int r = -EINVAL;
	*ret_why = "cannot read it";
	if (fstat(fd, &st) < 0 || read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h)) {
		*ret_why = "shorter than its header";
		goto out;
	}
	if (memcmp(h.magic, MAGIC, 8) != 0 || h.format != FORMAT) {
		*ret_why = "not a gpucmd pipeline cache of this format";
		goto out;
	}
	if (h.length > MAX_FILE || (uint64_t)st.st_size != sizeof(h) + h.length) {
		*ret_why = "truncated or padded (length does not match the file size)";
		goto out;
	}
	if (!(data = malloc(h.length ? h.length : 1))) {
		r = -ENOMEM;
		goto out;
	}
	if (read(fd, data, h.length) != (ssize_t)h.length) {
		*ret_why = "short read";
		goto out;
	}
	if (gd_fnv1a(GD_FNV1A_INIT, data, h.length) != h.hash) {
		*ret_why = "corrupt (checksum mismatch)";
		goto out;
	}
	if ((*ret_why = foreign(gpu, data, h.length)))
		goto out;
	*ret_data = data;
	*ret_len = h.length;
	data = NULL;
	r = 0;
out:
	free(data);
	close(fd);
	return r;
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

struct gd_pcache *gd_pcache_create(struct gd_gpu *gpu, const char *dir)
{
	struct gd_pcache *pc = calloc(1, sizeof(*pc));
	uint8_t *data = NULL;
	size_t len = 0;
	if (!pc)
		return NULL;
	pc->gpu = gpu;
	if (dir) {
		int r = make_dirs(dir);
		if (r < 0)
			log_warn("pipeline cache: cannot create %s: %s; running without a disk cache", dir, strerror(-r));
		else if (asprintf(&pc->path, "%s/pipelines-%04x-%04x.cache", dir, gpu->props.vendorID,
				  gpu->props.deviceID) < 0)
			pc->path = NULL;
	}
	if (pc->path) {
		const char *why = NULL;
		int r = load(gpu, pc->path, &data, &len, &why);
		if (r == 0) {
			pc->saved_hash = gd_fnv1a(GD_FNV1A_INIT, data, len);
			pc->saved_size = len;
			log_info("pipeline cache: %zu bytes from %s", len, pc->path);
		} else if (r == -ENOENT) {
			log_info("pipeline cache: %s does not exist yet (cold start)", pc->path);
		} else {
			log_warn("pipeline cache: ignoring %s: %s", pc->path, why ? why : strerror(-r));
		}
	}
	VkPipelineCacheCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
		.initialDataSize = len,
		.pInitialData = data,
	};
	VkResult res = vkCreatePipelineCache(gpu->device, &ci, NULL, &pc->cache);
	free(data);
	if (res != VK_SUCCESS) {
		(void)gd_vk_check("vkCreatePipelineCache", res);
		gd_pcache_destroy(pc);
		return NULL;
	}
	return pc;
}

/* Writes the whole file under a temporary name, then renames it into place. */
static int write_atomically(const char *path, const uint8_t *data, size_t len)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct file_header h = {.format = FORMAT, .length = len, .hash = gd_fnv1a(GD_FNV1A_INIT, data, len)};
	memcpy(h.magic, MAGIC, 8);
	int r = 0;
	errno = 0;
	if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

int gd_pcache_save(struct gd_pcache *pc)
{
	if (!pc || !pc->path)
		return 0;
	VkDevice dev = pc->gpu->device;
	size_t len = 0;
	VkResult res = vkGetPipelineCacheData(dev, pc->cache, &len, NULL);
	uint8_t *data = res == VK_SUCCESS ? malloc(len ? len : 1) : NULL;
	if (data)
		res = vkGetPipelineCacheData(dev, pc->cache, &len, data);
	if (!data || res != VK_SUCCESS) {
		free(data);
		log_warn("pipeline cache: cannot read it back from the driver (%s)", data ? gd_vk_result(res) : "no memory");
		return -EIO;
	}
	uint64_t hash = gd_fnv1a(GD_FNV1A_INIT, data, len);
	int r = 0;
	if (len != pc->saved_size || hash != pc->saved_hash) {
		r = write_atomically(pc->path, data, len);
		if (r < 0) {
			log_warn("pipeline cache: cannot write %s: %s", pc->path, strerror(-r));
		} else {
			pc->saved_hash = hash;
			pc->saved_size = len;
			log_info("pipeline cache: wrote %zu bytes to %s", len, pc->path);
		}
	}
	free(data);
	return r;
}

void gd_pcache_destroy(struct gd_pcache *pc)
{
	if (!pc)
		return;
	if (pc->cache)
		vkDestroyPipelineCache(pc->gpu->device, pc->cache, NULL);
	free(pc->path);
	free(pc);
}
