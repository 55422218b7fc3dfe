/*
 * bench/kernels.c - the standard kernels at size (build/bench-kernels).
 *
 * Every standard kernel runs through a running gpucmdd on large inputs
 * (256 M floats for the element-wise, reduction and row kernels, 16384^2
 * for transpose, 8192^3 for the matmuls; --quick: 1 M + 3 floats and
 * 257 x 255 x 263 matmuls) with GPU timestamps (gpucmd_profile): one
 * warm-up, then --repeats timed repetitions, each its own command buffer,
 * timed from the first command's start to the last one's end. Each kernel
 * prints one JSON line: "bench":"kernel", "kernel", "variant" (gpucmd
 * kernels), "bytes" (the least it must move) or "flops", "ns" min/median
 * and the samples, "gbps"/"tflops" of the best repetition. The peaks the
 * suite divides by come from the same run: bandwidth from copy_f32 and
 * from a buffer copy (vkCmdCopyBuffer: "buffer_copy"), FLOP/s from an FMA
 * kernel (bench/fma_f32.comp, --fma PATH: "fma_f32"), and L2's read
 * bandwidth from a kernel rereading 16 MiB (bench/l2_read_f32.comp, --l2
 * PATH: "l2_read_f32"), which the matmuls' operand traffic meets. Every result is
 * checked against the CPU on samples (the ends and the middle of arrays,
 * rows, matmul entries); a wrong result exits 1.
 *
 * add_f32 also runs at other group counts (the grid-stride loop's trade-off,
 * up to one vec4 an invocation where the device allows that many groups)
 * and at 1/16 and 1/4 of the size; --compare PATH times another module
 * with add_f32's interface (bindings a, b, out; push n; a group per 256
 * elements) the same way, to compare kernels on one machine in one run.
 * --matmul M,N,K runs only the two matmuls at that size (after the warm-up
 * when one side is 4096 or more): bench/run-matmul-sweep compares builds
 * of the matmul kernels with it.
 *
 *   bench-kernels [--quick] [--repeats R] [--fma PATH] [--l2 PATH] [--compare PATH]... [--matmul M,N,K] [--socket PATH]
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpucmd.h"

#include "fail.h"

#include "stats.h"

#define MAX_JOBS 8
#define MAX_REPEATS 64
#define SAMPLE 65536u /* elements read back at each of three places of an array */

/* One dispatch (kernel != NULL) or buffer copy of a repetition. */
struct job {
	const char *kernel;
	gpucmd_buffer bind[4];
	uint32_t n_bind, push[4], push_size, gx, gy;
	gpucmd_buffer src, dst;        /* a buffer copy of `bytes` */
	uint64_t bytes;
};

struct bench {
	gpucmd_client *c;
	gpucmd_session s;
	unsigned repeats;
	char device[256], driver[520];
	uint32_t n;                    /* elements of the 1-D arrays */
	uint32_t max_groups;           /* maxComputeWorkGroupCount[0] */
	const char *compare[4];        /* --compare modules */
	unsigned n_compare;
	gpucmd_buffer x, y, o, w;      /* inputs, output, rms_norm weights */
	float *hx, *hy;                /* the inputs, on the host */
};

static float pattern_x(uint64_t i) { return (float)((i * 7919u) % 2003u) / 1001.0f - 1.0f; }
static float pattern_y(uint64_t i) { return (float)((i * 104729u) % 1999u) / 999.0f + 1.5f; }
/* Multiples of 1/8 in [-1, 1]: exact in f16, and every k-term dot product
 * of them is a multiple of 1/64 below 2^18, exact in f32. */
static float pattern_m(uint64_t i, unsigned salt) { return (float)((int)((i * 31u + salt) % 17u) - 8) / 8.0f; }

/* The half with the value of f, for the exact values pattern_m makes. */
static uint16_t to_half(float f)
{
	if (f == 0)
		return 0;
	uint16_t sign = f < 0 ? 0x8000 : 0;
	int e;
	float m = frexpf(fabsf(f), &e); /* |f| = m * 2^e, m in [0.5, 1) */
	return sign | (uint16_t)((e - 1 + 15) << 10) | (uint16_t)((m * 2 - 1) * 1024);
}

static gpucmd_buffer upload(struct bench *b, const void *data, uint64_t bytes)
{
	gpucmd_buffer buf;
	GC(b->c, gpucmd_buffer_create(b->c, bytes, 0, &buf));
	for (uint64_t off = 0; data && off < bytes; off += 64u << 20) {
		uint64_t len = bytes - off < (64u << 20) ? bytes - off : 64u << 20;
		GC(b->c, gpucmd_buffer_write(b->c, buf, off, (const char *)data + off, len));
	}
	return buf;
}

