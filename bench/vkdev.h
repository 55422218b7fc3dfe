/*
 * vkdev.h — the Vulkan set-up the Vulkan-only tools share (bench/memstall.c,
 * bench/submit_threads.c): an instance, the first device, its first
 * compute family with up to `want` queues, timeline semaphores and
 * synchronization2 on, and the index of a device-local memory type. VK()
 * dies naming the call that failed (fail.h). bench_vk_close destroys the
 * device and the instance once the tool destroyed what it made on them.
 */
#ifndef GPUCMD_BENCH_VKDEV_H
#define GPUCMD_BENCH_VKDEV_H

#include <stdint.h>

#include <vulkan/vulkan.h>

#include "fail.h"

#define VK(call)                                                                                \
	do {                                                                                    \
		VkResult r_ = (call);                                                           \
		if (r_ != VK_SUCCESS)                                                           \
			die("%s failed: %d (line %d)", #call, (int)r_, __LINE__);               \
	} while (0)

struct bench_vk {
	VkInstance inst;
	VkPhysicalDevice phys;
	VkPhysicalDeviceProperties2 props; /* props.pNext is &drv: the struct is not to be copied */
	VkPhysicalDeviceDriverProperties drv;
	VkDevice dev;
	uint32_t fam, queues;   /* the compute family and the queues made in it */
	uint32_t local_type;    /* a device-local memory type */
};

/* Queue i of the `want` asked for gets priority prios[i]. */
static inline void bench_vk_open(struct bench_vk *v, uint32_t want, const float *prios)
{
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_3};
	VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
	VK(vkCreateInstance(&ici, NULL, &v->inst));
	uint32_t n = 1;
	VkResult er = vkEnumeratePhysicalDevices(v->inst, &n, &v->phys);
	if ((er != VK_SUCCESS && er != VK_INCOMPLETE) || !n)
		die("no Vulkan device");
	v->drv = (VkPhysicalDeviceDriverProperties){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	v->props = (VkPhysicalDeviceProperties2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &v->drv};
	vkGetPhysicalDeviceProperties2(v->phys, &v->props);
	VkPhysicalDeviceMemoryProperties mp;
	vkGetPhysicalDeviceMemoryProperties(v->phys, &mp);
	v->local_type = 0;
	while (v->local_type < mp.memoryTypeCount &&
	       !(mp.memoryTypes[v->local_type].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
		v->local_type++;
	uint32_t nf = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(v->phys, &nf, NULL);
	VkQueueFamilyProperties qf[16];
	nf = nf > 16 ? 16 : nf;
	vkGetPhysicalDeviceQueueFamilyProperties(v->phys, &nf, qf);
	v->fam = 0;
	while (v->fam < nf && !(qf[v->fam].queueFlags & VK_QUEUE_COMPUTE_BIT))
		v->fam++;
	if (v->fam == nf)
		die("no compute queue family");
	v->queues = qf[v->fam].queueCount < want ? qf[v->fam].queueCount : want;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = v->fam,
				     .queueCount = v->queues, .pQueuePriorities = prios};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
						.timelineSemaphore = VK_TRUE};
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
						.pNext = &f12, .synchronization2 = VK_TRUE};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f13,
				  .queueCreateInfoCount = 1, .pQueueCreateInfos = &q};
	VK(vkCreateDevice(v->phys, &dci, NULL, &v->dev));
}

static inline void bench_vk_close(struct bench_vk *v)
{
	vkDestroyDevice(v->dev, NULL);
	vkDestroyInstance(v->inst, NULL);
}

#endif
