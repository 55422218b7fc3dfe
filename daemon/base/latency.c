/*
 * latency.c — round-trip latency records (see latency.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/latency.h"

uint64_t gd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void gd_latency_add(struct gd_latency *l, uint64_t ns)
{
	uint64_t us = ns / 1000u;
	l->us[l->count++ % GD_LATENCY_SAMPLES] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

uint32_t gd_latency_quantile(const struct gd_latency *l, double q)
{
	uint32_t n = l->count < GD_LATENCY_SAMPLES ? (uint32_t)l->count : GD_LATENCY_SAMPLES;
	if (!n)
		return 0;
	uint32_t sorted[GD_LATENCY_SAMPLES];
	memcpy(sorted, l->us, n * sizeof(sorted[0]));
	qsort(sorted, n, sizeof(sorted[0]), cmp_u32);
	uint32_t i = (uint32_t)(q * (n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

void gd_latency_merge(struct gd_latency *into, const struct gd_latency *from)
{
	uint32_t kept = from->count < GD_LATENCY_SAMPLES ? (uint32_t)from->count : GD_LATENCY_SAMPLES;
	for (uint32_t i = 0; i < kept; i++)
		into->us[into->count++ % GD_LATENCY_SAMPLES] = from->us[i];
	into->count += from->count - kept;
}
