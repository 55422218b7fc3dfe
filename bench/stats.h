/*
 * stats.h — the statistics and JSON helpers the benchmark programs share
 * (bench/inproc.c, bench/client.c, bench/kernels.c, bench/memstall.c,
 * bench/pipeline_stats.c), so that both sides' figures are computed and
 * printed the same way. Each program defines die() before including it.
 */
#ifndef GPUCMD_BENCH_STATS_H
#define GPUCMD_BENCH_STATS_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stats { uint64_t min, median, p99, max; };

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static inline struct stats summarize(const uint64_t *v, size_t n)
{
	struct stats s = {0};
	if (n == 0)
		return s;
	uint64_t *t = malloc(n * sizeof *t);
	if (!t)
		die("out of memory");
	memcpy(t, v, n * sizeof *t);
	qsort(t, n, sizeof *t, cmp_u64);
	s.min = t[0];
	s.max = t[n - 1];
	s.median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
	s.p99 = t[(99 * n + 99) / 100 - 1];
	free(t);
	return s;
}

static inline void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static inline void json_array(const char *key, const uint64_t *v, size_t n)
{
	printf(",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		printf(i ? ",%" PRIu64 : "%" PRIu64, v[i]);
	putchar(']');
}

static inline void json_stats(const char *key, struct stats s, bool tail)
{
	printf(",\"%s\":{\"min\":%" PRIu64 ",\"median\":%" PRIu64, key, s.min, s.median);
	if (tail)
		printf(",\"p99\":%" PRIu64 ",\"max\":%" PRIu64, s.p99, s.max);
	putchar('}');
}

static inline void json_head(const char *bench, const char *device, const char *driver)
{
	printf("{\"bench\":\"%s\",\"device\":", bench);
	json_str(device);
	printf(",\"driver\":");
	json_str(driver);
}

/* "key":{upload/download GB/s best and median, the ns stats, the samples}.
 * bytes / ns is GB/s. */
static inline void print_rates(const char *key, const uint64_t *up, const uint64_t *down, uint64_t n, uint64_t bytes)
{
	struct stats u = summarize(up, n), d = summarize(down, n);
	printf(",\"%s\":{\"upload_gbps\":{\"best\":%.3f,\"median\":%.3f},\"download_gbps\":{\"best\":%.3f,\"median\":%.3f}",
	       key, (double)bytes / (double)u.min, (double)bytes / (double)u.median,
	       (double)bytes / (double)d.min, (double)bytes / (double)d.median);
	json_stats("upload_ns", u, false);
	json_stats("download_ns", d, false);
	json_array("upload_samples_ns", up, n);
	json_array("download_samples_ns", down, n);
	printf(",\"valid\":true}");
}

#endif
