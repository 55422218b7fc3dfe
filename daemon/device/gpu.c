/*
 * gpu.c — instance and device creation, device choice and the validation
 * message counter. Device: --device INDEX|UUID|NAME (a name in any case;
 * --list-devices shows them), else the best type (discrete > integrated >
 * virtual > CPU device such as lavapipe). Queue: a compute-only family when
 * there is one (it does not compete with graphics), else the first with compute.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "device/gpu.h"
#include "device/vkquery.h"
#include "base/log.h"
#include "device/vkcheck.h"

static const char *const VALIDATION_LAYER = "VK_LAYER_KHRONOS_validation";

const char *gd_gpu_type_name(VkPhysicalDeviceType type)
{
	switch (type) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
	default: return "other";
	}
}

int gd_gpu_memory_type(const struct gd_gpu *gpu, uint32_t type_bits, VkMemoryPropertyFlags want)
{
	for (uint32_t i = 0; i < gpu->mem.memoryTypeCount; i++)
		if ((type_bits & (1u << i)) && (gpu->mem.memoryTypes[i].propertyFlags & want) == want)
			return (int)i;
	return -1;
}

/* Runs on whichever thread made the Vulkan call: only an atomic and a log. */
static VkBool32 VKAPI_PTR on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
					VkDebugUtilsMessageTypeFlagsEXT type,
					const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
	(void)type;
	struct gd_gpu *gpu = user;
	if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)
		return VK_FALSE;
	atomic_fetch_add(&gpu->validation_messages, 1);
	log_err("validation: %s", data->pMessage);
	return VK_FALSE;
}

static bool has_layer(const char *name)
{
	uint32_t n = 0;
	vkEnumerateInstanceLayerProperties(&n, NULL);
	VkLayerProperties *props = calloc(n ? n : 1, sizeof(*props));
	bool found = false;
	if (props && vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
		for (uint32_t i = 0; i < n && !found; i++)
			found = strcmp(props[i].layerName, name) == 0;
	free(props);
	return found;
}

static int create_instance(struct gd_gpu *gpu)
{
	const char *layers[1];
	const char *exts[1];
	uint32_t n_layers = 0, n_exts = 0;
	if (gpu->validate) {
		if (!has_layer(VALIDATION_LAYER)) {
			log_err("validation requested but %s is not installed "
				"(Debian: apt install vulkan-validationlayers)", VALIDATION_LAYER);
			return -ENOENT;
		}
		layers[n_layers++] = VALIDATION_LAYER;
	}
	/* debug_utils gives both the validation messenger and command-buffer
	 * labels; it is a loader extension, present wherever the loader is. */
	exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
	VkApplicationInfo app = {
		.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "gpucmdd",
		.apiVersion = VK_API_VERSION_1_3,
	};
	VkDebugUtilsMessengerCreateInfoEXT dbg = {
		.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
		.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
				   VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
		.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
			       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
		.pfnUserCallback = on_validation,
		.pUserData = gpu,
	};
	/* Synchronization validation reports hazards the barriers miss: the
	 * tests of hazard tracking run with it. */
	VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
	VkValidationFeaturesEXT features = {
		.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
		.enabledValidationFeatureCount = 1,
		.pEnabledValidationFeatures = &sync,
		.pNext = &dbg,
	};
	VkInstanceCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pNext = gpu->validate_sync ? (void *)&features : gpu->validate ? (void *)&dbg : NULL,
		.pApplicationInfo = &app,
		.enabledLayerCount = n_layers,
		.ppEnabledLayerNames = layers,
		.enabledExtensionCount = n_exts,
		.ppEnabledExtensionNames = exts,
	};
	VkResult res = vkCreateInstance(&ci, NULL, &gpu->instance);
	if (res != VK_SUCCESS) {
		(void)gd_vk_check("vkCreateInstance", res);
		return -ENODEV;
	}
	if (gpu->validate) {
		PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)
			vkGetInstanceProcAddr(gpu->instance, "vkCreateDebugUtilsMessengerEXT");
		res = create ? create(gpu->instance, &dbg, NULL, &gpu->messenger) : VK_ERROR_EXTENSION_NOT_PRESENT;
		if (res != VK_SUCCESS) {
			(void)gd_vk_check("vkCreateDebugUtilsMessengerEXT", res);
			return -ENODEV;
		}
	}
	return 0;
}

