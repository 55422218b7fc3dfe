/*
 * memstall.c — does allocating or freeing device memory on one thread stall
 * queue submission and completion on another? (issue 21: a HIGH client saw
 * no round trip for a second while bulk clients allocated GiBs, and the
 * daemon does both on its loop thread.)
 *
 * The main thread does tiny round trips (an empty command buffer that
 * signals a timeline semaphore, polled) on queue 0 for the whole run and
 * records each one's latency and end time. A second thread, or the main
 * thread itself between round trips (--inline, as gpucmdd does today),
 * allocates --count allocations of --mib MiB of device-local memory, then
 * frees them, --rounds times with pauses between. Prints one JSON line: the
 * duration of every allocation and free, and the round trips' median and
 * longest during the allocations, the frees and the pauses. (On the H200
 * a 1 GiB allocation or free takes 24 ms and holds up the other thread's
 * submissions meanwhile: the driver serialises them, BENCHMARKS.md.)
 *
 *   bench-memstall [--inline] [--mib M] [--count N] [--rounds R]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vulkan/vulkan.h>

#include "fail.h"
#include "stats.h"
#include "vkdev.h"

enum phase { P_IDLE, P_ALLOC, P_FREE, P_COUNT };
static const char *const phase_name[P_COUNT] = {"idle", "alloc", "free"};

struct ctx {
	VkDevice dev;
	uint32_t type;
	uint64_t bytes;
	uint32_t count, rounds;
	bool inline_ops;
	_Atomic int phase;
	_Atomic bool done;
	uint64_t *alloc_ns, *free_ns; /* per allocation, all rounds */
	uint32_t n_ops;
	/* the inline schedule */
	uint32_t round, step;
	VkDeviceMemory *mem;
	uint64_t next_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void one_alloc(struct ctx *c, uint32_t i)
{
	VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = c->bytes,
				   .memoryTypeIndex = c->type};
	uint64_t t = now_ns();
	VK(vkAllocateMemory(c->dev, &ai, NULL, &c->mem[i]));
	c->alloc_ns[c->n_ops + i] = now_ns() - t;
}

static void one_free(struct ctx *c, uint32_t i)
{
	uint64_t t = now_ns();
	vkFreeMemory(c->dev, c->mem[i], NULL);
	c->free_ns[c->n_ops + i] = now_ns() - t;
}

/* The second thread: pause, allocate all, pause, free all; rounds times. */
static void *churn(void *arg)
{
	struct ctx *c = arg;
	for (uint32_t r = 0; r < c->rounds; r++) {
		usleep(300000);
		c->phase = P_ALLOC;
		for (uint32_t i = 0; i < c->count; i++)
			one_alloc(c, i);
		c->phase = P_IDLE;
		usleep(300000);
		c->phase = P_FREE;
		for (uint32_t i = 0; i < c->count; i++)
			one_free(c, i);
		c->phase = P_IDLE;
		c->n_ops += c->count;
	}
	usleep(300000);
	c->done = true;
	return NULL;
}

/* The same schedule, one operation between two round trips. */
static void churn_inline(struct ctx *c)
{
	uint64_t now = now_ns();
	if (now < c->next_ns)
		return;
	if (c->round == c->rounds) {
		c->phase = P_IDLE;
		c->done = now >= c->next_ns;
		return;
	}
	uint32_t i = c->step % c->count;
	bool alloc = c->step < c->count;
	c->phase = alloc ? P_ALLOC : P_FREE;
	if (alloc)
		one_alloc(c, i);
	else
		one_free(c, i);
	if (++c->step == c->count || c->step == 2 * c->count) {
		c->phase = P_IDLE;
		c->next_ns = now_ns() + 300000000u;
		if (c->step == 2 * c->count) {
			c->step = 0;
			c->round++;
			c->n_ops += c->count;
		}
	}
}

