/*
 * stage_rate.c — how many tiny stages the device itself gets through in a
 * second, in-process, alone and while a second thread does round trips on
 * another queue of the family, the way gpucmd's priority benchmark loads
 * the daemon. Through gpucmd a HIGH round trip cost bulk about one tiny
 * stage whichever daemon thread served it (docs/BENCHMARKS.md,
 * "2026-12-04, evening"); this tells whether the device does the same
 * with no daemon at all.
 *
 * A stage is what gpucmdd submits for a tiny one (vkdev.h): a command
 * buffer waiting on its queue's timeline at the previous value and
 * signalling the next, which dispatches one workgroup of the kernel in
 * `--spv` (stage_noop.spv, a kernel that does nothing) or, without it,
 * fills 256 bytes. The bulk thread submits them `--batch` to a
 * vkQueueSubmit2, at most DEPTH in flight, as the daemon's turns do; the
 * round-trip thread submits one stage and polls its timeline until it
 * completes, then the next. Both poll rather than block (a blocking wait
 * wakes tens of microseconds late on a GPU, which would be the measure).
 * With `--hold N`, bulk keeps at most N stages on the GPU while round
 * trips run, as gpucmdd holds bulk beside HIGH work (bulk_depth_high).
 * With `--rate R`, bulk offers at most R stages a second (gpucmdd's bulk
 * clients offer what its loop gets through, not what the GPU could).
 * Three phases of `--seconds`: bulk alone, both, round trips alone. One
 * JSON line: the bulk rates, `bulk_ratio` (beside / alone), the round
 * trips' latency and rate, and `stages_lost_per_round_trip`.
 *
 *   bench-stage-rate [--seconds S] [--batch N] [--hold N] [--rate R] [--spv PATH]
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

#define DEPTH 64
#define MAX_BATCH 32
#define MAX_RTT (1u << 21)

enum phase { P_WAIT, P_RUN, P_END }; /* a thread's: not started, running, to end */