static int type_rank(VkPhysicalDeviceType t)
{
	switch (t) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
	default: return 0;
	}
}

/* Why a device cannot serve gpucmd, or NULL when it can. */
static const char *unusable(VkPhysicalDevice phys)
{
	VkPhysicalDeviceProperties p;
	vkGetPhysicalDeviceProperties(phys, &p);
	if (p.apiVersion < VK_API_VERSION_1_3)
		return "it supports Vulkan below 1.3";
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
						.pNext = &f13};
	VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f12};
	vkGetPhysicalDeviceFeatures2(phys, &f);
	if (!f12.timelineSemaphore)
		return "it lacks timeline semaphores";
	if (!f13.synchronization2)
		return "it lacks synchronization2";
	return NULL;
}

/* The device UUID in the usual 8-4-4-4-12 form (vulkaninfo prints it too):
 * a name for one GPU that survives reordering, for gpucmdd@UUID units. */
static void device_uuid(VkPhysicalDevice phys, char out[37])
{
	VkPhysicalDeviceIDProperties id = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
	VkPhysicalDeviceProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &id};
	vkGetPhysicalDeviceProperties2(phys, &p);
	char *o = out;
	for (unsigned i = 0; i < VK_UUID_SIZE; i++)
		o += sprintf(o, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", id.deviceUUID[i]);
}

/* One device as --list-devices and a --device that matches none show it:
 * index, name, UUID, type, driver, and why it cannot serve when it cannot. */
static void describe_device(VkPhysicalDevice phys, uint32_t i, char *buf, size_t len)
{
	VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	VkPhysicalDeviceProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &drv};
	vkGetPhysicalDeviceProperties2(phys, &p);
	char uuid[37];
	device_uuid(phys, uuid);
	const char *why = unusable(phys);
	snprintf(buf, len, "%u  %s  %s  %s  %s %s%s%s%s", i, p.properties.deviceName, uuid,
		 gd_gpu_type_name(p.properties.deviceType), drv.driverName, drv.driverInfo, why ? "  (unusable: " : "",
		 why ? why : "", why ? ")" : "");
}

/* Whether --device `want` names device i: its index, its UUID, or a part
 * of its name in any case ("nvidia" for "NVIDIA H200"). */
static bool device_named(VkPhysicalDevice phys, uint32_t i, const char *want)
{
	char *end = NULL;
	long index = strtol(want, &end, 10);
	if (*want && end && *end == '\0')
		return index == (long)i;
	VkPhysicalDeviceProperties p;
	vkGetPhysicalDeviceProperties(phys, &p);
	char uuid[37];
	device_uuid(phys, uuid);
	return strcasecmp(uuid, want) == 0 || strcasestr(p.deviceName, want) != NULL;
}

/* A --device that names no usable device: the error lists them all. */
static void no_match(VkPhysicalDevice *devs, uint32_t n, const char *want)
{
	log_err("no usable device matches --device '%s' (an index, a UUID or part of a name); the devices:", want);
	for (uint32_t i = 0; i < n; i++) {
		char line[1024];
		describe_device(devs[i], i, line, sizeof(line));
		log_err("  %s", line);
	}
}

