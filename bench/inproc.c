/*
 * bench/inproc.c - the in-process Vulkan baseline for the gpucmd benchmarks.
 *
 * This file owns the "no daemon" side of every ratio in the benchmarks: it
 * does the same GPU work as gpucmd's clients (add_f32 dispatches, buffer
 * transfers, command-buffer replay), but straight on Vulkan 1.3 in one
 * process, with timeline semaphores, vkQueueSubmit2 (synchronization2) and
 * VK_KHR_push_descriptor. Each subcommand prints ONE line of JSON on stdout
 * with raw nanosecond values and their min/median; every result that has a
 * value is checked. Any failure exits non-zero with a message on stderr.
 *
 *   bench-inproc rtt [--iters N] [--warmup W] [--poll]
 *   bench-inproc stream [--dispatches N] [--repeats R] [--outputs K]
 *   bench-inproc coldstart              (one measurement per process)
 *   bench-inproc multiproc --procs P [--seconds S]
 *   bench-inproc transfer [--mib M] [--repeats R]
 *   bench-inproc replay [--nodes K] [--iters N] [--warmup W]
 *   common: --kernels DIR (default build/kernels), --device INDEX
 *
 * Build: cc -std=c17 -O2 -Wall -Wextra -D_GNU_SOURCE bench/inproc.c \
 *          -o build/bench-inproc $(pkg-config --cflags --libs vulkan) -lm
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vulkan/vulkan.h>

#define WAIT_TIMEOUT_NS (30ull * 1000000000ull)
#define SMALL_N 256u /* elements of one tiny add_f32 dispatch */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench-inproc: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static const char *vk_result_name(VkResult r)
{
	switch (r) {
	case VK_TIMEOUT: return "VK_TIMEOUT";
	case VK_INCOMPLETE: return "VK_INCOMPLETE";
	case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
	case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
	case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
	case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
	case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
	case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
	case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
	case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
	case VK_ERROR_INVALID_EXTERNAL_HANDLE: return "VK_ERROR_INVALID_EXTERNAL_HANDLE";
	case VK_ERROR_UNKNOWN: return "VK_ERROR_UNKNOWN";
	default: return "see vulkan_core.h";
	}
}

/* Any result other than VK_SUCCESS is fatal: name the call and the number. */
static void vk_check(VkResult r, const char *expr, int line)
{
	if (r != VK_SUCCESS)
		die("%.*s failed: VkResult %d (%s), line %d", (int)strcspn(expr, "("),
		    expr, (int)r, vk_result_name(r), line);
}
#define VK(call) vk_check((call), #call, __LINE__)

/* ---- statistics and JSON ------------------------------------------------ */

#include "stats.h"

/* ---- Vulkan context ----------------------------------------------------- */

enum kernel { K_ADD, K_MUL, K_FILL, K_COUNT };
static const struct { const char *file; uint32_t bindings, push; } kinfo[K_COUNT] = {
	[K_ADD] = {"add_f32.spv", 3, 4},
	[K_MUL] = {"mul_f32.spv", 3, 4},
	[K_FILL] = {"fill_f32.spv", 1, 8},
};

struct ctx {
	VkInstance inst;
	VkPhysicalDevice pd;
	VkDevice dev;
	VkQueue queue;
	uint32_t qfam;
	VkPhysicalDeviceMemoryProperties mem;
	char device[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	char driver[VK_MAX_DRIVER_NAME_SIZE + VK_MAX_DRIVER_INFO_SIZE + 2];
	bool host_import;          /* VK_EXT_external_memory_host enabled */
	VkDeviceSize host_align;   /* minImportedHostPointerAlignment */
	VkCommandPool pool;
	VkSemaphore timeline;
	uint64_t tl_value;         /* last value signalled */
	VkDescriptorSetLayout dsl[K_COUNT];
	VkPipelineLayout layout[K_COUNT];
	VkPipeline pipe[K_COUNT];
	PFN_vkCmdPushDescriptorSetKHR push_set;
	PFN_vkGetMemoryHostPointerPropertiesEXT host_ptr_props;
};

static void ctx_instance(struct ctx *c)
{
	uint32_t ver = 0;
	VK(vkEnumerateInstanceVersion(&ver));
	if (ver < VK_API_VERSION_1_3)
		die("Vulkan loader is %u.%u, need 1.3", VK_API_VERSION_MAJOR(ver), VK_API_VERSION_MINOR(ver));
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
		.pApplicationName = "gpucmd-bench-inproc", .apiVersion = VK_API_VERSION_1_3};
	VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
		.pApplicationInfo = &app};
	VK(vkCreateInstance(&ici, NULL, &c->inst));
}

static bool has_ext(VkPhysicalDevice pd, const char *name)
{
	uint32_t n = 0;
	VK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL));
	VkExtensionProperties *e = calloc(n ? n : 1, sizeof *e);
	if (!e)
		die("out of memory");
	VK(vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e));
	bool found = false;
	for (uint32_t i = 0; i < n && !found; i++)
		found = strcmp(e[i].extensionName, name) == 0;
	free(e);
	return found;
}

/* Compute-only family (async compute) if there is one, else any compute. */
static int pick_queue_family(VkPhysicalDevice pd)
{
	uint32_t n = 0;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
	VkQueueFamilyProperties q[64];
	if (n > 64)
		n = 64;
	vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
	int any = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (!(q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) || q[i].queueCount == 0)
			continue;
		if (!(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT))
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}