int main(int argc, char **argv)
{
	struct ctx c = {.bytes = 1024ull << 20, .count = 8, .rounds = 2};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--inline"))
			c.inline_ops = true;
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			c.bytes = strtoull(argv[++i], NULL, 10) << 20;
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			c.count = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			c.rounds = (uint32_t)atoi(argv[++i]);
		else
			die("usage: bench-memstall [--inline] [--mib M] [--count N] [--rounds R]");
	}
	struct bench_vk vk;
	bench_vk_open(&vk, 1, (const float[]){1.0f});
	c.dev = vk.dev;
	c.type = vk.local_type;
	uint32_t fam = vk.fam;
	VkQueue queue;
	vkGetDeviceQueue(c.dev, fam, 0, &queue);
	VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO, .queueFamilyIndex = fam};
	VkCommandPool pool;
	VK(vkCreateCommandPool(c.dev, &pci, NULL, &pool));
	VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO, .commandPool = pool,
					   .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY, .commandBufferCount = 1};
	VkCommandBuffer cb;
	VK(vkAllocateCommandBuffers(c.dev, &cai, &cb));
	VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
	VK(vkBeginCommandBuffer(cb, &bi));
	VK(vkEndCommandBuffer(cb));
	VkSemaphoreTypeCreateInfo ti = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
					.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
	VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
	VkSemaphore sem;
	VK(vkCreateSemaphore(c.dev, &si, NULL, &sem));

	uint64_t cap = 4u << 20, *lat = malloc(cap * 8), nrt = 0;
	uint8_t *ph = malloc(cap);
	c.mem = calloc(c.count, sizeof(*c.mem));
	c.alloc_ns = calloc((size_t)c.count * c.rounds, 8);
	c.free_ns = calloc((size_t)c.count * c.rounds, 8);
	if (!lat || !ph || !c.mem || !c.alloc_ns || !c.free_ns)
		die("out of memory");
	pthread_t th;
	c.next_ns = now_ns() + 300000000u;
	if (!c.inline_ops && pthread_create(&th, NULL, churn, &c) != 0)
		die("pthread_create");
	for (uint64_t v = 1; !c.done && nrt < cap; v++) {
		if (c.inline_ops)
			churn_inline(&c);
		int p0 = c.phase;
		uint64_t t = now_ns();
		VkCommandBufferSubmitInfo cbi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO, .commandBuffer = cb};
		VkSemaphoreSubmitInfo sig = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO, .semaphore = sem, .value = v,
					     .stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT};
		VkSubmitInfo2 s2 = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2, .commandBufferInfoCount = 1,
				    .pCommandBufferInfos = &cbi, .signalSemaphoreInfoCount = 1, .pSignalSemaphoreInfos = &sig};
		VK(vkQueueSubmit2(queue, 1, &s2, VK_NULL_HANDLE));
		uint64_t got = 0;
		while (got < v)
			VK(vkGetSemaphoreCounterValue(c.dev, sem, &got));
		lat[nrt] = now_ns() - t;
		int p1 = c.phase;
		ph[nrt++] = (uint8_t)(p0 != P_IDLE ? p0 : p1);
	}
	if (!c.inline_ops)
		pthread_join(th, NULL);
	json_head("memstall", vk.props.properties.deviceName, vk.drv.driverInfo);
	printf(",\"inline\":%s,\"mib\":%" PRIu64 ",\"count\":%u,\"rounds\":%u", c.inline_ops ? "true" : "false",
	       c.bytes >> 20, c.count, c.rounds);
	uint64_t *tmp = malloc(nrt * 8);
	for (int p = 0; p < P_COUNT; p++) {
		uint64_t k = 0, top = 0;
		for (uint64_t i = 0; i < nrt; i++)
			if (ph[i] == p) {
				tmp[k++] = lat[i];
				top = lat[i] > top ? lat[i] : top;
			}
		struct stats st = k ? summarize(tmp, k) : (struct stats){0};
		printf(",\"%s\":{\"round_trips\":%" PRIu64 ",\"median_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f}", phase_name[p], k,
		       st.median / 1e3, st.p99 / 1e3, top / 1e3);
	}
	printf(",\"alloc_ms\":[");
	for (uint32_t i = 0; i < c.n_ops; i++)
		printf("%s%.2f", i ? "," : "", c.alloc_ns[i] / 1e6);
	printf("],\"free_ms\":[");
	for (uint32_t i = 0; i < c.n_ops; i++)
		printf("%s%.2f", i ? "," : "", c.free_ns[i] / 1e6);
	printf("]}\n");
	vkDestroySemaphore(c.dev, sem, NULL);
	vkDestroyCommandPool(c.dev, pool, NULL);
	bench_vk_close(&vk);
	return 0;
}