static int choose_device(struct gd_gpu *gpu, const char *want)
{
	uint32_t n = 0;
	vkEnumeratePhysicalDevices(gpu->instance, &n, NULL);
	if (n == 0) {
		log_err("no Vulkan device found (is a driver installed? Debian: mesa-vulkan-drivers)");
		return -ENODEV;
	}
	VkPhysicalDevice *devs = calloc(n, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	vkEnumeratePhysicalDevices(gpu->instance, &n, devs);
	int best = -1, best_rank = -1;
	for (uint32_t i = 0; i < n; i++) {
		VkPhysicalDeviceProperties p;
		vkGetPhysicalDeviceProperties(devs[i], &p);
		const char *why = unusable(devs[i]);
		bool named = want && device_named(devs[i], i, want);
		if (why) {
			if (named)
				log_err("device %u (%s) cannot be used: %s", i, p.deviceName, why);
			else
				log_info("skipping device %u (%s): %s", i, p.deviceName, why);
			continue;
		}
		if (want) {
			if (named && best < 0)
				best = (int)i;
			continue;
		}
		if (type_rank(p.deviceType) > best_rank) {
			best_rank = type_rank(p.deviceType);
			best = (int)i;
		}
	}
	if (best >= 0) {
		gpu->phys = devs[best];
		device_uuid(gpu->phys, gpu->uuid);
	} else if (want) {
		no_match(devs, n, want);
	} else {
		log_err("no usable Vulkan device");
	}
	free(devs);
	return best >= 0 ? 0 : -ENODEV;
}

int gd_gpu_list_devices(FILE *f)
{
	struct gd_gpu gpu = {0};
	int r = create_instance(&gpu);
	uint32_t n = 0;
	VkPhysicalDevice *devs = NULL;
	if (r == 0) {
		vkEnumeratePhysicalDevices(gpu.instance, &n, NULL);
		devs = calloc(n ? n : 1, sizeof(*devs));
		r = devs ? 0 : -ENOMEM;
	}
	if (r == 0) {
		vkEnumeratePhysicalDevices(gpu.instance, &n, devs);
		fprintf(f, "INDEX  NAME  UUID  TYPE  DRIVER\n");
		for (uint32_t i = 0; i < n; i++) {
			char line[1024];
			describe_device(devs[i], i, line, sizeof(line));
			fprintf(f, "%s\n", line);
		}
		if (n == 0)
			fprintf(f, "(no Vulkan device; is a driver installed? Debian: mesa-vulkan-drivers)\n");
	}
	free(devs);
	if (gpu.instance)
		vkDestroyInstance(gpu.instance, NULL);
	return r;
}

struct gd_gpu_options gd_gpu_options_of(const struct gd_config *cfg)
{
	return (struct gd_gpu_options){
		.device = cfg->device,
		.validate = cfg->validate,
		.validate_sync = cfg->validate_sync,
		.no_push_descriptors = cfg->no_push_descriptors,
		.queue_family = cfg->queue_family,
		.one_queue = cfg->one_queue,
		.round_trip_queue = cfg->round_trip_queue,
	};
}

/* The configured family, or the default (top of file); UINT32_MAX (logged)
 * when the configured one cannot run compute work. */
static uint32_t choose_family(struct gd_gpu *gpu, uint32_t want)
{
	uint32_t any = UINT32_MAX, compute_only = UINT32_MAX;
	for (uint32_t i = 0; i < gpu->n_families; i++) {
		VkQueueFlags f = gpu->families[i].queueFlags;
		if ((f & VK_QUEUE_COMPUTE_BIT) && !(f & VK_QUEUE_GRAPHICS_BIT) && compute_only == UINT32_MAX)
			compute_only = i;
		if ((f & VK_QUEUE_COMPUTE_BIT) && any == UINT32_MAX)
			any = i;
	}
	if (want == UINT32_MAX)
		return compute_only != UINT32_MAX ? compute_only : any;
	if (want >= gpu->n_families || !(gpu->families[want].queueFlags & VK_QUEUE_COMPUTE_BIT)) {
		log_err("queue_family %u: device %s has %u queue families and that one %s", want,
			gpu->props.deviceName, gpu->n_families, want < gpu->n_families ? "has no compute queue" : "is not one of them");
		return UINT32_MAX;
	}
	/* On the H200 the queues of the graphics family take turns in time
	 * slices: a high-priority round trip waited 0.35-2 ms behind bulk work
	 * there, and kept its idle time on the compute-only family
	 * (BENCHMARKS.md, "2026-12-04, late"). */
	if ((gpu->families[want].queueFlags & VK_QUEUE_GRAPHICS_BIT) && compute_only != UINT32_MAX)
		log_warn("queue_family %u: the family also runs graphics; on NVIDIA GPUs its queues take turns in time "
			 "slices, so high-priority work waits milliseconds behind bulk work there; family %u (compute "
			 "only, the default) keeps it apart",
			 want, compute_only);
	return want;
}

/* Turns on the optional features client SPIR-V may declare (spirv.c checks
 * a module's capabilities against exactly these), and keeps the list. Every
 * one of them changes what a kernel may compute, none what it may reach:
 * the features that would (buffer device addresses, variable pointers,
 * unbounded descriptor arrays) stay off. */
static void choose_features(struct gd_gpu *gpu, VkPhysicalDeviceFeatures2 *f, VkPhysicalDeviceVulkan11Features *f11,
			    VkPhysicalDeviceVulkan12Features *f12, VkPhysicalDeviceVulkan13Features *f13)
{
	VkPhysicalDeviceVulkan13Features s13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
	VkPhysicalDeviceVulkan12Features s12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
						.pNext = &s13};
	VkPhysicalDeviceVulkan11Features s11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
						.pNext = &s12};
	VkPhysicalDeviceFeatures2 s = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &s11};
	vkGetPhysicalDeviceFeatures2(gpu->phys, &s);
	/* Robust buffer access keeps a kernel's stray index inside its own
	 * bindings: another client's buffer can never be reached. */
	f->features.robustBufferAccess = s.features.robustBufferAccess;
	f->features.shaderInt64 = s.features.shaderInt64;
	f->features.shaderInt16 = s.features.shaderInt16;
	f->features.shaderFloat64 = s.features.shaderFloat64;
	f11->storageBuffer16BitAccess = s11.storageBuffer16BitAccess;
	f11->uniformAndStorageBuffer16BitAccess = s11.uniformAndStorageBuffer16BitAccess;
	f11->storagePushConstant16 = s11.storagePushConstant16;
	f12->storageBuffer8BitAccess = s12.storageBuffer8BitAccess;
	/* GPU-time accounting resets its queries from the host (timing.c). */
	f12->hostQueryReset = s12.hostQueryReset;
	f12->uniformAndStorageBuffer8BitAccess = s12.uniformAndStorageBuffer8BitAccess;
	f12->storagePushConstant8 = s12.storagePushConstant8;
	f12->shaderFloat16 = s12.shaderFloat16;
	f12->shaderInt8 = s12.shaderInt8;
	f12->shaderBufferInt64Atomics = s12.shaderBufferInt64Atomics;
	f12->shaderSharedInt64Atomics = s12.shaderSharedInt64Atomics;
	f12->shaderSubgroupExtendedTypes = s12.shaderSubgroupExtendedTypes;
	f12->vulkanMemoryModel = s12.vulkanMemoryModel;
	f12->vulkanMemoryModelDeviceScope = s12.vulkanMemoryModelDeviceScope;
	f13->subgroupSizeControl = s13.subgroupSizeControl;
	f13->computeFullSubgroups = s13.computeFullSubgroups;
	f13->shaderIntegerDotProduct = s13.shaderIntegerDotProduct;
	gpu->features = f->features;
	gpu->features11 = *f11;
	gpu->features12 = *f12;
	gpu->features13 = *f13;
	gpu->features11.pNext = gpu->features12.pNext = gpu->features13.pNext = NULL;
}

