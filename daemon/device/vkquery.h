/*
 * vkquery.h — what a physical device offers: its extensions, and whether it
 * supports the features of one feature struct.
 */
#ifndef GD_VKQUERY_H
#define GD_VKQUERY_H

#include <stdbool.h>

#include <vulkan/vulkan.h>

bool gd_has_device_ext(VkPhysicalDevice phys, const char *name);
/* Fills in `feature` (a VkPhysicalDevice*Features struct with its sType
 * set) from a query of its own, outside any chain; its pNext ends NULL. */
void gd_query_feature(VkPhysicalDevice phys, void *feature);

#endif