/* Higher is better; NULL *why means usable. */
static int device_score(VkPhysicalDevice pd, const char **why)
{
	VkPhysicalDeviceProperties p;
	vkGetPhysicalDeviceProperties(pd, &p);
	*why = NULL;
	if (p.apiVersion < VK_API_VERSION_1_3)
		*why = "supports Vulkan < 1.3";
	else if (!has_ext(pd, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME))
		*why = "lacks VK_KHR_push_descriptor";
	else if (pick_queue_family(pd) < 0)
		*why = "has no compute queue";
	switch (p.deviceType) {
	case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
	case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
	case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
	case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
	default: return 0;
	}
}

static void ctx_device(struct ctx *c, int index, bool want_host_import)
{
	uint32_t n = 0;
	VK(vkEnumeratePhysicalDevices(c->inst, &n, NULL));
	if (n == 0)
		die("no Vulkan physical device");
	VkPhysicalDevice *pds = calloc(n, sizeof *pds);
	if (!pds)
		die("out of memory");
	VK(vkEnumeratePhysicalDevices(c->inst, &n, pds));
	if (index >= (int)n)
		die("--device %d: only %u physical devices", index, n);
	int best = -1, best_score = -1;
	for (uint32_t i = 0; i < n; i++) {
		if (index >= 0 && (int)i != index)
			continue;
		const char *why;
		int score = device_score(pds[i], &why);
		if (why && index >= 0)
			die("--device %d %s", index, why);
		if (!why && score > best_score)
			best = (int)i, best_score = score;
	}
	if (best < 0)
		die("no physical device with Vulkan 1.3, VK_KHR_push_descriptor and a compute queue");
	c->pd = pds[best];
	free(pds);
	c->qfam = (uint32_t)pick_queue_family(c->pd);

	const char *exts[2] = {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME};
	uint32_t next = 1;
	if (want_host_import && has_ext(c->pd, VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME)) {
		exts[next++] = VK_EXT_EXTERNAL_MEMORY_HOST_EXTENSION_NAME;
		c->host_import = true;
	}
	float prio = 1.0f;
	VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
		.queueFamilyIndex = c->qfam, .queueCount = 1, .pQueuePriorities = &prio};
	/* maintenance4: glslc's SPIR-V 1.6 (--target-env=vulkan1.3) declares LocalSizeId. */
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
		.synchronization2 = VK_TRUE, .maintenance4 = VK_TRUE};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
		.pNext = &f13, .timelineSemaphore = VK_TRUE};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f12,
		.queueCreateInfoCount = 1, .pQueueCreateInfos = &qci,
		.enabledExtensionCount = next, .ppEnabledExtensionNames = exts};
	VK(vkCreateDevice(c->pd, &dci, NULL, &c->dev));

	VkPhysicalDeviceExternalMemoryHostPropertiesEXT hostp = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_EXTERNAL_MEMORY_HOST_PROPERTIES_EXT};
	VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES,
		.pNext = c->host_import ? &hostp : NULL};
	VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &drv};
	vkGetPhysicalDeviceProperties2(c->pd, &p2);
	snprintf(c->device, sizeof c->device, "%s", p2.properties.deviceName);
	snprintf(c->driver, sizeof c->driver, "%s %s", drv.driverName, drv.driverInfo);
	c->host_align = hostp.minImportedHostPointerAlignment;
	vkGetPhysicalDeviceMemoryProperties(c->pd, &c->mem);

	vkGetDeviceQueue(c->dev, c->qfam, 0, &c->queue);
	VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT, .queueFamilyIndex = c->qfam};
	VK(vkCreateCommandPool(c->dev, &pci, NULL, &c->pool));
	VkSemaphoreTypeCreateInfo sti = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
		.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE, .initialValue = 0};
	VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &sti};
	VK(vkCreateSemaphore(c->dev, &sci, NULL, &c->timeline));
	c->push_set = (PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(c->dev, "vkCmdPushDescriptorSetKHR");
	if (!c->push_set)
		die("vkGetDeviceProcAddr(vkCmdPushDescriptorSetKHR) returned NULL");
	if (c->host_import)
		c->host_ptr_props = (PFN_vkGetMemoryHostPointerPropertiesEXT)
			vkGetDeviceProcAddr(c->dev, "vkGetMemoryHostPointerPropertiesEXT");
}

static void ctx_pipeline(struct ctx *c, const char *dir, enum kernel k)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, kinfo[k].file);
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s: %s (use --kernels DIR)", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	rewind(f);
	uint32_t *code = malloc(size > 0 ? (size_t)size : 1);
	if (size <= 0 || size % 4 || !code || fread(code, 1, (size_t)size, f) != (size_t)size)
		die("%s: not a SPIR-V module", path);
	fclose(f);

	VkShaderModuleCreateInfo smci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
		.codeSize = (size_t)size, .pCode = code};
	VkShaderModule mod;
	VK(vkCreateShaderModule(c->dev, &smci, NULL, &mod));
	free(code);

	VkDescriptorSetLayoutBinding b[3];
	for (uint32_t i = 0; i < kinfo[k].bindings; i++)
		b[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorCount = 1,
			.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
	VkDescriptorSetLayoutCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR,
		.bindingCount = kinfo[k].bindings, .pBindings = b};
	VK(vkCreateDescriptorSetLayout(c->dev, &dci, NULL, &c->dsl[k]));
	VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = kinfo[k].push};
	VkPipelineLayoutCreateInfo lci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
		.setLayoutCount = 1, .pSetLayouts = &c->dsl[k], .pushConstantRangeCount = 1, .pPushConstantRanges = &pcr};
	VK(vkCreatePipelineLayout(c->dev, &lci, NULL, &c->layout[k]));
	VkComputePipelineCreateInfo cpci = {.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			.stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = mod, .pName = "main"},
		.layout = c->layout[k]};
	VK(vkCreateComputePipelines(c->dev, VK_NULL_HANDLE, 1, &cpci, NULL, &c->pipe[k]));
	vkDestroyShaderModule(c->dev, mod, NULL);
}