/* What the device is made with: its extensions and a chain of feature
 * structs behind f, each added where the device has it. */
struct device_request {
	const char *exts[16];
	uint32_t n_exts;
	VkPhysicalDeviceFeatures2 f;
	VkPhysicalDeviceVulkan11Features f11;
	VkPhysicalDeviceVulkan12Features f12;
	VkPhysicalDeviceVulkan13Features f13;
	VkPhysicalDeviceRobustness2FeaturesEXT r2;
	VkPhysicalDeviceMemoryPriorityFeaturesEXT priority;
	VkPhysicalDevicePageableDeviceLocalMemoryFeaturesEXT pageable;
	VkPhysicalDeviceFaultFeaturesEXT fault;
	VkPhysicalDeviceShaderAtomicFloatFeaturesEXT atomic_float;
	struct gd_coopmat_request coopmat;
	bool push, pageable_on, fault_on;
};

/* Enables extension `ext` and, when not NULL, the feature struct `feature`. */
static void request(struct device_request *r, const char *ext, void *feature)
{
	r->exts[r->n_exts++] = ext;
	if (feature) {
		((VkBaseOutStructure *)feature)->pNext = r->f.pNext;
		r->f.pNext = feature;
	}
}

static void query_properties(struct gd_gpu *gpu)
{
	gpu->driver = (VkPhysicalDeviceDriverProperties){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
	gpu->subgroup = (VkPhysicalDeviceSubgroupProperties){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
							     .pNext = &gpu->driver};
	gpu->props13 = (VkPhysicalDeviceVulkan13Properties){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_PROPERTIES,
							     .pNext = &gpu->subgroup};
	gpu->props12 = (VkPhysicalDeviceVulkan12Properties){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES,
							     .pNext = &gpu->props13};
	VkPhysicalDeviceMaintenance4Properties m4 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES,
						     .pNext = &gpu->props12};
	VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m4};
	vkGetPhysicalDeviceProperties2(gpu->phys, &p2);
	gpu->props = p2.properties;
	gpu->props12.pNext = gpu->props13.pNext = gpu->subgroup.pNext = gpu->driver.pNext = NULL;
	/* Whole words: buffers are made rounded up to one, which must not wrap. */
	gpu->max_buffer_size = m4.maxBufferSize & ~(VkDeviceSize)3;
	vkGetPhysicalDeviceMemoryProperties(gpu->phys, &gpu->mem);
	gpu->n_families = 16;
	vkGetPhysicalDeviceQueueFamilyProperties(gpu->phys, &gpu->n_families, gpu->families);
}

