/*
 * vkdev.h — the Vulkan set-up the Vulkan-only tools share (bench/memstall.c,
 * bench/submit_threads.c, bench/stage_rate.c): an instance, the first
 * device, the queue family gpucmdd takes (a compute-only one where there is
 * one, else the first with compute; BENCH_QUEUE_FAMILY=N takes family N)
 * with up to `want` queues, timeline
 * semaphores and synchronization2 on, the index of a device-local memory
 * type; a device-local buffer; and the command buffers and timeline of
 * gpucmdd's tiny stages. VK()
 * dies naming the call that failed (fail.h). bench_vk_close destroys the
 * device and the instance once the tool destroyed what it made on them.
 */
#ifndef GPUCMD_BENCH_VKDEV_H
#define GPUCMD_BENCH_VKDEV_H

#include <stdint.h>
#include <stdlib.h>

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
	/* The family matters: on the H200 a round trip on queue 1 of the
	 * graphics family waited 0.35-1.4 ms behind any work on queue 0 of
	 * it, and not on the compute-only family (docs/BENCHMARKS.md). */
	uint32_t any = nf, compute_only = nf;
	for (uint32_t i = 0; i < nf; i++) {
		if (!(qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
			continue;
		any = any == nf ? i : any;
		if (!(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT) && compute_only == nf)
			compute_only = i;
	}
	v->fam = compute_only != nf ? compute_only : any;
	const char *want_fam = getenv("BENCH_QUEUE_FAMILY");
	if (want_fam) {
		uint32_t f = (uint32_t)atoi(want_fam);
		v->fam = f < nf && (qf[f].queueFlags & VK_QUEUE_COMPUTE_BIT) ? f : nf;
	}
	if (v->fam == nf)
		die(want_fam ? "BENCH_QUEUE_FAMILY=%s is not a family with compute" : "no compute queue family", want_fam);
	v->queues = qf[v->fam].queueCount < want ? qf[v->fam].queueCount : want;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueFamilyIndex = v->fam,
				     .queueCount = v->queues, .pQueuePriorities = prios};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
						.timelineSemaphore = VK_TRUE};
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
						.pNext = &f12, .synchronization2 = VK_TRUE,
						/* glslc's vulkan1.3 modules say LocalSizeId */
						.maintenance4 = VK_TRUE};
	VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f13,
				  .queueCreateInfoCount = 1, .pQueueCreateInfos = &q};
	VK(vkCreateDevice(v->phys, &dci, NULL, &v->dev));
}

/* A buffer of `size` bytes in device-local memory, for transfers into it. */
struct bench_vk_buf {
	VkBuffer buf;
	VkDeviceMemory mem;
};

static inline void bench_vk_buf_create(struct bench_vk *v, struct bench_vk_buf *b, VkDeviceSize size)
{
	VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size,
				  .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT};
	VK(vkCreateBuffer(v->dev, &bci, NULL, &b->buf));
	VkMemoryRequirements mr;
	vkGetBufferMemoryRequirements(v->dev, b->buf, &mr);
	VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = mr.size,
				    .memoryTypeIndex = v->local_type};
	VK(vkAllocateMemory(v->dev, &mai, NULL, &b->mem));
	VK(vkBindBufferMemory(v->dev, b->buf, b->mem, 0));
}

static inline void bench_vk_buf_destroy(struct bench_vk *v, struct bench_vk_buf *b)
{
	vkDestroyBuffer(v->dev, b->buf, NULL);
	vkFreeMemory(v->dev, b->mem, NULL);
}

/* What gpucmdd submits for a tiny stage, n times over: command buffers
 * each dispatching one workgroup of `pipe` (a compute pipeline with no
 * resources), or with VK_NULL_HANDLE filling 256 bytes of buf at
 * `offset`, from a pool of their own, and a timeline for them to wait on
 * and signal. */
struct bench_vk_stages {
	VkCommandPool pool;
	VkCommandBuffer *cb;
	uint32_t n;
	VkSemaphore tl;
};

static inline void bench_vk_stages_create(struct bench_vk *v, struct bench_vk_stages *st, uint32_t n, VkPipeline pipe,
					  VkBuffer buf, VkDeviceSize offset)
{
	st->n = n;
	if (!(st->cb = calloc(n, sizeof(*st->cb))))
		die("out of memory");
	VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = v->fam};
	VK(vkCreateCommandPool(v->dev, &pci, NULL, &st->pool));
	VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = st->pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = n};
	VK(vkAllocateCommandBuffers(v->dev, &cai, st->cb));
	for (uint32_t k = 0; k < n; k++) {
		VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
		VK(vkBeginCommandBuffer(st->cb[k], &bi));
		if (pipe) {
			vkCmdBindPipeline(st->cb[k], VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
			vkCmdDispatch(st->cb[k], 1, 1, 1);
		} else {
			vkCmdFillBuffer(st->cb[k], buf, offset, 256, k);
		}
		VK(vkEndCommandBuffer(st->cb[k]));
	}
	VkSemaphoreTypeCreateInfo ti = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
					.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
	VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
	VK(vkCreateSemaphore(v->dev, &si, NULL, &st->tl));
}

static inline void bench_vk_stages_destroy(struct bench_vk *v, struct bench_vk_stages *st)
{
	vkDestroySemaphore(v->dev, st->tl, NULL);
	vkDestroyCommandPool(v->dev, st->pool, NULL);
	free(st->cb);
}

/* Entry `i` of a batch: stage value `value` of st waits for value - 1 and
 * signals value, with command buffer value % n (done by then: the caller
 * keeps at most n in flight). The infos are the caller's arrays. */
static inline void bench_vk_stage_info(const struct bench_vk_stages *st, uint64_t value, VkSubmitInfo2 *si,
				       VkCommandBufferSubmitInfo *cbi, VkSemaphoreSubmitInfo sem[2])
{
	sem[0] = (VkSemaphoreSubmitInfo){.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = st->tl,
					 .value = value - 1, .stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT};
	sem[1] = sem[0];
	sem[1].value = value;
	*cbi = (VkCommandBufferSubmitInfo){.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO,
					   .commandBuffer = st->cb[value % st->n]};
	*si = (VkSubmitInfo2){.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .waitSemaphoreInfoCount = 1,
			      .pWaitSemaphoreInfos = &sem[0], .commandBufferInfoCount = 1, .pCommandBufferInfos = cbi,
			      .signalSemaphoreInfoCount = 1, .pSignalSemaphoreInfos = &sem[1]};
}

static inline void bench_vk_close(struct bench_vk *v)
{
	vkDestroyDevice(v->dev, NULL);
	vkDestroyInstance(v->inst, NULL);
}

#endif