static void ctx_destroy(struct ctx *c)
{
	VK(vkDeviceWaitIdle(c->dev));
	for (int k = 0; k < K_COUNT; k++) {
		vkDestroyPipeline(c->dev, c->pipe[k], NULL);
		vkDestroyPipelineLayout(c->dev, c->layout[k], NULL);
		vkDestroyDescriptorSetLayout(c->dev, c->dsl[k], NULL);
	}
	vkDestroySemaphore(c->dev, c->timeline, NULL);
	vkDestroyCommandPool(c->dev, c->pool, NULL);
	vkDestroyDevice(c->dev, NULL);
	vkDestroyInstance(c->inst, NULL);
}

/* ---- buffers, commands, submission -------------------------------------- */

struct buf { VkBuffer buf; VkDeviceMemory mem; VkDeviceSize size; void *map; };

#define HOST_MEM (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)
#define USAGE_ALL (VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | \
	VK_BUFFER_USAGE_TRANSFER_DST_BIT)

/* A memory type with every `need` flag; among those prefer `want`, then no `avoid`. */
static uint32_t pick_memory(const struct ctx *c, uint32_t bits, VkMemoryPropertyFlags need,
			    VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid)
{
	uint32_t best = UINT32_MAX;
	int best_score = -1;
	for (uint32_t i = 0; i < c->mem.memoryTypeCount; i++) {
		VkMemoryPropertyFlags f = c->mem.memoryTypes[i].propertyFlags;
		if (!(bits & (1u << i)) || (f & need) != need)
			continue;
		int score = ((f & want) == want) * 2 + !(f & avoid);
		if (score > best_score)
			best = i, best_score = score;
	}
	if (best == UINT32_MAX)
		die("no memory type with property flags 0x%x in bits 0x%x", need, bits);
	return best;
}

static struct buf buf_create(struct ctx *c, VkDeviceSize size, VkBufferUsageFlags usage,
			     VkMemoryPropertyFlags need, VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid)
{
	struct buf b = {.size = size};
	VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
		.usage = usage, .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
	VK(vkCreateBuffer(c->dev, &bci, NULL, &b.buf));
	VkMemoryRequirements req;
	vkGetBufferMemoryRequirements(c->dev, b.buf, &req);
	VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size,
		.memoryTypeIndex = pick_memory(c, req.memoryTypeBits, need, want, avoid)};
	VK(vkAllocateMemory(c->dev, &mai, NULL, &b.mem));
	VK(vkBindBufferMemory(c->dev, b.buf, b.mem, 0));
	if (need & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)
		VK(vkMapMemory(c->dev, b.mem, 0, VK_WHOLE_SIZE, 0, &b.map));
	return b;
}

static void buf_destroy(struct ctx *c, struct buf *b)
{
	vkDestroyBuffer(c->dev, b->buf, NULL);
	vkFreeMemory(c->dev, b->mem, NULL); /* unmaps implicitly */
	*b = (struct buf){0};
}

/* Begin recording into cb, allocating it first when it is VK_NULL_HANDLE. */
static VkCommandBuffer cmd_begin(struct ctx *c, VkCommandBuffer cb)
{
	if (cb == VK_NULL_HANDLE) {
		VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
			.commandPool = c->pool, .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
		VK(vkAllocateCommandBuffers(c->dev, &ai, &cb));
	}
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	VK(vkBeginCommandBuffer(cb, &bi));
	return cb;
}

/* An empty, ended command buffer to reset and re-record later. */
static VkCommandBuffer cmd_alloc(struct ctx *c)
{
	VkCommandBuffer cb = cmd_begin(c, VK_NULL_HANDLE);
	VK(vkEndCommandBuffer(cb));
	return cb;
}

static void barrier(VkCommandBuffer cb, VkPipelineStageFlags2 ss, VkAccessFlags2 sa,
		    VkPipelineStageFlags2 ds, VkAccessFlags2 da)
{
	VkMemoryBarrier2 mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = ss, .srcAccessMask = sa, .dstStageMask = ds, .dstAccessMask = da};
	VkDependencyInfo di = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO, .memoryBarrierCount = 1,
		.pMemoryBarriers = &mb};
	vkCmdPipelineBarrier2(cb, &di);
}

#define CS VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT
#define CS_W VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT
#define CS_RW (VK_ACCESS_2_SHADER_STORAGE_READ_BIT | VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT)
#define COPY VK_PIPELINE_STAGE_2_COPY_BIT
#define HOST VK_PIPELINE_STAGE_2_HOST_BIT

/* One add_f32 dispatch over n elements into out at out_offset: push
 * descriptors, push constant, dispatch. */
static void record_add_at(struct ctx *c, VkCommandBuffer cb, VkBuffer a, VkBuffer b, VkBuffer out,
			  VkDeviceSize out_offset, uint32_t n)
{
	VkDescriptorBufferInfo bi[3] = {{a, 0, VK_WHOLE_SIZE}, {b, 0, VK_WHOLE_SIZE},
					{out, out_offset, (VkDeviceSize)n * sizeof(float)}};
	VkWriteDescriptorSet w[3];
	for (uint32_t i = 0; i < 3; i++)
		w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET, .dstBinding = i,
			.descriptorCount = 1, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .pBufferInfo = &bi[i]};
	c->push_set(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout[K_ADD], 0, 3, w);
	vkCmdPushConstants(cb, c->layout[K_ADD], VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof n, &n);
	vkCmdDispatch(cb, (n + 255) / 256, 1, 1);
}

