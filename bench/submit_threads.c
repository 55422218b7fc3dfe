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
	struct bench_vk_stages st; /* DEPTH command buffers: done by the time one is used again */
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
	VK(vkGetSemaphoreCounterValue(l->dev, l->st.tl, &base));
	for (uint32_t i = 0; i < l->n; i++) {
		uint64_t v = base + i + 1;
		if (i >= DEPTH) {
			uint64_t w = v - DEPTH;
			VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO, .semaphoreCount = 1,
						  .pSemaphores = &l->st.tl, .pValues = &w};
			VK(vkWaitSemaphores(l->dev, &wi, UINT64_MAX));
		}
		VkSubmitInfo2 si;
		VkCommandBufferSubmitInfo cbi;
		VkSemaphoreSubmitInfo sem[2];
		bench_vk_stage_info(&l->st, v, &si, &cbi, sem);
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
	struct bench_vk_buf buf;
	bench_vk_buf_create(&v, &buf, 4096);

	atomic_bool go = false;
	struct lane ls[2];
	for (uint32_t i = 0; i < queues; i++) {
		struct lane *l = &ls[i];
		*l = (struct lane){.dev = dev, .n = n, .go = &go};
		vkGetDeviceQueue(dev, fam, i, &l->queue);
		bench_vk_stages_create(&v, &l->st, DEPTH, VK_NULL_HANDLE, buf.buf, 256 * i);
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
		bench_vk_stages_destroy(&v, &ls[i].st);
		free(ls[i].ns);
	}
	bench_vk_buf_destroy(&v, &buf);
	bench_vk_close(&v);
	return 0;
}
