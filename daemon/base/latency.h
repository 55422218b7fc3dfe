/*
 * latency.h — a round-trip latency record: a count, and the newest
 * GD_LATENCY_SAMPLES samples, from which the median and the 99th
 * percentile are read (status). Loop thread.
 */
#ifndef GD_LATENCY_H
#define GD_LATENCY_H

#include <stdint.h>

#define GD_LATENCY_SAMPLES 1024

struct gd_latency {
	uint64_t count;                     /* samples since start */
	uint32_t us[GD_LATENCY_SAMPLES];    /* the newest ones, in microseconds, a ring */
};

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t gd_now_ns(void);

void gd_latency_add(struct gd_latency *l, uint64_t ns);
/* Adds from's kept samples and count to into (status over shards). */
void gd_latency_merge(struct gd_latency *into, const struct gd_latency *from);
/* The q-th quantile (0..1) of the kept samples, in microseconds; 0 without any. */
uint32_t gd_latency_quantile(const struct gd_latency *l, double q);

#endif