static void record_add(struct ctx *c, VkCommandBuffer cb, VkBuffer a, VkBuffer b, VkBuffer out, uint32_t n)
{
	record_add_at(c, cb, a, b, out, 0, n);
}

static uint64_t submit(struct ctx *c, VkCommandBuffer cb)
{
	uint64_t v = ++c->tl_value;
	VkCommandBufferSubmitInfo cbi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO, .commandBuffer = cb};
	VkSemaphoreSubmitInfo sig = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = c->timeline,
		.value = v, .stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT};
	VkSubmitInfo2 si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .commandBufferInfoCount = 1,
		.pCommandBufferInfos = &cbi, .signalSemaphoreInfoCount = 1, .pSignalSemaphoreInfos = &sig};
	VK(vkQueueSubmit2(c->queue, 1, &si, VK_NULL_HANDLE));
	return v;
}

/* Block in vkWaitSemaphores, or spin on vkGetSemaphoreCounterValue. */
static void wait_value(struct ctx *c, uint64_t v, bool poll)
{
	if (poll) {
		uint64_t cur = 0, deadline = now_ns() + WAIT_TIMEOUT_NS;
		for (unsigned spin = 0;; spin++) {
			VK(vkGetSemaphoreCounterValue(c->dev, c->timeline, &cur));
			if (cur >= v)
				return;
			if (spin % 4096 == 4095 && now_ns() > deadline)
				die("timeline value %" PRIu64 " not reached in 30 s (polling)", v);
		}
	}
	VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1,
		.pSemaphores = &c->timeline, .pValues = &v};
	VK(vkWaitSemaphores(c->dev, &wi, WAIT_TIMEOUT_NS));
}

/* The tiny job that rtt, stream and multiproc repeat: out = a + b, n elements. */
struct addjob { struct buf a, b, out; uint32_t n; };