struct shared {
	VkDevice dev;
	VkQueue bulk_q, rt_q;
	pthread_mutex_t *q_lock;    /* one queue only: the two threads take turns submitting */
	struct bench_vk_stages bulk, rt;
	uint32_t batch;
	uint32_t hold;              /* bulk's in-flight limit beside round trips; 0: DEPTH */
	double rate;                /* bulk stages a second offered at most; 0: as many as fit */
	_Atomic int bulk_phase, rt_phase;
	uint64_t *rtt;              /* round-trip latencies, the current phase's */
	_Atomic uint32_t n_rtt;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t counter(VkDevice dev, VkSemaphore tl)
{
	uint64_t v = 0;
	VK(vkGetSemaphoreCounterValue(dev, tl, &v));
	return v;
}

static void submit(struct shared *s, VkQueue q, uint32_t n, const VkSubmitInfo2 *si)
{
	if (s->q_lock)
		pthread_mutex_lock(s->q_lock);
	VK(vkQueueSubmit2(q, n, si, VK_NULL_HANDLE));
	if (s->q_lock)
		pthread_mutex_unlock(s->q_lock);
}

static void *bulk_loop(void *arg)
{
	struct shared *s = arg;
	VkSubmitInfo2 si[MAX_BATCH];
	VkCommandBufferSubmitInfo cbi[MAX_BATCH];
	VkSemaphoreSubmitInfo sem[MAX_BATCH][2];
	uint64_t submitted = counter(s->dev, s->bulk.tl), first = submitted, t0 = now_ns();
	while (atomic_load(&s->bulk_phase) == P_RUN) {
		if (s->rate && (double)(submitted - first) > s->rate * (double)(now_ns() - t0) / 1e9)
			continue;
		/* gpucmdd's hold: beside round trips, bulk keeps at most
		 * `hold` stages on the GPU, in batches no larger. Command
		 * buffer v % DEPTH is free again once v - DEPTH is done. */
		bool held = s->hold && atomic_load(&s->rt_phase) == P_RUN;
		uint32_t depth = held ? s->hold : DEPTH, batch = held && s->hold < s->batch ? s->hold : s->batch;
		while (counter(s->dev, s->bulk.tl) + depth < submitted + batch)
			if (atomic_load(&s->bulk_phase) != P_RUN)
				return NULL;
		for (uint32_t j = 0; j < batch; j++)
			bench_vk_stage_info(&s->bulk, submitted + j + 1, &si[j], &cbi[j], sem[j]);
		submit(s, s->bulk_q, batch, si);
		submitted += batch;
	}
	return NULL;
}

static void *rt_loop(void *arg)
{
	struct shared *s = arg;
	uint64_t v = counter(s->dev, s->rt.tl);
	while (atomic_load(&s->rt_phase) == P_RUN) {
		VkSubmitInfo2 si;
		VkCommandBufferSubmitInfo cbi;
		VkSemaphoreSubmitInfo sem[2];
		bench_vk_stage_info(&s->rt, ++v, &si, &cbi, sem);
		uint64_t t0 = now_ns();
		submit(s, s->rt_q, 1, &si);
		while (counter(s->dev, s->rt.tl) < v)
			;
		uint32_t i = atomic_load(&s->n_rtt);
		if (i < MAX_RTT) {
			s->rtt[i] = now_ns() - t0;
			atomic_store(&s->n_rtt, i + 1);
		}
	}
	return NULL;
}

/* A compute pipeline of the SPIR-V at path, whose kernel takes no
 * resources; its layout and module are the caller's to destroy. */
static VkPipeline load_pipeline(struct bench_vk *v, const char *path, VkPipelineLayout *layout, VkShaderModule *mod)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s", path);
	static uint32_t code[1 << 16];
	size_t len = fread(code, 1, sizeof(code), f);
	fclose(f);
	if (!len || len % 4 || len == sizeof(code))
		die("%s is not a SPIR-V module this tool takes", path);
	VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = len, .pCode = code};
	VK(vkCreateShaderModule(v->dev, &mi, NULL, mod));
	VkPipelineLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
	VK(vkCreatePipelineLayout(v->dev, &li, NULL, layout));
	VkComputePipelineCreateInfo ci = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO, .stage = VK_SHADER_STAGE_COMPUTE_BIT,
			  .module = *mod, .pName = "main"},
		.layout = *layout,
	};
	VkPipeline pipe;
	VK(vkCreateComputePipelines(v->dev, VK_NULL_HANDLE, 1, &ci, NULL, &pipe));
	return pipe;
}

/* Lets the phase run for `seconds`; returns the bulk stages completed a
 * second meanwhile, and fills *rt with the round trips' latencies. */
static double measure(struct shared *s, double seconds, struct stats *rt, double *rt_per_s)
{
	atomic_store(&s->n_rtt, 0);
	uint64_t b0 = counter(s->dev, s->bulk.tl), t0 = now_ns();
	while (now_ns() - t0 < (uint64_t)(seconds * 1e9)) {
		struct timespec nap = {0, 1000000};
		nanosleep(&nap, NULL);
	}
	uint64_t b1 = counter(s->dev, s->bulk.tl), t1 = now_ns();
	uint32_t n = atomic_load(&s->n_rtt);
	*rt = summarize(s->rtt, n);
	*rt_per_s = n / ((double)(t1 - t0) / 1e9);
	return (double)(b1 - b0) / ((double)(t1 - t0) / 1e9);
}

