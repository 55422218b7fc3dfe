/*
 * submit_threads.c — what one vkQueueSubmit2 costs the thread that makes it,
 * alone and while a second thread submits to a second queue of the same
 * family at the same time. The question behind it (docs/BENCHMARKS.md,
 * "2026-12-04: HIGH submissions on a thread"): does a driver let two threads submit
 * to two queues side by side, or do they take turns inside it? If they take
 * turns, handing one track's submissions to a thread of its own takes no
 * time off the thread that keeps the other.
 *
 * Each submission is what gpucmdd's is for a tiny stage: one command
 * buffer (a 256-byte fill), waiting on the queue's timeline at the previous
 * value and signalling the next; at most 32 are in flight per queue. Only
 * the vkQueueSubmit2 call is timed. Prints one JSON line (the shared run
 * only where the family has two queues).
 *
 *   bench-submit-threads [--n SUBMITS]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vulkan/vulkan.h>

#include "fail.h"
#include "stats.h"
#include "vkdev.h"

#define DEPTH 32

struct lane {
	VkDevice dev;
	VkQueue queue;
	VkSemaphore tl;
	VkCommandBuffer cb[DEPTH];  /* submission i uses cb[i % DEPTH], done by then */
	uint32_t n;
	uint64_t *ns;          /* each call's time */
	atomic_bool *go;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *submit_loop(void *arg)
{
	struct lane *l = arg;
	while (!atomic_load(l->go))
		;
	uint64_t base = 0;
	VK(vkGetSemaphoreCounterValue(l->dev, l->tl, &base));
	for (uint32_t i = 0; i < l->n; i++) {
		uint64_t v = base + i + 1;
		if (i >= DEPTH) {
			uint64_t w = v - DEPTH;
			VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1,
						  .pSemaphores = &l->tl, .pValues = &w};
			VK(vkWaitSemaphores(l->dev, &wi, UINT64_MAX));
		}
		VkSemaphoreSubmitInfo wait = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = l->tl,
					      .value = v - 1, .stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT};
		VkSemaphoreSubmitInfo sig = wait;
		sig.value = v;
		VkCommandBufferSubmitInfo cbi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO,
						 .commandBuffer = l->cb[i % DEPTH]};
		VkSubmitInfo2 si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .waitSemaphoreInfoCount = 1,
				    .pWaitSemaphoreInfos = &wait, .commandBufferInfoCount = 1,
				    .pCommandBufferInfos = &cbi, .signalSemaphoreInfoCount = 1,
				    .pSignalSemaphoreInfos = &sig};
		uint64_t t0 = now_ns();
		VK(vkQueueSubmit2(l->queue, 1, &si, VK_NULL_HANDLE));
		l->ns[i] = now_ns() - t0;
	}
	return NULL;
}

/* Runs the first `lanes` lanes at once; returns lane 0's calls. */
static struct stats run(struct lane *ls, uint32_t lanes)
{
	pthread_t th[2];
	atomic_store(ls[0].go, false);
	for (uint32_t i = 0; i < lanes; i++)
		if (pthread_create(&th[i], NULL, submit_loop, &ls[i]) != 0)
			die("pthread_create failed");
	atomic_store(ls[0].go, true);
	for (uint32_t i = 0; i < lanes; i++)
		pthread_join(th[i], NULL);
	VK(vkDeviceWaitIdle(ls[0].dev));
	return summarize(ls[0].ns, ls[0].n);
}

int main(int argc, char **argv)
{
	uint32_t n = 20000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--n") && i + 1 < argc)
			n = (uint32_t)atoi(argv[++i]);
		else
			die("usage: bench-submit-threads [--n SUBMITS]");
	}
	struct bench_vk v;
	bench_vk_open(&v, 2, (const float[]){0.5f, 1.0f});
	VkDevice dev = v.dev;
	uint32_t queues = v.queues, fam = v.fam;
	VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096,
				  .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT};
	VkBuffer buf;
	VK(vkCreateBuffer(dev, &bci, NULL, &buf));
	VkMemoryRequirements mr;
	vkGetBufferMemoryRequirements(dev, buf, &mr);
	VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = mr.size,
				    .memoryTypeIndex = v.local_type};
	VkDeviceMemory mem;
	VK(vkAllocateMemory(dev, &mai, NULL, &mem));
	VK(vkBindBufferMemory(dev, buf, mem, 0));

	atomic_bool go = false;
	struct lane ls[2];
	VkCommandPool pools[2];
	for (uint32_t i = 0; i < queues; i++) {
		struct lane *l = &ls[i];
		*l = (struct lane){.dev = dev, .n = n, .go = &go};
		vkGetDeviceQueue(dev, fam, i, &l->queue);
		VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
					       .queueFamilyIndex = fam};
		VK(vkCreateCommandPool(dev, &pci, NULL, &pools[i]));
		VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
						   .commandPool = pools[i], .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
						   .commandBufferCount = DEPTH};
		VK(vkAllocateCommandBuffers(dev, &cai, l->cb));
		for (uint32_t k = 0; k < DEPTH; k++) {
			VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
			VK(vkBeginCommandBuffer(l->cb[k], &bi));
			vkCmdFillBuffer(l->cb[k], buf, 256 * i, 256, k);
			VK(vkEndCommandBuffer(l->cb[k]));
		}
		VkSemaphoreTypeCreateInfo ti = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
						.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
		VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
		VK(vkCreateSemaphore(dev, &si, NULL, &l->tl));
		if (!(l->ns = malloc(n * sizeof(*l->ns))))
			die("out of memory");
	}
	/* Warm up, then alone, together, alone again: the two alone runs
	 * bracket the shared one. */
	(void)run(ls, 1);
	struct stats a0 = run(ls, 1);
	struct stats both = queues == 2 ? run(ls, 2) : (struct stats){0};
	struct stats a1 = run(ls, 1);
	printf("{\"bench\":\"submit_threads\",\"device\":\"%s\",\"driver\":\"%s\",\"queues\":%u,\"n\":%u", v.props.properties.deviceName,
	       v.drv.driverInfo, queues, n);
	json_stats("alone_ns", a0, true);
	json_stats("alone_again_ns", a1, true);
	if (queues == 2) {
		json_stats("beside_second_thread_ns", both, true);
		printf(",\"median_ratio\":%.3f", (double)both.median / ((double)(a0.median + a1.median) / 2));
	}
	printf("}\n");
	for (uint32_t i = 0; i < queues; i++) {
		vkDestroySemaphore(dev, ls[i].tl, NULL);
		vkDestroyCommandPool(dev, pools[i], NULL);
		free(ls[i].ns);
	}
	vkDestroyBuffer(dev, buf, NULL);
	vkFreeMemory(dev, mem, NULL);
	bench_vk_close(&v);
	return 0;
}