static void addjob_init(struct ctx *c, struct addjob *j, uint32_t n)
{
	j->n = n;
	VkDeviceSize size = (VkDeviceSize)n * sizeof(float);
	j->a = buf_create(c, size, USAGE_ALL, HOST_MEM, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
	j->b = buf_create(c, size, USAGE_ALL, HOST_MEM, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
	j->out = buf_create(c, size, USAGE_ALL, HOST_MEM, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
	float *a = j->a.map, *b = j->b.map;
	for (uint32_t i = 0; i < n; i++)
		a[i] = (float)i, b[i] = 2.0f * (float)i + 0.5f;
	memset(j->out.map, 0, size);
}

/* Pre-record the single-dispatch command buffer (result made visible to the host). */
static VkCommandBuffer addjob_record(struct ctx *c, struct addjob *j)
{
	VkCommandBuffer cb = cmd_begin(c, VK_NULL_HANDLE);
	vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->pipe[K_ADD]);
	record_add(c, cb, j->a.buf, j->b.buf, j->out.buf, j->n);
	barrier(cb, CS, CS_W, HOST, VK_ACCESS_2_HOST_READ_BIT);
	VK(vkEndCommandBuffer(cb));
	return cb;
}

static void addjob_check(const struct addjob *j, const char *bench)
{
	const float *a = j->a.map, *b = j->b.map, *o = j->out.map;
	for (uint32_t i = 0; i < j->n; i++)
		if (o[i] != a[i] + b[i])
			die("%s: wrong result: out[%u] = %g, expected %g", bench, i, o[i], a[i] + b[i]);
}

static void addjob_destroy(struct ctx *c, struct addjob *j)
{
	buf_destroy(c, &j->a);
	buf_destroy(c, &j->b);
	buf_destroy(c, &j->out);
}

/* ---- subcommands -------------------------------------------------------- */

struct opts {
	const char *kernels;
	int device;
	uint64_t iters, warmup, dispatches, outputs, nodes, mib, repeats, procs;
	double seconds;
	bool poll;
	uint64_t t0; /* clock at main entry, for coldstart */
};

static void open_ctx(struct ctx *c, const struct opts *o, bool host_import)
{
	ctx_instance(c);
	ctx_device(c, o->device, host_import);
	ctx_pipeline(c, o->kernels, K_ADD);
}

static int bench_rtt(const struct opts *o)
{
	struct ctx c = {0};
	struct addjob j;
	open_ctx(&c, o, false);
	addjob_init(&c, &j, SMALL_N);
	VkCommandBuffer cb = addjob_record(&c, &j);
	uint64_t *lat = malloc(o->iters * sizeof *lat);
	if (!lat)
		die("out of memory");
	for (uint64_t i = 0; i < o->warmup; i++)
		wait_value(&c, submit(&c, cb), o->poll);
	memset(j.out.map, 0, j.out.size);
	uint64_t start = now_ns();
	for (uint64_t i = 0; i < o->iters; i++) {
		uint64_t t = now_ns();
		wait_value(&c, submit(&c, cb), o->poll);
		lat[i] = now_ns() - t;
	}
	uint64_t total = now_ns() - start;
	addjob_check(&j, "rtt");

	json_head("rtt", c.device, c.driver);
	printf(",\"wait\":\"%s\",\"iters\":%" PRIu64 ",\"warmup\":%" PRIu64 ",\"elements\":%u",
	       o->poll ? "poll" : "block", o->iters, o->warmup, SMALL_N);
	json_stats("latency_ns", summarize(lat, o->iters), true);
	printf(",\"total_ns\":%" PRIu64 ",\"throughput_per_s\":%.1f,\"valid\":true", total,
	       (double)o->iters * 1e9 / (double)total);
	json_array("samples_ns", lat, o->iters);
	printf("}\n");
	free(lat);
	addjob_destroy(&c, &j);
	ctx_destroy(&c);
	return 0;
}

/*
 * stream: `dispatches` adds in one command buffer, one submit and wait.
 * Dispatch d writes slice d mod `outputs` of the output, and the command
 * buffer has the barriers a correct program needs and gpucmdd's hazard
 * tracking records: one before every dispatch that writes a slice the
 * dispatches since the last barrier wrote (write-after-write), i.e. before
 * dispatches outputs, 2 outputs, ... With one output that is a barrier
 * between every two dispatches, as in gpucmdd.
 */
static int bench_stream(const struct opts *o)
{
	struct ctx c = {0};
	struct addjob j;
	open_ctx(&c, o, false);
	addjob_init(&c, &j, SMALL_N);
	const VkDeviceSize slice = (VkDeviceSize)SMALL_N * sizeof(float);
	struct buf outs = buf_create(&c, slice * o->outputs, USAGE_ALL, HOST_MEM, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0);
	uint64_t *total = malloc(o->repeats * sizeof *total), *rec = malloc(o->repeats * sizeof *rec);
	uint64_t *per = malloc(o->repeats * sizeof *per), *rper = malloc(o->repeats * sizeof *rper);
	if (!total || !rec || !per || !rper)
		die("out of memory");
	VkCommandBuffer cb = cmd_alloc(&c);
	for (uint64_t r = 0; r < o->repeats; r++) {
		VK(vkResetCommandBuffer(cb, 0));
		memset(outs.map, 0, outs.size);
		uint64_t t = now_ns();
		cmd_begin(&c, cb);
		vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c.pipe[K_ADD]);
		for (uint64_t d = 0; d < o->dispatches; d++) {
			if (d && d % o->outputs == 0)
				barrier(cb, CS, CS_W, CS, CS_RW);
			record_add_at(&c, cb, j.a.buf, j.b.buf, outs.buf, d % o->outputs * slice, j.n);
		}
		barrier(cb, CS, CS_W, HOST, VK_ACCESS_2_HOST_READ_BIT);
		VK(vkEndCommandBuffer(cb));
		rec[r] = now_ns() - t;
		wait_value(&c, submit(&c, cb), false);
		total[r] = now_ns() - t;
		for (uint64_t k = 0; k < o->outputs && k < o->dispatches; k++) {
			memcpy(j.out.map, (const char *)outs.map + k * slice, slice);
			addjob_check(&j, "stream");
		}
		per[r] = total[r] / o->dispatches;
		rper[r] = rec[r] / o->dispatches;
	}
	json_head("stream", c.device, c.driver);
	printf(",\"dispatches\":%" PRIu64 ",\"repeats\":%" PRIu64 ",\"outputs\":%" PRIu64 ",\"barriers\":%" PRIu64
	       ",\"elements\":%u",
	       o->dispatches, o->repeats, o->outputs, (o->dispatches - 1) / o->outputs, SMALL_N);
	json_stats("ns_per_dispatch", summarize(per, o->repeats), false);
	json_stats("record_ns_per_dispatch", summarize(rper, o->repeats), false);
	json_array("total_ns", total, o->repeats);
	json_array("record_ns", rec, o->repeats);
	printf(",\"valid\":true}\n");
	free(total), free(rec), free(per), free(rper);
	buf_destroy(&c, &outs);
	addjob_destroy(&c, &j);
	ctx_destroy(&c);
	return 0;
}

static int bench_coldstart(const struct opts *o)
{
	struct ctx c = {0};
	struct addjob j;
	const uint32_t n = 1024;
	ctx_instance(&c);
	uint64_t t_inst = now_ns();
	ctx_device(&c, o->device, false);
	uint64_t t_dev = now_ns();
	ctx_pipeline(&c, o->kernels, K_ADD);
	uint64_t t_pipe = now_ns();
	addjob_init(&c, &j, n);
	wait_value(&c, submit(&c, addjob_record(&c, &j)), false);
	addjob_check(&j, "coldstart");
	uint64_t t_end = now_ns();

	json_head("coldstart", c.device, c.driver);
	printf(",\"elements\":%u,\"total_ns\":%" PRIu64 ",\"phases_ns\":{\"instance\":%" PRIu64
	       ",\"device\":%" PRIu64 ",\"pipeline\":%" PRIu64 ",\"dispatch\":%" PRIu64 "},\"valid\":true}\n",
	       n, t_end - o->t0, t_inst - o->t0, t_dev - t_inst, t_pipe - t_dev, t_end - t_pipe);
	addjob_destroy(&c, &j);
	ctx_destroy(&c);
	return 0;
}

/* What a multiproc child reports; smaller than PIPE_BUF, so one write is atomic. */
struct proc_result {
	uint64_t count, elapsed_ns, median_ns, p99_ns;
	char device[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
	char driver[VK_MAX_DRIVER_NAME_SIZE + VK_MAX_DRIVER_INFO_SIZE + 2];
};

static int multiproc_child(const struct opts *o, int ready_w, int start_r, int result_w)
{
	struct ctx c = {0};
	struct addjob j;
	open_ctx(&c, o, false);
	addjob_init(&c, &j, SMALL_N);
	VkCommandBuffer cb = addjob_record(&c, &j);
	wait_value(&c, submit(&c, cb), false); /* warm-up */
	size_t cap = 1 << 16, n = 0;
	uint64_t *lat = malloc(cap * sizeof *lat);
	if (!lat)
		die("out of memory");
	char byte = 1;
	if (write(ready_w, &byte, 1) != 1)
		die("multiproc: ready pipe: %s", strerror(errno));
	close(ready_w);
	while (read(start_r, &byte, 1) > 0) /* EOF = start */
		;
	uint64_t start = now_ns(), end = start + (uint64_t)(o->seconds * 1e9), t;
	memset(j.out.map, 0, j.out.size);
	do {
		t = now_ns();
		wait_value(&c, submit(&c, cb), false);
		if (n == cap && !(lat = realloc(lat, (cap *= 2) * sizeof *lat)))
			die("out of memory");
		lat[n++] = now_ns() - t;
	} while (t + lat[n - 1] < end);
	struct proc_result r = {.count = n, .elapsed_ns = now_ns() - start};
	addjob_check(&j, "multiproc");
	struct stats s = summarize(lat, n);
	r.median_ns = s.median, r.p99_ns = s.p99;
	snprintf(r.device, sizeof r.device, "%s", c.device);
	snprintf(r.driver, sizeof r.driver, "%s", c.driver);
	if (write(result_w, &r, sizeof r) != (ssize_t)sizeof r)
		die("multiproc: result pipe: %s", strerror(errno));
	free(lat);
	addjob_destroy(&c, &j);
	ctx_destroy(&c);
	return 0;
}

static int bench_multiproc(const struct opts *o)
{
	int ready[2], start[2], result[2];
	if (pipe(ready) || pipe(start) || pipe(result))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t *pids = calloc(o->procs, sizeof *pids);
	struct proc_result *res = calloc(o->procs, sizeof *res);
	uint64_t *medians = calloc(o->procs, sizeof *medians);
	if (!pids || !res || !medians)
		die("out of memory");
	for (uint64_t p = 0; p < o->procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] == 0) {
			close(ready[0]), close(start[1]), close(result[0]);
			exit(multiproc_child(o, ready[1], start[0], result[1]));
		}
	}
	close(ready[1]), close(start[0]), close(result[1]);
	uint64_t n_ready = 0;
	char byte;
	while (n_ready < o->procs && read(ready[0], &byte, 1) == 1)
		n_ready++;
	close(start[1]); /* the start barrier: every child's read() returns EOF */
	uint64_t n_res = 0;
	while (n_res < o->procs && read(result[0], &res[n_res], sizeof *res) == (ssize_t)sizeof *res)
		n_res++;
	bool failed = false;
	for (uint64_t p = 0; p < o->procs; p++) {
		int st;
		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = true;
	}
	if (failed || n_ready < o->procs || n_res < o->procs)
		die("multiproc: %" PRIu64 " of %" PRIu64 " children ready, %" PRIu64 " reported%s",
		    n_ready, o->procs, n_res, failed ? ", some failed (see above)" : "");

	double rate = 0;
	for (uint64_t p = 0; p < o->procs; p++) {
		rate += (double)res[p].count * 1e9 / (double)res[p].elapsed_ns;
		medians[p] = res[p].median_ns;
	}
	json_head("multiproc", res[0].device, res[0].driver);
	printf(",\"procs\":%" PRIu64 ",\"seconds\":%g,\"submissions_per_s\":%.1f,\"latency_median_ns\":%" PRIu64,
	       o->procs, o->seconds, rate, summarize(medians, o->procs).median);
	printf(",\"per_proc\":[");
	for (uint64_t p = 0; p < o->procs; p++)
		printf("%s{\"count\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64 ",\"median_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 "}",
		       p ? "," : "", res[p].count, res[p].elapsed_ns, res[p].median_ns, res[p].p99_ns);
	printf("],\"valid\":true}\n");
	free(pids), free(res), free(medians);
	return 0;
}

