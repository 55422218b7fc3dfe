/*
 * vkcheck.c — Vulkan results as names and codes (see vkcheck.h).
 */
#include <errno.h>
#include <stdio.h>

#include "base/log.h"
#include "device/vkcheck.h"
#include "gpucmd_defs.h"

const char *gd_vk_result(VkResult r)
{
	switch (r) {
#define R(x) case x: return #x;
	R(VK_SUCCESS) R(VK_NOT_READY) R(VK_TIMEOUT) R(VK_INCOMPLETE)
	R(VK_ERROR_OUT_OF_HOST_MEMORY) R(VK_ERROR_OUT_OF_DEVICE_MEMORY)
	R(VK_ERROR_INITIALIZATION_FAILED) R(VK_ERROR_DEVICE_LOST)
	R(VK_ERROR_MEMORY_MAP_FAILED) R(VK_ERROR_LAYER_NOT_PRESENT)
	R(VK_ERROR_EXTENSION_NOT_PRESENT) R(VK_ERROR_FEATURE_NOT_PRESENT)
	R(VK_ERROR_INCOMPATIBLE_DRIVER) R(VK_ERROR_TOO_MANY_OBJECTS)
	R(VK_ERROR_FORMAT_NOT_SUPPORTED) R(VK_ERROR_INVALID_EXTERNAL_HANDLE)
	R(VK_ERROR_OUT_OF_POOL_MEMORY) R(VK_ERROR_UNKNOWN)
#undef R
	default: return "VkResult";
	}
}

int gd_vk_errno(VkResult r)
{
	switch (r) {
	case VK_SUCCESS: return 0;
	case VK_ERROR_OUT_OF_HOST_MEMORY:
	case VK_ERROR_OUT_OF_DEVICE_MEMORY:
	case VK_ERROR_OUT_OF_POOL_MEMORY:
	case VK_ERROR_FRAGMENTED_POOL:
	case VK_ERROR_FRAGMENTATION: return -ENOMEM;
	case VK_ERROR_DEVICE_LOST: return GPUCMD_E_DEVICE_LOST;
	case VK_ERROR_FEATURE_NOT_PRESENT:
	case VK_ERROR_EXTENSION_NOT_PRESENT:
	case VK_ERROR_FORMAT_NOT_SUPPORTED:
	case VK_ERROR_LAYER_NOT_PRESENT:
	case VK_ERROR_INCOMPATIBLE_DRIVER: return -ENOTSUP;
	case VK_ERROR_TOO_MANY_OBJECTS: return -EMFILE;
	default: return -EIO;
	}
}

int gd_vk_check(const char *call, VkResult r)
{
	/* Clients can make these fail at will, exhausting memory in a loop. */
	static struct gd_ratelimit failures = GD_RATELIMIT_CLIENT;
	if (r == VK_SUCCESS)
		return 0;
	gd_log_limited(&failures, GD_LOG_ERR, NULL, "%s failed: %s (%d)", call, gd_vk_result(r), (int)r);
	return gd_vk_errno(r);
}

int gd_vk_explain(VkResult r, const char *what, const char *call, char *err, size_t errlen)
{
	if (r == VK_SUCCESS)
		return 0;
	snprintf(err, errlen, "%s: %s failed: %s", what, call, gd_vk_result(r));
	return gd_vk_errno(r);
}