/* The core features (choose_features) and robustBufferAccess2
 * (VK_EXT_robustness2), which discards out-of-range writes and reads zero
 * where plain robust access may still touch the rest of the buffer outside
 * the bound range. maintenance4 is required by Vulkan 1.3 and needed for
 * SPIR-V 1.6, whose workgroup size is a LocalSizeId. */
static void request_core(struct gd_gpu *gpu, struct device_request *r)
{
	r->f13 = (VkPhysicalDeviceVulkan13Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
						    .synchronization2 = VK_TRUE, .maintenance4 = VK_TRUE};
	r->f12 = (VkPhysicalDeviceVulkan12Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
						    .pNext = &r->f13, .timelineSemaphore = VK_TRUE};
	r->f11 = (VkPhysicalDeviceVulkan11Features){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
						    .pNext = &r->f12};
	r->f = (VkPhysicalDeviceFeatures2){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &r->f11};
	choose_features(gpu, &r->f, &r->f11, &r->f12, &r->f13);
	r->f13.pNext = NULL;
	r->r2 = (VkPhysicalDeviceRobustness2FeaturesEXT){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT};
	if (gd_has_device_ext(gpu->phys, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME)) {
		gd_query_feature(gpu->phys, &r->r2);
		bool has = r->r2.robustBufferAccess2;
		r->r2 = (VkPhysicalDeviceRobustness2FeaturesEXT){
			.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ROBUSTNESS_2_FEATURES_EXT, .robustBufferAccess2 = has};
		if (has)
			request(r, VK_EXT_ROBUSTNESS_2_EXTENSION_NAME, &r->r2);
		gpu->robustness2 = has && r->f.features.robustBufferAccess;
	}
	gpu->host_query_reset = r->f12.hostQueryReset;
}

/* Memory extensions are optional: budget makes allocation honest about
 * what the driver can hold, priority and pageable memory let resident
 * buffers stay in VRAM when the device is oversubscribed, and host-pointer
 * import lets shared memory from clients be used by the GPU in place
 * (MEMORY.md). Push descriptors spare a descriptor pool per command buffer. */