/* Copy src -> dst on the GPU and wait; the barriers make the copy visible to later copies and the host. */
static void gpu_copy(struct ctx *c, VkCommandBuffer cb, VkBuffer src, VkBuffer dst, VkDeviceSize size)
{
	VK(vkResetCommandBuffer(cb, 0));
	cmd_begin(c, cb);
	barrier(cb, COPY, VK_ACCESS_2_TRANSFER_WRITE_BIT, COPY,
		VK_ACCESS_2_TRANSFER_READ_BIT | VK_ACCESS_2_TRANSFER_WRITE_BIT);
	vkCmdCopyBuffer(cb, src, dst, 1, &(VkBufferCopy){.size = size});
	barrier(cb, COPY, VK_ACCESS_2_TRANSFER_WRITE_BIT, HOST, VK_ACCESS_2_HOST_READ_BIT);
	VK(vkEndCommandBuffer(cb));
	wait_value(c, submit(c, cb), false);
}

static int bench_transfer(const struct opts *o)
{
	struct ctx c = {0};
	ctx_instance(&c);
	ctx_device(&c, o->device, true);
	const VkDeviceSize size = o->mib << 20;
	const VkBufferUsageFlags xfer = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
	const uint64_t runs = o->repeats + 1; /* the first run is an untimed warm-up */
	uint64_t *up = calloc(runs, sizeof *up), *down = calloc(runs, sizeof *down);
	uint32_t *src = malloc(size), *dst = malloc(size);
	if (!up || !down || !src || !dst)
		die("out of memory for 2 x %" PRIu64 " MiB", o->mib);
	uint32_t x = 2463534242u; /* xorshift32 pattern */
	for (size_t i = 0; i < size / 4; i++)
		x ^= x << 13, x ^= x >> 17, x ^= x << 5, src[i] = x;

	struct buf dev = buf_create(&c, size, xfer, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0,
				    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
	struct buf stage_up = buf_create(&c, size, xfer, HOST_MEM, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	struct buf stage_down = buf_create(&c, size, xfer, HOST_MEM, VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
					   VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
	VkCommandBuffer cb = cmd_alloc(&c);

	/* (a) staging: memcpy into a host-visible buffer, copy to device-local, and back. */
	for (uint64_t r = 0; r < runs; r++) {
		memset(dst, 0, size);
		uint64_t t = now_ns();
		memcpy(stage_up.map, src, size);
		gpu_copy(&c, cb, stage_up.buf, dev.buf, size);
		up[r] = now_ns() - t;
		t = now_ns();
		gpu_copy(&c, cb, dev.buf, stage_down.buf, size);
		memcpy(dst, stage_down.map, size);
		down[r] = now_ns() - t;
		if (memcmp(src, dst, size))
			die("transfer: staging round trip changed the bytes (run %" PRIu64 ")", r);
	}
	json_head("transfer", c.device, c.driver);
	printf(",\"mib\":%" PRIu64 ",\"repeats\":%" PRIu64, o->mib, o->repeats);
	print_rates("staging", up + 1, down + 1, o->repeats, size);
	buf_destroy(&c, &stage_up);
	buf_destroy(&c, &stage_down);

	/* (b) imported: a memfd mapping imported with VK_EXT_external_memory_host, no memcpy. */
	if (!c.host_import || !c.host_ptr_props) {
		printf(",\"imported\":null");
	} else {
		VkDeviceSize align = c.host_align > 4096 ? c.host_align : 4096;
		VkDeviceSize isize = (size + align - 1) / align * align;
		int fd = memfd_create("gpucmd-bench", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)isize))
			die("memfd_create/ftruncate %" PRIu64 " bytes: %s", isize, strerror(errno));
		/* Reserve size + align, then map the memfd at an aligned address inside it. */
		uint8_t *resv = mmap(NULL, isize + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (resv == MAP_FAILED)
			die("mmap reserve: %s", strerror(errno));
		void *host = (void *)(((uintptr_t)resv + align - 1) / align * align);
		if (mmap(host, isize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
			die("mmap memfd: %s", strerror(errno));

		VkMemoryHostPointerPropertiesEXT hpp = {.sType = VK_STRUCTURE_TYPE_MEMORY_HOST_POINTER_PROPERTIES_EXT};
		VK(c.host_ptr_props(c.dev, VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, host, &hpp));
		VkExternalMemoryBufferCreateInfo ebci = {.sType = VK_STRUCTURE_TYPE_EXTERNAL_MEMORY_BUFFER_CREATE_INFO,
			.handleTypes = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT};
		VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .pNext = &ebci,
			.size = isize, .usage = xfer, .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
		struct buf imp = {.size = isize};
		VK(vkCreateBuffer(c.dev, &bci, NULL, &imp.buf));
		VkMemoryRequirements req;
		vkGetBufferMemoryRequirements(c.dev, imp.buf, &req);
		if (req.size > isize)
			die("imported buffer needs %" PRIu64 " bytes, mapping has %" PRIu64, req.size, isize);
		VkImportMemoryHostPointerInfoEXT imi = {.sType = VK_STRUCTURE_TYPE_IMPORT_MEMORY_HOST_POINTER_INFO_EXT,
			.handleType = VK_EXTERNAL_MEMORY_HANDLE_TYPE_HOST_ALLOCATION_BIT_EXT, .pHostPointer = host};
		VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .pNext = &imi,
			.allocationSize = isize,
			.memoryTypeIndex = pick_memory(&c, req.memoryTypeBits & hpp.memoryTypeBits, 0, 0, 0)};
		VK(vkAllocateMemory(c.dev, &mai, NULL, &imp.mem));
		VK(vkBindBufferMemory(c.dev, imp.buf, imp.mem, 0));

		for (uint64_t r = 0; r < runs; r++) {
			memcpy(host, src, size); /* the client's data, already in shared memory */
			uint64_t t = now_ns();
			gpu_copy(&c, cb, imp.buf, dev.buf, size);
			up[r] = now_ns() - t;
			memset(host, 0, size);
			t = now_ns();
			gpu_copy(&c, cb, dev.buf, imp.buf, size);
			down[r] = now_ns() - t;
			if (memcmp(src, host, size))
				die("transfer: imported round trip changed the bytes (run %" PRIu64 ")", r);
		}
		print_rates("imported", up + 1, down + 1, o->repeats, size);
		buf_destroy(&c, &imp);
		munmap(resv, isize + align);
		close(fd);
		printf(",\"import_alignment\":%" PRIu64, (uint64_t)c.host_align);
	}
	printf("}\n");
	buf_destroy(&c, &dev);
	free(src), free(dst), free(up), free(down);
	ctx_destroy(&c);
	return 0;
}

/*
 * replay: one command buffer of `nodes` dependent add_f32 dispatches that
 * ping-pong between X and Y (dst = src + ones), a barrier between each,
 * resubmitted again and again. The host replays the same float adds to check.
 */
static int bench_replay(const struct opts *o)
{
	struct ctx c = {0};
	struct addjob j; /* a = X, b = ones, out = Y */
	open_ctx(&c, o, false);
	addjob_init(&c, &j, SMALL_N);
	for (uint32_t i = 0; i < j.n; i++)
		((float *)j.b.map)[i] = 1.0f;
	VkBuffer xy[2] = {j.a.buf, j.out.buf};

	uint64_t t = now_ns();
	VkCommandBuffer cb = cmd_begin(&c, VK_NULL_HANDLE);
	vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c.pipe[K_ADD]);
	for (uint64_t i = 0; i < o->nodes; i++) {
		if (i)
			barrier(cb, CS, CS_W, CS, CS_RW);
		record_add(&c, cb, xy[i % 2], j.b.buf, xy[(i + 1) % 2], j.n);
	}
	barrier(cb, CS, CS_W, CS | HOST, CS_RW | VK_ACCESS_2_HOST_READ_BIT); /* to the next replay and the host */
	VK(vkEndCommandBuffer(cb));
	uint64_t record = now_ns() - t;

	uint64_t *lat = malloc(o->iters * sizeof *lat);
	if (!lat)
		die("out of memory");
	for (uint64_t i = 0; i < o->warmup + o->iters; i++) {
		t = now_ns();
		wait_value(&c, submit(&c, cb), false);
		if (i >= o->warmup)
			lat[i - o->warmup] = now_ns() - t;
	}
	for (uint32_t e = 0; e < j.n; e++) {
		float v[2] = {(float)e, 0.0f}; /* X starts at e, Y at 0 */
		for (uint64_t r = 0; r < o->warmup + o->iters; r++)
			for (uint64_t i = 0; i < o->nodes; i++)
				v[(i + 1) % 2] = v[i % 2] + 1.0f;
		const float *got[2] = {j.a.map, j.out.map};
		for (int k = 0; k < 2; k++)
			if (got[k][e] != v[k])
				die("replay: wrong result: %c[%u] = %g, expected %g", "XY"[k], e, got[k][e], v[k]);
	}
	json_head("replay", c.device, c.driver);
	printf(",\"nodes\":%" PRIu64 ",\"iters\":%" PRIu64 ",\"warmup\":%" PRIu64 ",\"elements\":%u,\"record_ns\":%" PRIu64,
	       o->nodes, o->iters, o->warmup, SMALL_N, record);
	json_stats("latency_ns", summarize(lat, o->iters), true);
	printf(",\"valid\":true");
	json_array("samples_ns", lat, o->iters);
	printf("}\n");
	free(lat);
	addjob_destroy(&c, &j);
	ctx_destroy(&c);
	return 0;
}

/* ---- command line ------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(const struct opts *);
	const char *flags; /* options it accepts, besides --kernels and --device */
} benches[] = {
	{"rtt", bench_rtt, "--iters --warmup --poll"},
	{"stream", bench_stream, "--dispatches --repeats --outputs"},
	{"coldstart", bench_coldstart, ""},
	{"multiproc", bench_multiproc, "--procs --seconds"},
	{"transfer", bench_transfer, "--mib --repeats"},
	{"replay", bench_replay, "--nodes --iters --warmup"},
};

static _Noreturn void usage(void)
{
	fputs("usage: bench-inproc rtt [--iters N] [--warmup W] [--poll]\n"
	      "       bench-inproc stream [--dispatches N] [--repeats R] [--outputs K]\n"
	      "       bench-inproc coldstart\n"
	      "       bench-inproc multiproc --procs P [--seconds S]\n"
	      "       bench-inproc transfer [--mib M] [--repeats R]\n"
	      "       bench-inproc replay [--nodes K] [--iters N] [--warmup W]\n"
	      "options for all: --kernels DIR (default build/kernels), --device INDEX\n", stderr);
	exit(2);
}

static uint64_t parse_count(const char *flag, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &end, 10) : 0;
	if (!s || errno || *end || *s == '-' || v < min || v > max)
		die("%s wants a whole number in [%" PRIu64 ", %" PRIu64 "], got '%s'", flag, min, max, s ? s : "");
	return v;
}

