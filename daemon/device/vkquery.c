/*
 * vkquery.c — what a physical device offers (see vkquery.h).
 */
#include <stdlib.h>
#include <string.h>

#include "device/vkquery.h"

bool gd_has_device_ext(VkPhysicalDevice phys, const char *name)
{
	uint32_t n = 0;
	vkEnumerateDeviceExtensionProperties(phys, NULL, &n, NULL);
	VkExtensionProperties *props = calloc(n ? n : 1, sizeof(*props));
	bool found = false;
	if (props && vkEnumerateDeviceExtensionProperties(phys, NULL, &n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n && !found; i++)
			found = strcmp(props[i].extensionName, name) == 0;
	free(props);
	return found;
}

void gd_query_feature(VkPhysicalDevice phys, void *feature)
{
	VkPhysicalDeviceFeatures2 q = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = feature};
	vkGetPhysicalDeviceFeatures2(phys, &q);
	((VkBaseOutStructure *)feature)->pNext = NULL;
}