static void request_memory(struct gd_gpu *gpu, struct device_request *r, bool no_push)
{
	r->push = !no_push && gd_has_device_ext(gpu->phys, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
	if (r->push) {
		request(r, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME, NULL);
		VkPhysicalDevicePushDescriptorPropertiesKHR pd = {
			.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PUSH_DESCRIPTOR_PROPERTIES_KHR};
		VkPhysicalDeviceProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &pd};
		vkGetPhysicalDeviceProperties2(gpu->phys, &p);
		gpu->max_push_descriptors = pd.maxPushDescriptors;
	}
	if (gd_has_device_ext(gpu->phys, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME)) {
		VkPhysicalDeviceExternalMemoryHostPropertiesEXT hp = {
			.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
		VkPhysicalDeviceProperties2 p = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &hp};
		vkGetPhysicalDeviceProperties2(gpu->phys, &p);
		gpu->host_import_alignment = hp.minImportedHostPointerAlignment;
		request(r, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME, NULL);
	}
	gpu->has_memory_budget = gd_has_device_ext(gpu->phys, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
	if (gpu->has_memory_budget)
		request(r, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME, NULL);
	r->priority = (VkPhysicalDeviceMemoryPriorityFeaturesEXT){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PRIORITY_FEATURES_EXT};
	r->pageable = (VkPhysicalDevicePageableDeviceLocalMemoryFeaturesEXT){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PAGEABLE_DEVICE_LOCAL_MEMORY_FEATURES_EXT};
	if (!gd_has_device_ext(gpu->phys, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME))
		return;
	gd_query_feature(gpu->phys, &r->priority);
	gpu->has_memory_priority = r->priority.memoryPriority;
	if (!gpu->has_memory_priority)
		return;
	request(r, VK_EXT_MEMORY_PRIORITY_EXTENSION_NAME, &r->priority);
	if (gd_has_device_ext(gpu->phys, VK_EXT_PAGEABLE_DEVICE_LOCAL_MEMORY_EXTENSION_NAME)) {
		gd_query_feature(gpu->phys, &r->pageable);
		r->pageable_on = r->pageable.pageableDeviceLocalMemory;
		if (r->pageable_on)
			request(r, VK_EXT_PAGEABLE_DEVICE_LOCAL_MEMORY_EXTENSION_NAME, &r->pageable);
	}
}

/* Device fault reports say what the GPU was doing when it was lost. Float
 * atomics (atomicAdd on floats, common in reductions and scatter kernels)
 * change what a kernel computes, not what it reaches; image atomics stay
 * off: gpucmd binds no images. */
static void request_extras(struct gd_gpu *gpu, struct device_request *r)
{
	r->fault = (VkPhysicalDeviceFaultFeaturesEXT){.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FAULT_FEATURES_EXT};
	if (gd_has_device_ext(gpu->phys, VK_EXT_DEVICE_FAULT_EXTENSION_NAME)) {
		gd_query_feature(gpu->phys, &r->fault);
		r->fault_on = r->fault.deviceFault;
		r->fault.deviceFaultVendorBinary = VK_FALSE;
		if (r->fault_on)
			request(r, VK_EXT_DEVICE_FAULT_EXTENSION_NAME, &r->fault);
	}
	VkPhysicalDeviceShaderAtomicFloatFeaturesEXT *af = &r->atomic_float;
	*af = (VkPhysicalDeviceShaderAtomicFloatFeaturesEXT){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_ATOMIC_FLOAT_FEATURES_EXT};
	if (gd_has_device_ext(gpu->phys, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME)) {
		gd_query_feature(gpu->phys, af);
		af->shaderImageFloat32Atomics = af->shaderImageFloat32AtomicAdd = VK_FALSE;
		af->sparseImageFloat32Atomics = af->sparseImageFloat32AtomicAdd = VK_FALSE;
		gpu->atomic_float = *af;
		request(r, VK_EXT_SHADER_ATOMIC_FLOAT_EXTENSION_NAME, af);
	}
}

/* Cooperative matrices (coopmat.c), for registry.c's variants. */
static void request_coopmat(struct gd_gpu *gpu, struct device_request *r)
{
	gd_coopmat_query(gpu->instance, gpu->phys, &gpu->coopmat, &r->coopmat);
	for (uint32_t i = 0; i < r->coopmat.n; i++)
		request(r, r->coopmat.exts[i], r->coopmat.features[i]);
}

static void load_device_procs(struct gd_gpu *gpu, const struct device_request *r)
{
	if (r->push)
		gpu->push_descriptor = (PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(gpu->device,
											"vkCmdPushDescriptorSetKHR");
	if (gpu->host_import_alignment)
		gpu->host_pointer_properties = (PFN_vkGetMemoryHostPointerPropertiesEXT)vkGetDeviceProcAddr(
			gpu->device, "vkGetMemoryHostPointerPropertiesEXT");
	if (r->pageable_on)
		gpu->set_memory_priority = (PFN_vkSetDeviceMemoryPriorityEXT)vkGetDeviceProcAddr(
			gpu->device, "vkSetDeviceMemoryPriorityEXT");
	gpu->insert_label = (PFN_vkCmdInsertDebugUtilsLabelEXT)vkGetInstanceProcAddr(
		gpu->instance, "vkCmdInsertDebugUtilsLabelEXT");
	if (r->fault_on)
		gpu->fault_info = (PFN_vkGetDeviceFaultInfoEXT)vkGetDeviceProcAddr(gpu->device,
										   "vkGetDeviceFaultInfoEXT");
}

static int create_device(struct gd_gpu *gpu, const struct gd_gpu_options *opts)
{
	query_properties(gpu);
	gpu->family = choose_family(gpu, opts->queue_family);
	if (gpu->family == UINT32_MAX) {
		if (opts->queue_family == UINT32_MAX)
			log_err("device %s has no compute queue", gpu->props.deviceName);
		return -ENODEV;
	}
	struct device_request r = {0};
	request_core(gpu, &r);
	request_memory(gpu, &r, opts->no_push_descriptors);
	request_extras(gpu, &r);
	request_coopmat(gpu, &r);
	gpu->atomic_float.pNext = NULL;
	/* Bulk work on queue 0, HIGH sessions on queue 1 of the family at a higher priority where it has
	 * two, round trips on queue 2 between the two where it has three (at bulk's priority the flood
	 * lost half its throughput in 2 of 13 runs on the H200, at 0.75 in none of 11, BENCHMARKS.md);
	 * same family: no ownership transfers. The tracks without a queue share queue 0 (DESIGN.md,
	 * "Priorities"). */
	const float prio[3] = {0.5f, 1.0f, 0.75f};
	uint32_t n_queues = gpu->families[gpu->family].queueCount;
	n_queues = opts->one_queue ? 1 : n_queues < 3 ? n_queues : opts->round_trip_queue ? 3 : 2;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = gpu->family,
				     .queueCount = n_queues, .pQueuePriorities = n_queues == 1 ? &prio[1] : prio};
	VkDeviceCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
		.pNext = &r.f,
		.queueCreateInfoCount = 1,
		.pQueueCreateInfos = &q,
		.enabledExtensionCount = r.n_exts,
		.ppEnabledExtensionNames = r.exts,
	};
	if (gd_vk_check("vkCreateDevice", vkCreateDevice(gpu->phys, &ci, NULL, &gpu->device)) < 0)
		return -ENODEV;
	vkGetDeviceQueue(gpu->device, gpu->family, 0, &gpu->queue);
	vkGetDeviceQueue(gpu->device, gpu->family, n_queues > 1, &gpu->queue_high);
	vkGetDeviceQueue(gpu->device, gpu->family, n_queues > 2 ? 2 : 0, &gpu->queue_round_trip);
	load_device_procs(gpu, &r);
	return 0;
}