static void record(struct bench *b, const struct job *j)
{
	if (!j->kernel) {
		GC(b->c, gpucmd_buffer_copy(b->c, b->s, j->src, 0, j->dst, 0, j->bytes));
		return;
	}
	struct gpucmd_kernel_info k;
	struct gpucmd_binding bind[4];
	GC(b->c, gpucmd_kernel_find(b->c, j->kernel, &k));
	for (uint32_t i = 0; i < j->n_bind; i++)
		bind[i] = (struct gpucmd_binding){j->bind[i], 0, 0};
	GC(b->c, gpucmd_dispatch(b->c, b->s, k.id, bind, j->n_bind, j->push, j->push_size, j->gx, j->gy ? j->gy : 1, 1));
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A warm-up and b->repeats timed repetitions of jobs[0..n-1]: ns[r] from the
 * first command's GPU start to the last one's end. Returns how many times
 * each job ran (an in-place kernel's result depends on it). The warm-up keeps the GPU
 * busy for 100 ms (or 128 runs): after an upload the clocks have dropped
 * (an H200 idles at 780 of 1980 MHz), and after a single repetition the
 * first timed ones could still run slow (matmul_f32 at 77.8, 77.8, 48.8,
 * then 30.8 ms, bench/results/h200-2026-12-02-matmul-coopmat2-sweep.jsonl). */
static unsigned time_jobs(struct bench *b, const struct job *jobs, unsigned n, uint64_t *ns)
{
	unsigned runs = b->repeats + 1;
	uint64_t t0 = now_ns();
	for (unsigned w = 0; w < 16 && now_ns() - t0 < 100000000u; w++, runs += 8) {
		for (unsigned c = 0; c < 8; c++)
			for (unsigned i = 0; i < n; i++)
				record(b, &jobs[i]);
		GC(b->c, gpucmd_commit_and_wait(b->c, b->s));
		GC(b->c, gpucmd_reset_for_next_stage(b->c, b->s));
	}
	for (unsigned r = 0; r <= b->repeats; r++) {
		for (unsigned i = 0; i < n; i++)
			record(b, &jobs[i]);
		GC(b->c, gpucmd_commit_and_wait(b->c, b->s));
		GC(b->c, gpucmd_reset_for_next_stage(b->c, b->s));
		struct gpucmd_profile p;
		GC(b->c, gpucmd_profile_fetch(b->c, b->s, NULL, true, &p));
		if (p.n_commands < n)
			die("the profile holds %u commands of %u", p.n_commands, n);
		uint64_t start = UINT64_MAX, end = 0;
		for (uint32_t i = p.n_commands - n; i < p.n_commands; i++) {
			start = p.commands[i].start_ns < start ? p.commands[i].start_ns : start;
			end = p.commands[i].end_ns > end ? p.commands[i].end_ns : end;
		}
		gpucmd_profile_free(&p);
		if (r > 0)
			ns[r - 1] = end > start ? end - start : 1;
	}
	return runs;
}

/* One JSON line for a kernel: bytes or flops per repetition. */
static void report(struct bench *b, const char *name, const char *size, uint32_t groups, double bytes, double flops,
		   const uint64_t *ns)
{
	struct stats s = summarize(ns, b->repeats);
	char variant[32] = "";
	struct gpucmd_kernel_info k;
	if (strcmp(name, "buffer_copy") != 0 && gpucmd_kernel_find(b->c, name, &k) == 0)
		snprintf(variant, sizeof variant, "%s", k.variant);
	json_head("kernel", b->device, b->driver);
	printf(",\"kernel\":");
	json_str(name);
	printf(",\"variant\":");
	json_str(variant);
	printf(",\"size\":\"%s\",\"groups\":%u,\"repeats\":%u", size, groups, b->repeats);
	if (bytes > 0)
		printf(",\"bytes\":%.0f,\"gbps\":%.2f,\"gbps_median\":%.2f", bytes, bytes / (double)s.min,
		       bytes / (double)s.median);
	if (flops > 0)
		printf(",\"flops\":%.0f,\"tflops\":%.3f,\"tflops_median\":%.3f", flops, flops / (double)s.min / 1e3,
		       flops / (double)s.median / 1e3);
	json_stats("ns", s, false);
	json_array("samples_ns", ns, b->repeats);
	printf(",\"checked\":true}\n");
	fflush(stdout);
}

/* Reads count floats of buf at element `at` and compares each with want(i). */
static void check_range(struct bench *b, const char *what, gpucmd_buffer buf, uint64_t at, uint32_t count,
			double (*want)(const struct bench *, uint64_t), double abs_tol, double rel_tol)
{
	float *got = malloc((size_t)count * 4);
	if (!got)
		die("out of memory");
	GC(b->c, gpucmd_buffer_read(b->c, buf, at * 4, got, (size_t)count * 4));
	for (uint32_t i = 0; i < count; i++) {
		double w = want(b, at + i);
		if (!(fabs(got[i] - w) <= abs_tol + rel_tol * fabs(w)))
			die("%s: element %" PRIu64 " is %.9g, expected %.9g", what, at + i, got[i], w);
	}
	free(got);
}

/* The start, the middle and the end of an n-element result. */
static void check_array(struct bench *b, const char *what, gpucmd_buffer buf, uint64_t n,
			double (*want)(const struct bench *, uint64_t), double abs_tol, double rel_tol)
{
	uint32_t count = n < SAMPLE ? (uint32_t)n : SAMPLE;
	check_range(b, what, buf, 0, count, want, abs_tol, rel_tol);
	check_range(b, what, buf, n / 2 - (n / 2 >= count / 2 ? count / 2 : n / 2), count, want, abs_tol, rel_tol);
	check_range(b, what, buf, n - count, count, want, abs_tol, rel_tol);
}

static uint32_t elementwise_groups(uint32_t n)
{
	uint64_t g = ((uint64_t)n + 1023) / 1024;
	return g > 65535 ? 65535 : g ? (uint32_t)g : 1;
}

#define WANT(NAME, EXPR) \
	static double NAME(const struct bench *b, uint64_t i) \
	{ \
		double x = b->hx[i], y = b->hy[i]; \
		(void)x; \
		(void)y; \
		return EXPR; \
	}
WANT(want_copy, x)
WANT(want_add, x + y)
WANT(want_sub, x - y)
WANT(want_mul, x * y)
WANT(want_div, x / y)
WANT(want_scale, 0.5 * x)
WANT(want_gelu, 0.5 * x * (1 + tanh(0.7978845608 * (x + 0.044715 * x * x * x))))
WANT(want_silu, x / (1 + exp(-x)))
WANT(want_one, 1.0)
static unsigned axpy_runs;
WANT(want_axpy, 1.0 + axpy_runs * 0.5 * x)

/* add_f32 (or a module with its interface, --compare) over the first n
 * elements with `groups` groups. */
static void time_add(struct bench *b, const char *kernel, uint32_t n, uint32_t groups)
{
	uint64_t ns[MAX_REPEATS];
	char size[32];
	snprintf(size, sizeof size, "%u", n);
	struct job j = {.kernel = kernel, .bind = {b->x, b->y, b->o}, .n_bind = 3, .push = {n}, .push_size = 4,
			.gx = groups};
	time_jobs(b, &j, 1, ns);
	check_array(b, kernel, b->o, n, want_add, 0, 1e-6);
	report(b, kernel, size, groups, 12.0 * n, 0, ns);
}

/* add_f32 at other group counts (up to a vec4 an invocation, no loop) and
 * sizes; then the --compare modules, a group per 256 elements. */
static void bench_add_sweep(struct bench *b)
{
	uint32_t n = b->n, all = (uint32_t)(((uint64_t)n + 1023) / 1024);
	for (uint32_t groups = 1056; groups <= 16896; groups *= 4)
		time_add(b, "add_f32", n, groups);
	if (all > 65535 && all <= b->max_groups)
		time_add(b, "add_f32", n, all);
	for (uint32_t part = 16; part > 1; part /= 4)
		time_add(b, "add_f32", n / part, elementwise_groups(n / part));
	for (unsigned i = 0; i < b->n_compare; i++) {
		FILE *f = fopen(b->compare[i], "rb");
		static uint32_t spv[16384];
		size_t size = f ? fread(spv, 1, sizeof spv, f) : 0;
		if (!f)
			die("cannot open %s (--compare)", b->compare[i]);
		fclose(f);
		const char *base = strrchr(b->compare[i], '/') ? strrchr(b->compare[i], '/') + 1 : b->compare[i];
		char name[64];
		snprintf(name, sizeof name, "compare-%.40s", base);
		struct gpucmd_kernel_info k;
		GC(b->c, gpucmd_kernel_register(b->c, name, spv, size, &k));
		for (uint32_t part = 16; part >= 1; part /= 4) {
			uint64_t groups = ((uint64_t)n / part + 255) / 256;
			if (groups <= b->max_groups)
				time_add(b, name, n / part, (uint32_t)groups);
			if (part == 1)
				break;
		}
	}
}

/* copy, fill, the binary and unary kernels, axpy and a buffer copy over n floats. */
/* A second of copy_f32 over the 1 GiB arrays before anything is timed, in a
 * session of its own (not profiled): on the H200 most runs met the memory
 * at under half its bandwidth, one switched to full speed in the middle of
 * a run and stayed there (BENCHMARKS.md), as a clock that rises only under
 * sustained load would. */
static void warm_up(struct bench *b)
{
	gpucmd_session timed = b->s;
	GC(b->c, gpucmd_session_open(b->c, "bench-kernels-warm-up", &b->s));
	struct job j = {.kernel = "copy_f32", .bind = {b->x, b->o}, .n_bind = 2, .push = {b->n}, .push_size = 4,
			.gx = elementwise_groups(b->n)};
	uint64_t t0 = now_ns();
	while (now_ns() - t0 < 1000000000u) {
		for (int i = 0; i < 100; i++)
			record(b, &j);
		GC(b->c, gpucmd_commit_and_wait(b->c, b->s));
		GC(b->c, gpucmd_reset_for_next_stage(b->c, b->s));
	}
	GC(b->c, gpucmd_session_close(b->c, b->s));
	b->s = timed;
}

static void bench_elementwise(struct bench *b)
{
	static const struct { const char *name; uint32_t inputs; double (*want)(const struct bench *, uint64_t); } k[] = {
		{"copy_f32", 1, want_copy}, {"add_f32", 2, want_add}, {"sub_f32", 2, want_sub},
		{"mul_f32", 2, want_mul}, {"div_f32", 2, want_div}, {"scale_f32", 1, want_scale},
		{"gelu_f32", 1, want_gelu}, {"silu_f32", 1, want_silu},
	};
	uint64_t ns[MAX_REPEATS];
	char size[32];
	uint32_t n = b->n, g = elementwise_groups(n);
	snprintf(size, sizeof size, "%u", n);
	struct job cp = {.src = b->x, .dst = b->o, .bytes = (uint64_t)n * 4};
	time_jobs(b, &cp, 1, ns);
	check_array(b, "buffer_copy", b->o, n, want_copy, 0, 0);
	report(b, "buffer_copy", size, 0, 8.0 * n, 0, ns);
	for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
		struct job j = {.kernel = k[i].name, .bind = {b->x, b->y}, .n_bind = k[i].inputs + 1,
				.push = {n, 0x3f000000u /* 0.5f */}, .push_size = strcmp(k[i].name, "scale_f32") ? 4 : 8,
				.gx = g};
		j.bind[k[i].inputs] = b->o;
		time_jobs(b, &j, 1, ns);
		check_array(b, k[i].name, b->o, n, k[i].want, 1e-5, 1e-5);
		report(b, k[i].name, size, g, 4.0 * n * (k[i].inputs + 1), 0, ns);
	}
	bench_add_sweep(b);
	struct job fill = {.kernel = "fill_f32", .bind = {b->o}, .n_bind = 1, .push = {n, 0x3f800000u /* 1.0f */},
			   .push_size = 8, .gx = g};
	time_jobs(b, &fill, 1, ns);
	check_array(b, "fill_f32", b->o, n, want_one, 0, 0);
	report(b, "fill_f32", size, g, 4.0 * n, 0, ns);
	struct job axpy = {.kernel = "axpy_f32", .bind = {b->x, b->o}, .n_bind = 2, .push = {n, 0x3f000000u},
			   .push_size = 8, .gx = g};
	axpy_runs = time_jobs(b, &axpy, 1, ns);
	check_array(b, "axpy_f32", b->o, n, want_axpy, 1e-4, 1e-5);
	report(b, "axpy_f32", size, g, 12.0 * n, 0, ns);
}

/* reduce_sum and reduce_max of n floats to one: the passes of one reduction
 * (min(ceil(n / 1024), 65535) groups, then a group per 1024 partials). */
static void bench_reductions(struct bench *b)
{
	double sum = 0, abs_sum = 0, max = -INFINITY;
	for (uint64_t i = 0; i < b->n; i++) {
		sum += b->hx[i];
		abs_sum += fabs(b->hx[i]);
		max = fmax(max, b->hx[i]);
	}
	gpucmd_buffer part[2];
	GC(b->c, gpucmd_buffer_create(b->c, 65536 * 4, 0, &part[0]));
	GC(b->c, gpucmd_buffer_create(b->c, 65536 * 4, 0, &part[1]));
	for (int m = 0; m < 2; m++) {
		const char *name = m ? "reduce_max_f32" : "reduce_sum_f32";
		struct job jobs[MAX_JOBS];
		unsigned n_jobs = 0;
		gpucmd_buffer src = b->x;
		uint32_t left = b->n, first = elementwise_groups(b->n);
		while (n_jobs < MAX_JOBS) {
			uint32_t g = elementwise_groups(left);
			gpucmd_buffer dst = part[n_jobs % 2];
			jobs[n_jobs++] = (struct job){.kernel = name, .bind = {src, dst}, .n_bind = 2, .push = {left},
						      .push_size = 4, .gx = g};
			src = dst;
			left = g;
			if (left == 1)
				break;
		}
		uint64_t ns[MAX_REPEATS];
		time_jobs(b, jobs, n_jobs, ns);
		float got;
		GC(b->c, gpucmd_buffer_read(b->c, src, 0, &got, 4));
		double want = m ? max : sum, tol = m ? 0 : 1e-6 * (log2(b->n) + 1) * abs_sum;
		if (!(fabs(got - want) <= tol))
			die("%s of %u floats = %.9g, expected %.9g (tolerance %g)", name, b->n, got, want, tol);
		char size[32];
		snprintf(size, sizeof size, "%u", b->n);
		report(b, name, size, first, 4.0 * b->n, 0, ns);
	}
	gpucmd_buffer_free(b->c, part[0]);
	gpucmd_buffer_free(b->c, part[1]);
}

/* softmax and rms_norm of rows x 4096 and transpose of a square (the same
 * n floats), checked on their first and last rows. */
static void check_rows(struct bench *b, bool softmax, uint32_t rows, uint32_t cols)
{
	float *got = malloc((size_t)cols * 4), *w = malloc((size_t)cols * 4);
	if (!got || !w)
		die("out of memory");
	GC(b->c, gpucmd_buffer_read(b->c, b->w, 0, w, (size_t)cols * 4));
	for (uint32_t r = 0; r < rows; r += rows - 1) {
		const float *x = b->hx + (size_t)r * cols;
		double m = -INFINITY, acc = 0;
		for (uint32_t j = 0; j < cols; j++)
			m = fmax(m, x[j]);
		for (uint32_t j = 0; j < cols; j++)
			acc += softmax ? exp(x[j] - m) : (double)x[j] * x[j];
		GC(b->c, gpucmd_buffer_read(b->c, b->o, (uint64_t)r * cols * 4, got, (size_t)cols * 4));
		for (uint32_t j = 0; j < cols; j++) {
			double want = softmax ? exp(x[j] - m) / acc : x[j] / sqrt(acc / cols + 1e-5) * w[j];
			if (!(fabs(got[j] - want) <= 1e-6 + 1e-4 * fabs(want)))
				die("%s row %u col %u = %.9g, expected %.9g", softmax ? "softmax_f32" : "rms_norm_f32", r,
				    j, got[j], want);
		}
		if (rows == 1)
			break;
	}
	free(got);
	free(w);
}

static uint32_t transpose_side;
static double want_transpose(const struct bench *b, uint64_t i)
{
	return b->hx[(i % transpose_side) * transpose_side + i / transpose_side];
}

static void bench_rows(struct bench *b)
{
	uint32_t cols = 4096, rows = b->n / cols, g = rows > 65535 ? 65535 : rows;
	uint64_t ns[MAX_REPEATS];
	char size[32];
	snprintf(size, sizeof size, "%ux%u", rows, cols);
	struct job sm = {.kernel = "softmax_f32", .bind = {b->x, b->o}, .n_bind = 2, .push = {rows, cols},
			 .push_size = 8, .gx = g};
	time_jobs(b, &sm, 1, ns);
	check_rows(b, true, rows, cols);
	report(b, "softmax_f32", size, g, 8.0 * rows * cols, 0, ns);
	struct job rn = {.kernel = "rms_norm_f32", .bind = {b->x, b->w, b->o}, .n_bind = 3,
			 .push = {rows, cols, 0x3727c5acu /* 1e-5f */}, .push_size = 12, .gx = g};
	time_jobs(b, &rn, 1, ns);
	check_rows(b, false, rows, cols);
	report(b, "rms_norm_f32", size, g, 8.0 * rows * cols + 4.0 * cols, 0, ns);
	uint32_t side = (uint32_t)sqrt((double)b->n);
	transpose_side = side;
	snprintf(size, sizeof size, "%ux%u", side, side);
	struct job tr = {.kernel = "transpose_f32", .bind = {b->x, b->o}, .n_bind = 2, .push = {side, side},
			 .push_size = 8, .gx = (side + 15) / 16, .gy = (side + 15) / 16};
	time_jobs(b, &tr, 1, ns);
	check_array(b, "transpose_f32", b->o, (uint64_t)side * side, want_transpose, 0, 0);
	report(b, "transpose_f32", size, tr.gx * tr.gy, 8.0 * side * side, 0, ns);
}

/* A bfloat16 of x, rounded to nearest even. */
static uint16_t to_bf16(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float from_bf16(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float x;
	memcpy(&x, &u, 4);
	return x;
}

/* matmul_f32, matmul_f16 and matmul_bf16 of m x k by k x n, each checked on
 * 64 entries against the CPU on the values it was given (exact in f16:
 * see pattern_m; rounded to bfloat16 for matmul_bf16). */
static void bench_matmul(struct bench *b, uint32_t m, uint32_t n, uint32_t k)
{
	static const char *const names[] = {"matmul_f32", "matmul_f16", "matmul_bf16"};
	size_t na = (size_t)m * k, nb = (size_t)k * n;
	float *a = malloc(na * 4), *bm = malloc(nb * 4);
	uint16_t *ha = malloc(na * 2 + 4), *hb = malloc(nb * 2 + 4);
	if (!a || !bm || !ha || !hb)
		die("out of memory");
	gpucmd_buffer c;
	GC(b->c, gpucmd_buffer_create(b->c, (uint64_t)m * n * 4, 0, &c));
	char size[48];
	snprintf(size, sizeof size, "%ux%ux%u", m, n, k);
	for (int kind = 0; kind < 3; kind++) {
		/* The CPU multiplies what the GPU was given: 16-bit values widened. */
		for (size_t i = 0; i < na; i++) {
			a[i] = pattern_m(i, 3);
			ha[i] = kind == 2 ? to_bf16(a[i]) : to_half(a[i]);
			a[i] = kind == 2 ? from_bf16(ha[i]) : a[i];
		}
		for (size_t i = 0; i < nb; i++) {
			bm[i] = pattern_m(i, 5);
			hb[i] = kind == 2 ? to_bf16(bm[i]) : to_half(bm[i]);
			bm[i] = kind == 2 ? from_bf16(hb[i]) : bm[i];
		}
		bool f16 = kind > 0;
		gpucmd_buffer ga = upload(b, f16 ? (void *)ha : a, f16 ? (na * 2 + 3) & ~(size_t)3 : na * 4);
		gpucmd_buffer gb = upload(b, f16 ? (void *)hb : bm, f16 ? (nb * 2 + 3) & ~(size_t)3 : nb * 4);
		const char *name = names[kind];
		struct job j = {.kernel = name, .bind = {ga, gb, c}, .n_bind = 3, .push = {m, n, k}, .push_size = 12,
				.gx = (n + 127) / 128, .gy = (m + 127) / 128};
		uint64_t ns[MAX_REPEATS];
		time_jobs(b, &j, 1, ns);
		for (unsigned s = 0; s < 64; s++) {
			uint32_t r = s == 0 ? 0 : s == 1 ? m - 1 : (uint32_t)(((uint64_t)s * 2654435761u) % m);
			uint32_t col = s == 0 ? 0 : s == 1 ? n - 1 : (uint32_t)(((uint64_t)s * 40503u) % n);
			double want = 0;
			for (uint32_t t = 0; t < k; t++)
				want += (double)a[(size_t)r * k + t] * bm[(size_t)t * n + col];
			float got;
			GC(b->c, gpucmd_buffer_read(b->c, c, ((uint64_t)r * n + col) * 4, &got, 4));
			if (!(fabs(got - want) <= 1e-3))
				die("%s %s: C[%u][%u] = %.9g, expected %.9g", name, size, r, col, got, want);
		}
		report(b, name, size, j.gx * j.gy, 0, 2.0 * m * n * k, ns);
		gpucmd_buffer_free(b->c, ga);
		gpucmd_buffer_free(b->c, gb);
	}
	gpucmd_buffer_free(b->c, c);
	free(a);
	free(bm);
	free(ha);
	free(hb);
}

/* Registers the SPIR-V module at path (a benchmark kernel: --fma, --l2) as name. */
static void register_file(struct bench *b, const char *path, const char *name, const char *option)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open %s (the %s kernel, %s)", path, name, option);
	static uint32_t spv[16384];
	size_t size = fread(spv, 1, sizeof spv, f);
	fclose(f);
	struct gpucmd_kernel_info k;
	GC(b->c, gpucmd_kernel_register(b->c, name, spv, size, &k));
}

/* The FMA kernel: groups x 256 invocations x iters x 32 fused multiply-adds. */
static void bench_fma(struct bench *b, const char *path, bool quick)
{
	register_file(b, path, "fma_f32", "--fma");
	uint32_t groups = quick ? 64 : 16896, iters = quick ? 64 : 4096;
	gpucmd_buffer o;
	GC(b->c, gpucmd_buffer_create(b->c, (uint64_t)groups * 256 * 4, 0, &o));
	struct job j = {.kernel = "fma_f32", .bind = {o}, .n_bind = 1, .push = {iters}, .push_size = 4, .gx = groups};
	uint64_t ns[MAX_REPEATS];
	time_jobs(b, &j, 1, ns);
	float got;
	GC(b->c, gpucmd_buffer_read(b->c, o, 0, &got, 4));
	if (!isfinite(got))
		die("fma_f32 wrote %g", got);
	report(b, "fma_f32", "-", groups, 0, 64.0 * groups * 256 * iters, ns);
	gpucmd_buffer_free(b->c, o);
}

/* The L2 read kernel (bench/l2_read_f32.comp): groups x 256 invocations each
 * read iters vec4s of a 16 MiB buffer (64 KiB quick). Invocations 0 and the
 * last are checked against the same sums on the CPU. */
static void bench_l2(struct bench *b, const char *path, bool quick)
{
	register_file(b, path, "l2_read_f32", "--l2");
	uint32_t n = quick ? 1u << 12 : 1u << 20, groups = quick ? 64 : 2048, iters = quick ? 64 : 2048;
	uint32_t t = groups * 256, chunks = n / 32;
	float *x = malloc((size_t)n * 16);
	if (!x)
		die("out of memory");
	for (uint64_t i = 0; i < 4ull * n; i++)
		x[i] = pattern_x(i);
	gpucmd_buffer in = upload(b, x, (uint64_t)n * 16), o;
	GC(b->c, gpucmd_buffer_create(b->c, (uint64_t)t * 4, 0, &o));
	struct job j = {.kernel = "l2_read_f32", .bind = {in, o}, .n_bind = 2, .push = {n, iters}, .push_size = 8,
			.gx = groups};
	uint64_t ns[MAX_REPEATS];
	time_jobs(b, &j, 1, ns);
	for (uint32_t g = 0; g < t; g += t - 1) {
		double want = 0, mag = 0;
		for (uint32_t i = 0; i < iters; i++)
			for (unsigned c = 0; c < 4; c++) {
				uint32_t chunk = (g / 32 + i * 0x9E3779B1u) & (chunks - 1);
				float v = x[4 * ((uint64_t)chunk * 32 + g % 32) + c];
				want += v, mag += fabs(v);
			}
		float got;
		GC(b->c, gpucmd_buffer_read(b->c, o, (uint64_t)g * 4, &got, 4));
		if (fabs(got - want) > 1e-5 * mag + 1e-6)
			die("l2_read_f32: invocation %u summed %.9g, want %.9g", g, got, want);
	}
	report(b, "l2_read_f32", quick ? "64K" : "16M", groups, 16.0 * t * iters, 0, ns);
	gpucmd_buffer_free(b->c, o);
	gpucmd_buffer_free(b->c, in);
	free(x);
}

/* A tensor-core FP16 peak: a benchmark-only standard kernel (in the
 * bundle's kernel directory) that loads its operands once and runs `iters`
 * matrix products with no memory traffic in the loop. peak_mma_f16: 8
 * chains of 16x8x16 coopMatMulAddNV a subgroup (VK_NV_cooperative_matrix);
 * peak_mma_wg_f16: a group of 128's 128x128x64 workgroup product
 * (VK_NV_cooperative_matrix2), matmul_f16+coopmat2_nv's path. `halves` f16
 * inputs, `floats` f32 accumulators read and `out` floats a group written.
 * Skipped where the daemon does not have it, or runs its portable twin. */
struct peak {
	const char *kernel, *variant;
	uint32_t groups, iters, halves, floats, out;
	double flops; /* a group an iteration */
};

static const struct peak peaks[] = {
	{"peak_mma_f16", "coopmat_nv", 2112, 2048, 384, 1024, 8 * 1024, 2.0 * 16 * 8 * 16 * 8 * 8},
	{"peak_mma_wg_f16", "coopmat2_nv", 1056, 256, 16384, 16384, 16384, 2.0 * 128 * 128 * 64},
};

static void bench_mma(struct bench *b, const struct peak *p)
{
	struct gpucmd_kernel_info k;
	if (gpucmd_kernel_find(b->c, p->kernel, &k) < 0 || strcmp(k.variant, p->variant))
		return;
	uint16_t *halves = malloc(p->halves * sizeof *halves);
	float *init = malloc(p->floats * sizeof *init);
	if (!halves || !init)
		die("out of memory");
	for (uint32_t i = 0; i < p->halves; i++)
		halves[i] = 0x1419; /* about 1e-3 in binary16 */
	for (uint32_t i = 0; i < p->floats; i++)
		init[i] = (float)i * 1e-3f;
	gpucmd_buffer in = upload(b, halves, p->halves * sizeof *halves), acc = upload(b, init, p->floats * sizeof *init);
	gpucmd_buffer o;
	GC(b->c, gpucmd_buffer_create(b->c, (uint64_t)p->groups * p->out * 4, 0, &o));
	struct job j = {.kernel = p->kernel, .bind = {o, in, acc}, .n_bind = 3, .push = {p->iters}, .push_size = 4,
			.gx = p->groups};
	uint64_t ns[MAX_REPEATS];
	time_jobs(b, &j, 1, ns);
	float got;
	GC(b->c, gpucmd_buffer_read(b->c, o, 0, &got, 4));
	if (!isfinite(got) || got == 0.0f)
		die("%s wrote %g", p->kernel, got);
	report(b, p->kernel, "-", p->groups, 0, p->flops * p->groups * (double)p->iters, ns);
	gpucmd_buffer_free(b->c, o);
	gpucmd_buffer_free(b->c, in);
	gpucmd_buffer_free(b->c, acc);
	free(halves);
	free(init);
}

static void setup(struct bench *b, const char *sock, uint32_t n)
{
	if (!(b->c = gpucmd_connect(sock)))
		die("gpucmd_connect(%s) failed: %s", sock ? sock : "default socket", gpucmd_last_error(NULL));
	struct gpucmd_info info;
	GC(b->c, gpucmd_info(b->c, &info));
	snprintf(b->device, sizeof b->device, "%s", info.device_name);
	snprintf(b->driver, sizeof b->driver, "%s %s", info.driver_name, info.driver_info);
	b->max_groups = info.max_groups[0];
	GC(b->c, gpucmd_session_open(b->c, "bench-kernels", &b->s));
	GC(b->c, gpucmd_profile(b->c, b->s, true));
	b->n = n;
	b->hx = malloc((size_t)n * 4);
	b->hy = malloc((size_t)n * 4);
	float *w = malloc(4096 * 4);
	if (!b->hx || !b->hy || !w)
		die("out of memory");
	for (uint64_t i = 0; i < n; i++) {
		b->hx[i] = pattern_x(i);
		b->hy[i] = pattern_y(i);
	}
	for (uint32_t i = 0; i < 4096; i++)
		w[i] = pattern_y(i) - 2.5f;
	b->x = upload(b, b->hx, (uint64_t)n * 4);
	b->y = upload(b, b->hy, (uint64_t)n * 4);
	b->o = upload(b, NULL, (uint64_t)n * 4);
	b->w = upload(b, w, 4096 * 4);
	free(w);
}

static int finish(struct bench *b)
{
	gpucmd_session_close(b->c, b->s);
	gpucmd_disconnect(b->c);
	free(b->hx);
	free(b->hy);
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *fma = NULL, *l2 = NULL;
	bool quick = false;
	uint32_t mm[3] = {0, 0, 0};
	struct bench b = {.repeats = 6};
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--fma") && i + 1 < argc)
			fma = argv[++i];
		else if (!strcmp(argv[i], "--l2") && i + 1 < argc)
			l2 = argv[++i];
		else if (!strcmp(argv[i], "--compare") && i + 1 < argc && b.n_compare < 4)
			b.compare[b.n_compare++] = argv[++i];
		else if (!strcmp(argv[i], "--repeats") && i + 1 < argc)
			b.repeats = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--matmul") && i + 1 < argc &&
			 sscanf(argv[++i], "%u,%u,%u", &mm[0], &mm[1], &mm[2]) == 3 && mm[0] && mm[1] && mm[2])
			;
		else
			die("usage: bench-kernels [--quick] [--repeats R] [--fma PATH] [--l2 PATH] [--compare PATH]... [--matmul M,N,K] "
			    "[--socket PATH]");
	}
	if (b.repeats < 1 || b.repeats > MAX_REPEATS)
		die("--repeats must be 1..%d", MAX_REPEATS);
	/* quick: 1 M + 3 floats (no multiple of any vector or group), 1024 x 1024 + 3 rows */
	setup(&b, sock, quick || mm[0] ? (1u << 20) + 3 : 1u << 28);
	if (mm[0]) {
		if (mm[0] >= 4096 || mm[1] >= 4096 || mm[2] >= 4096)
			warm_up(&b);
		bench_matmul(&b, mm[0], mm[1], mm[2]);
		return finish(&b);
	}
	if (!quick)
		warm_up(&b);
	bench_elementwise(&b);
	bench_reductions(&b);
	if (quick)
		b.n = 1u << 20; /* rows of 4096 and a square */
	bench_rows(&b);
	if (fma)
		bench_fma(&b, fma, quick);
	if (l2)
		bench_l2(&b, l2, quick);
	for (size_t i = 0; i < sizeof peaks / sizeof peaks[0]; i++)
		bench_mma(&b, &peaks[i]);
	if (quick)
		bench_matmul(&b, 257, 255, 263);
	else
		bench_matmul(&b, 8192, 8192, 8192);
	return finish(&b);
}