int main(int argc, char **argv)
{
	struct opts o = {.t0 = now_ns(), .kernels = "build/kernels", .device = -1,
		.dispatches = 10000, .outputs = 1, .nodes = 100, .mib = 256, .repeats = 5, .seconds = 2.0};
	if (argc < 2)
		usage();
	size_t b = 0, nb = sizeof benches / sizeof benches[0];
	while (b < nb && strcmp(argv[1], benches[b].name))
		b++;
	if (b == nb)
		usage();
	bool is_rtt = b == 0;
	o.iters = is_rtt ? 10000 : 1000;
	o.warmup = is_rtt ? 100 : 10;

	for (int i = 2; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *hit = strstr(benches[b].flags, f);
		size_t len = strlen(f);
		bool mine = hit && (hit[len] == ' ' || hit[len] == 0) && len > 2 && !strchr(f, ' ');
		if (!strcmp(f, "--kernels")) {
			if (!v)
				die("--kernels wants a directory");
			o.kernels = v, i++;
		} else if (!strcmp(f, "--device"))
			o.device = (int)parse_count(f, v, 0, 64), i++;
		else if (!mine)
			die("%s: unknown option '%s' (try: %s --kernels --device)", argv[1], f, benches[b].flags);
		else if (!strcmp(f, "--poll"))
			o.poll = true;
		else if (!strcmp(f, "--seconds")) {
			char *end;
			o.seconds = v ? strtod(v, &end) : 0;
			if (!v || *end || !isfinite(o.seconds) || o.seconds <= 0 || o.seconds > 3600)
				die("--seconds wants a number in (0, 3600]");
			i++;
		} else {
			uint64_t n = parse_count(f, v, !strcmp(f, "--warmup") ? 0 : 1, 1u << 30);
			i++;
			if (!strcmp(f, "--iters")) o.iters = n;
			else if (!strcmp(f, "--warmup")) o.warmup = n;
			else if (!strcmp(f, "--dispatches")) o.dispatches = n;
			else if (!strcmp(f, "--repeats")) o.repeats = n;
			else if (!strcmp(f, "--outputs")) o.outputs = n;
			else if (!strcmp(f, "--nodes")) o.nodes = n;
			else if (!strcmp(f, "--mib")) o.mib = n;
			else if (!strcmp(f, "--procs")) o.procs = n;
		}
	}
	if (!strcmp(argv[1], "multiproc") && (o.procs == 0 || o.procs > 1024))
		die("multiproc needs --procs P (1..1024)");
	if (o.mib > (1u << 16))
		die("--mib is at most 65536");
	return benches[b].run(&o);
}
