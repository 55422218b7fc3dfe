/*
 * vkcheck.h — the one way a failed Vulkan call becomes an error: its
 * result's name kept in the log line or the client's message, and an
 * errno-style code that says what kind of failure it was (not -ENOMEM for
 * everything).
 */
#ifndef GD_VKCHECK_H
#define GD_VKCHECK_H

#include <stddef.h>

#include <vulkan/vulkan.h>

/* The name of a VkResult ("VK_ERROR_DEVICE_LOST"). */
const char *gd_vk_result(VkResult r);
/* The code for a failed call: -ENOMEM when memory (host, device, a pool)
 * ran out, GPUCMD_E_DEVICE_LOST, -ENOTSUP for a missing feature, extension
 * or format, -EMFILE for too many objects, else -EIO. 0 for VK_SUCCESS. */
int gd_vk_errno(VkResult r);
/* 0 when r is VK_SUCCESS; else logs "CALL failed: NAME (r)" and returns
 * gd_vk_errno(r). For failures no client is told about. */
int gd_vk_check(const char *call, VkResult r);
/* 0 when r is VK_SUCCESS; else writes "WHAT: CALL failed: NAME" to err
 * for the client and returns gd_vk_errno(r). */
int gd_vk_explain(VkResult r, const char *what, const char *call, char *err, size_t errlen);

#endif
