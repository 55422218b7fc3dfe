/*
 * gpu.h — the Vulkan instance, the chosen physical device, the logical
 * device and the queue gpucmdd submits to. Owns the validation messenger and
 * its message count. Everything else borrows these handles.
 */
#ifndef GD_GPU_H
#define GD_GPU_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include <vulkan/vulkan.h>

#include "base/settings.h"
#include "device/coopmat.h"

struct gd_gpu_options {
	const char *device;   /* index or part of a name; NULL: the best device */
	bool validate;        /* load VK_LAYER_KHRONOS_validation */
	bool validate_sync;   /* with synchronization validation (implies validate) */
	bool no_push_descriptors; /* use descriptor pools even where push descriptors exist */
	uint32_t queue_family;    /* UINT32_MAX: a compute-only family if any, else the first with compute */
	bool one_queue;           /* every track shares the bulk queue even where the family has more */
	bool round_trip_queue;    /* round trips get a queue of their own where the family has three */
};

/* The options the configuration asks for (start-up and device recreation). */
struct gd_gpu_options gd_gpu_options_of(const struct gd_config *cfg);


struct gd_gpu {
	VkInstance instance;
	VkDebugUtilsMessengerEXT messenger;
	VkPhysicalDevice phys;
	VkDevice device;
	VkQueue queue;               /* bulk work: normal and low sessions */
	VkQueue queue_high;          /* high sessions: queue 1 of the family, or `queue` where it has one */
	VkQueue queue_round_trip;    /* round trips of normal and low sessions (submit/job.h): queue 2, or `queue` */
	uint32_t family;
	bool validate, validate_sync;
	atomic_uint_fast64_t validation_messages;

	VkPhysicalDeviceProperties props;
	char uuid[37];               /* deviceUUID, 8-4-4-4-12 hex */
	VkPhysicalDeviceDriverProperties driver;
	VkPhysicalDeviceMemoryProperties mem;
	uint32_t n_families;
	VkQueueFamilyProperties families[16];
	uint64_t max_buffer_size;
	VkPhysicalDeviceSubgroupProperties subgroup;

	bool has_memory_budget;    /* VK_EXT_memory_budget */
	bool has_memory_priority;  /* VK_EXT_memory_priority */
	PFN_vkSetDeviceMemoryPriorityEXT set_memory_priority; /* NULL without pageable memory */
	uint64_t host_import_alignment; /* minImportedHostPointerAlignment, 0 without the extension */
	PFN_vkGetMemoryHostPointerPropertiesEXT host_pointer_properties; /* NULL without it */

	/* Features enabled on the device: what client SPIR-V may use. */
	VkPhysicalDeviceFeatures features;
	VkPhysicalDeviceVulkan11Features features11;
	VkPhysicalDeviceVulkan12Features features12;
	VkPhysicalDeviceVulkan13Features features13;
	VkPhysicalDeviceShaderAtomicFloatFeaturesEXT atomic_float; /* enabled float atomics, zero without the extension */
	VkPhysicalDeviceVulkan12Properties props12;   /* float controls */
	VkPhysicalDeviceVulkan13Properties props13;   /* subgroup size control */
	uint32_t max_push_descriptors;                /* 0 without VK_KHR_push_descriptor */
	bool robustness2;     /* robustBufferAccess2: stray accesses stay inside the bound range */
	bool host_query_reset; /* hostQueryReset: queries reset with vkResetQueryPool */
	struct gd_coopmat coopmat; /* cooperative matrices enabled (coopmat.h) */

	PFN_vkCmdPushDescriptorSetKHR push_descriptor; /* NULL: the descriptor-pool path */
	PFN_vkCmdInsertDebugUtilsLabelEXT insert_label; /* NULL without debug_utils */
	PFN_vkGetDeviceFaultInfoEXT fault_info;         /* NULL without VK_EXT_device_fault */
};

/* --list-devices: every Vulkan device, one line each (index, name, UUID,
 * type, driver, and why gpucmdd cannot use it when it cannot). 0 or a
 * negative errno (logged). */
int gd_gpu_list_devices(FILE *f);

/* Creates the instance and device. Returns NULL and logs why on failure. */
struct gd_gpu *gd_gpu_create(const struct gd_gpu_options *opts);
/* Waits for the device to go idle, then destroys everything. Returns the
 * number of validation messages over the device's whole life, including
 * those about objects left alive at destruction. Accepts NULL. */
uint64_t gd_gpu_destroy(struct gd_gpu *gpu);

/* What VK_EXT_device_fault reports about a lost device, as one line in
 * buf (or that there is no report). */
void gd_gpu_fault_text(struct gd_gpu *gpu, char *buf, size_t len);

/* Index of a memory type allowed by type_bits that has all of `want`, or -1. */
int gd_gpu_memory_type(const struct gd_gpu *gpu, uint32_t type_bits, VkMemoryPropertyFlags want);

/* "discrete", "integrated", "virtual", "cpu", "other". */
const char *gd_gpu_type_name(VkPhysicalDeviceType type);

#endif