void gd_gpu_fault_text(struct gd_gpu *gpu, char *buf, size_t len)
{
	snprintf(buf, len, "no fault report (VK_EXT_device_fault %s)",
		 gpu->fault_info ? "reported nothing" : "not supported by this driver");
	VkDeviceFaultCountsEXT counts = {.sType = VK_STRUCTURE_TYPE_DEVICE_FAULT_COUNTS_EXT};
	if (!gpu->fault_info || gpu->fault_info(gpu->device, &counts, NULL) != VK_SUCCESS)
		return;
	counts.vendorBinarySize = 0;
	VkDeviceFaultAddressInfoEXT *addrs = calloc(counts.addressInfoCount + 1, sizeof(*addrs));
	VkDeviceFaultVendorInfoEXT *vendor = calloc(counts.vendorInfoCount + 1, sizeof(*vendor));
	VkDeviceFaultInfoEXT info = {.sType = VK_STRUCTURE_TYPE_DEVICE_FAULT_INFO_EXT, .pAddressInfos = addrs,
				     .pVendorInfos = vendor};
	VkResult r = addrs && vendor ? gpu->fault_info(gpu->device, &counts, &info) : VK_ERROR_OUT_OF_HOST_MEMORY;
	if (r == VK_SUCCESS || r == VK_INCOMPLETE) {
		int n = snprintf(buf, len, "fault report: %s", info.description);
		if (counts.addressInfoCount && n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - (size_t)n, "; %u addresses, first type %d at 0x%llx",
				      counts.addressInfoCount, (int)addrs[0].addressType,
				      (unsigned long long)addrs[0].reportedAddress);
		if (counts.vendorInfoCount && n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, "; vendor: %s (code 0x%llx)", vendor[0].description,
				 (unsigned long long)vendor[0].vendorFaultCode);
	}
	free(addrs);
	free(vendor);
}