int main(int argc, char **argv)
{
	double seconds = 2;
	uint32_t batch = 8, hold = 0;
	double rate = 0;
	const char *spv = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--batch") && i + 1 < argc)
			batch = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--hold") && i + 1 < argc)
			hold = (uint32_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--spv") && i + 1 < argc)
			spv = argv[++i];
		else
			die("usage: bench-stage-rate [--seconds S] [--batch N] [--hold N] [--rate R] [--spv PATH]");
	}
	if (seconds <= 0 || batch < 1 || batch > MAX_BATCH || hold > DEPTH || rate < 0)
		die("--seconds must be positive, --batch 1 to %d, --hold 0 to %d, --rate 0 or more", MAX_BATCH, DEPTH);
	struct bench_vk v;
	/* Bulk on a queue of priority 0.5, round trips on one of 1.0, as
	 * gpucmdd's bulk and HIGH tracks. */
	bench_vk_open(&v, 2, (const float[]){0.5f, 1.0f});
	struct bench_vk_buf buf;
	bench_vk_buf_create(&v, &buf, 4096);
	static pthread_mutex_t one_queue = PTHREAD_MUTEX_INITIALIZER;
	struct shared s = {.dev = v.dev, .batch = batch, .hold = hold, .rate = rate, .q_lock = v.queues < 2 ? &one_queue : NULL};
	vkGetDeviceQueue(v.dev, v.fam, 0, &s.bulk_q);
	vkGetDeviceQueue(v.dev, v.fam, v.queues - 1, &s.rt_q);
	VkPipelineLayout layout = VK_NULL_HANDLE;
	VkShaderModule mod = VK_NULL_HANDLE;
	VkPipeline pipe = spv ? load_pipeline(&v, spv, &layout, &mod) : VK_NULL_HANDLE;
	bench_vk_stages_create(&v, &s.bulk, DEPTH, pipe, buf.buf, 0);
	bench_vk_stages_create(&v, &s.rt, 2, pipe, buf.buf, 256);
	if (!(s.rtt = malloc(MAX_RTT * sizeof(*s.rtt))))
		die("out of memory");

	/* The round-trip thread starts with its phase: it polls, and would
	 * take a CPU from the bulk thread alone. */
	pthread_t bulk, rt;
	atomic_store(&s.bulk_phase, P_RUN);
	if (pthread_create(&bulk, NULL, bulk_loop, &s))
		die("pthread_create failed");
	struct stats none, rt_with, rt_alone;
	double rate_none;
	(void)measure(&s, seconds / 4, &none, &rate_none); /* warm up */
	double alone = measure(&s, seconds, &none, &rate_none);
	atomic_store(&s.rt_phase, P_RUN);
	if (pthread_create(&rt, NULL, rt_loop, &s))
		die("pthread_create failed");
	double rt_per_s, rt_alone_per_s;
	double with = measure(&s, seconds, &rt_with, &rt_per_s);
	atomic_store(&s.bulk_phase, P_END);
	pthread_join(bulk, NULL);
	(void)measure(&s, seconds, &rt_alone, &rt_alone_per_s);
	atomic_store(&s.rt_phase, P_END);
	pthread_join(rt, NULL);
	VK(vkDeviceWaitIdle(v.dev));

	printf("{\"bench\":\"stage_rate\",\"device\":\"%s\",\"driver\":\"%s\",\"stage\":\"%s\",\"family\":%u,\"queues\":%u,\"batch\":%u,\"depth\":%d,\"hold\":%u,\"rate\":%g,"
	       "\"seconds\":%g,\"bulk_alone_per_s\":%.1f,\"bulk_with_round_trips_per_s\":%.1f,\"bulk_ratio\":%.3f,"
	       "\"round_trips_per_s\":%.1f,\"round_trips_alone_per_s\":%.1f",
	       v.props.properties.deviceName, v.drv.driverInfo, pipe ? "dispatch" : "fill", v.fam, v.queues, batch, DEPTH, hold, rate, seconds, alone, with,
	       alone > 0 ? with / alone : 0, rt_per_s, rt_alone_per_s);
	json_stats("round_trip_alone_ns", rt_alone, true);
	json_stats("round_trip_with_bulk_ns", rt_with, true);
	printf(",\"stages_lost_per_round_trip\":%.3f}\n", rt_per_s > 0 ? (alone - with) / rt_per_s : 0);
	free(s.rtt);
	bench_vk_stages_destroy(&v, &s.rt);
	bench_vk_stages_destroy(&v, &s.bulk);
	vkDestroyPipeline(v.dev, pipe, NULL);
	vkDestroyPipelineLayout(v.dev, layout, NULL);
	vkDestroyShaderModule(v.dev, mod, NULL);
	bench_vk_buf_destroy(&v, &buf);
	bench_vk_close(&v);
	return 0;
}