struct gd_gpu *gd_gpu_create(const struct gd_gpu_options *opts)
{
	struct gd_gpu *gpu = calloc(1, sizeof(*gpu));
	if (!gpu)
		return NULL;
	gpu->validate = opts->validate || opts->validate_sync;
	gpu->validate_sync = opts->validate_sync;
	if (create_instance(gpu) < 0 || choose_device(gpu, opts->device) < 0 || create_device(gpu, opts) < 0)
		goto fail;
	uint32_t v = gpu->props.apiVersion;
	log_info("memory: budget %s, priority %s, pageable %s, host pointer import %s", gpu->has_memory_budget ? "yes" : "no",
		 gpu->has_memory_priority ? "yes" : "no", gpu->set_memory_priority ? "yes" : "no",
		 gpu->host_pointer_properties ? "yes" : "no");
	log_info("device: %s (%s, uuid %s, vendor 0x%04x, device 0x%04x), driver %s %s, Vulkan %u.%u.%u, "
		 "queue family %u (%s), %s, %s%s",
		 gpu->props.deviceName, gd_gpu_type_name(gpu->props.deviceType), gpu->uuid, gpu->props.vendorID,
		 gpu->props.deviceID, gpu->driver.driverName, gpu->driver.driverInfo, VK_API_VERSION_MAJOR(v),
		 VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v), gpu->family,
		 gpu->queue_round_trip != gpu->queue ? "queues of their own for high priority and for round trips"
		 : gpu->queue_high != gpu->queue   ? "a queue of its own for high priority"
						   : "one queue for every priority",
		 gpu->push_descriptor ? "push descriptors" : "descriptor pools",
		 gpu->robustness2 ? "robustBufferAccess2" : gpu->features.robustBufferAccess ? "robustBufferAccess" : "no robust access",
		 gpu->validate_sync ? ", validation with syncval on" : gpu->validate ? ", validation on" : "");
	return gpu;
fail:
	gd_gpu_destroy(gpu);
	return NULL;
}

uint64_t gd_gpu_destroy(struct gd_gpu *gpu)
{
	if (!gpu)
		return 0;
	if (gpu->device) {
		vkDeviceWaitIdle(gpu->device);
		vkDestroyDevice(gpu->device, NULL);
	}
	if (gpu->messenger) {
		PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)
			vkGetInstanceProcAddr(gpu->instance, "vkDestroyDebugUtilsMessengerEXT");
		if (destroy)
			destroy(gpu->instance, gpu->messenger, NULL);
	}
	if (gpu->instance)
		vkDestroyInstance(gpu->instance, NULL);
	uint64_t msgs = atomic_load(&gpu->validation_messages);
	free(gpu);
	return msgs;
}
