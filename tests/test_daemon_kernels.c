/*
 * test_daemon_kernels.c — the standard kernel library against CPU
 * references on random data, at sizes that are and are not multiples of the
 * workgroup size. Each kernel's tolerance is stated where it is checked:
 * exact where the GPU does one correctly rounded operation per element,
 * otherwise bounded by the operation count (sums) or the precision Vulkan
 * grants the builtin (exp, tanh, division). The whole set runs twice: with
 * push descriptors and with --no-push-descriptors (descriptor pools).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define MAX_BIND 4

/* Runs one dispatch of `kernel`: binding i gets in[i] (bytes[i] bytes; NULL
 * leaves it zero), then binding `out` is read back into result. */
static void run(gpucmd_client *c, const char *kernel, uint32_t n_bind, const void *const *in, const size_t *bytes,
		const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t out, void *result)
{
	struct gpucmd_kernel_info k;
	gpucmd_buffer b[MAX_BIND];
	struct gpucmd_binding bind[MAX_BIND];
	gpucmd_session s;
	must(c, gpucmd_kernel_find(c, kernel, &k), kernel);
	ck_assert_uint_eq(k.n_bindings, n_bind);
	ck_assert_uint_eq(k.push_size, push_size);
	for (uint32_t i = 0; i < n_bind; i++) {
		must(c, gpucmd_buffer_create(c, bytes[i], 0, &b[i]), "create");
		if (in[i])
			must(c, gpucmd_buffer_write(c, b[i], 0, in[i], bytes[i]), "write");
		bind[i] = (struct gpucmd_binding){b[i], 0, 0};
	}
	must(c, gpucmd_session_open(c, kernel, &s), "open");
	must(c, gpucmd_dispatch(c, s, k.id, bind, n_bind, push, push_size, gx, gy, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), kernel);
	must(c, gpucmd_buffer_read(c, b[out], 0, result, bytes[out]), "read");
	gpucmd_session_close(c, s);
	for (uint32_t i = 0; i < n_bind; i++)
		gpucmd_buffer_free(c, b[i]);
}

static float *floats(size_t n, unsigned seed, float scale)
{
	float *v = malloc((n ? n : 1) * sizeof(float));
	random_floats(v, n, seed);
	for (size_t i = 0; i < n; i++)
		v[i] *= scale;
	return v;
}

/* |got - want| <= abs + rel * |want|, element by element. */
static void expect_close(const char *what, const float *got, const double *want, size_t n, double abs_tol,
			 double rel_tol)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(fabs(got[i] - want[i]) <= abs_tol + rel_tol * fabs(want[i]),
			      "%s[%zu] = %.9g, expected %.9g (tolerance %g + %g relative)", what, i, got[i], want[i],
			      abs_tol, rel_tol);
}

static const uint32_t sizes[] = {1, 3, 255, 257, 1000003};
#define N_SIZES 5

static uint32_t groups_of(uint32_t n, uint32_t per)
{
	return (n + per - 1) / per;
}

/* Element-wise kernels take any group count: every other case dispatches a
 * group per 256 elements (one element an invocation), the others a group
 * per 4096 (four vec4s an invocation, through the grid-stride loop). */
static uint32_t elementwise_groups(uint32_t n, int i)
{
	return groups_of(n, i & 1 ? 256 : 4096);
}

/* add, sub, mul, div: one rounding each, so exact against float on the CPU;
 * division may be off by 2.5 ulp in Vulkan, so 1e-6 relative there. */
START_TEST(elementwise_binary_kernels_match_the_cpu)
{
	static const char *const names[] = {"add_f32", "sub_f32", "mul_f32", "div_f32"};
	uint32_t n = sizes[_i % N_SIZES];
	const char *name = names[_i / N_SIZES];
	float *a = floats(n, 11 + _i, 1), *b = floats(n, 12 + _i, 1), *out = malloc(n * 4);
	double *want = malloc(n * sizeof(double));
	for (uint32_t i = 0; i < n; i++) {
		if (b[i] == 0)
			b[i] = 0.5f;
		float r = name[0] == 'a' ? a[i] + b[i] : name[0] == 's' ? a[i] - b[i] : name[0] == 'm' ? a[i] * b[i] : a[i] / b[i];
		want[i] = r;
	}
	gpucmd_client *c = connect_ok();
	const void *in[3] = {a, b, NULL};
	size_t bytes[3] = {n * 4, n * 4, n * 4};
	run(c, name, 3, in, bytes, &n, 4, elementwise_groups(n, _i), 1, 2, out);
	expect_close(name, out, want, n, 0, name[0] == 'd' ? 1e-6 : 0);
	gpucmd_disconnect(c);
	free(a);
	free(b);
	free(out);
	free(want);
}
END_TEST

/* copy and scale are exact; axpy is one fma (or a multiply and an add:
 * 1e-6 relative of the larger term covers both). */
START_TEST(copy_scale_axpy_match_the_cpu)
{
	uint32_t n = sizes[_i % N_SIZES];
	int which = _i / N_SIZES;
	float *x = floats(n, 21 + _i, 1), *y = floats(n, 22 + _i, 1), *out = malloc(n * 4);
	double *want = malloc(n * sizeof(double));
	struct { uint32_t n; float alpha; } p = {n, which == 2 ? 0.75f : -1.5f};
	gpucmd_client *c = connect_ok();
	size_t bytes[2] = {n * 4, n * 4};
	if (which == 0) {
		const void *in[2] = {x, NULL};
		run(c, "copy_f32", 2, in, bytes, &n, 4, elementwise_groups(n, _i), 1, 1, out);
		for (uint32_t i = 0; i < n; i++)
			want[i] = x[i];
		expect_close("copy_f32", out, want, n, 0, 0);
	} else if (which == 1) {
		const void *in[2] = {x, NULL};
		run(c, "scale_f32", 2, in, bytes, &p, 8, elementwise_groups(n, _i), 1, 1, out);
		for (uint32_t i = 0; i < n; i++)
			want[i] = p.alpha * x[i];
		expect_close("scale_f32", out, want, n, 0, 0);
	} else {
		const void *in[2] = {x, y};
		run(c, "axpy_f32", 2, in, bytes, &p, 8, elementwise_groups(n, _i), 1, 1, out);
		for (uint32_t i = 0; i < n; i++)
			want[i] = (double)p.alpha * x[i] + y[i];
		expect_close("axpy_f32", out, want, n, 1e-4, 1e-6);
	}
	gpucmd_disconnect(c);
	free(x);
	free(y);
	free(out);
	free(want);
}
END_TEST

/* gelu (tanh form) and silu against double: exp and tanh carry a few ulp
 * on the GPU, so 1e-5 absolute plus 1e-5 relative. */
START_TEST(gelu_and_silu_match_the_cpu)
{
	uint32_t n = sizes[_i % N_SIZES];
	bool gelu = _i < N_SIZES;
	float *x = floats(n, 31 + _i, 1.0f / 16), *out = malloc(n * 4);
	double *want = malloc(n * sizeof(double));
	for (uint32_t i = 0; i < n; i++) {
		double v = x[i];
		want[i] = gelu ? 0.5 * v * (1 + tanh(0.7978845608 * (v + 0.044715 * v * v * v))) : v / (1 + exp(-v));
	}
	gpucmd_client *c = connect_ok();
	const void *in[2] = {x, NULL};
	size_t bytes[2] = {n * 4, n * 4};
	run(c, gelu ? "gelu_f32" : "silu_f32", 2, in, bytes, &n, 4, elementwise_groups(n, _i), 1, 1, out);
	expect_close(gelu ? "gelu_f32" : "silu_f32", out, want, n, 1e-5, 1e-5);
	gpucmd_disconnect(c);
	free(x);
	free(out);
	free(want);
}
END_TEST

/* reduce_sum and reduce_max over any length: passes in one command buffer,
 * ping-ponging two buffers until one value is left. max is exact; a sum's
 * error grows with log2(n) additions: 1e-6 * log2(n) of the sum of |x|. */
static const uint32_t reduce_sizes[] = {1, 3, 511, 512, 513, 1000003, 1u << 20};
#define N_REDUCE 7

START_TEST(reductions_of_any_length_match_the_cpu)
{
	uint32_t n = reduce_sizes[_i % N_REDUCE];
	bool sum = _i < N_REDUCE;
	/* Any group count works: a group per 512 elements or per 4096 (a
	 * grid-stride loop of vec4s), alternately. */
	uint32_t per = _i & 1 ? 512 : 4096;
	const char *name = sum ? "reduce_sum_f32" : "reduce_max_f32";
	float *x = floats(n, 41 + _i, 1);
	double want = sum ? 0 : -INFINITY, abs_sum = 0;
	for (uint32_t i = 0; i < n; i++) {
		want = sum ? want + x[i] : fmax(want, x[i]);
		abs_sum += fabs(x[i]);
	}
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info k;
	gpucmd_buffer b[2];
	gpucmd_session s;
	must(c, gpucmd_kernel_find(c, name, &k), name);
	must(c, gpucmd_buffer_create(c, n * 4, 0, &b[0]), "create");
	must(c, gpucmd_buffer_create(c, groups_of(n, 512) * 4, 0, &b[1]), "create");
	must(c, gpucmd_buffer_write(c, b[0], 0, x, n * 4), "write");
	must(c, gpucmd_session_open(c, name, &s), "open");
	uint32_t left = n, src = 0, passes = 0;
	do {
		struct gpucmd_binding bind[2] = {{b[src], 0, 0}, {b[!src], 0, 0}};
		must(c, gpucmd_dispatch(c, s, k.id, bind, 2, &left, 4, groups_of(left, per), 1, 1), "dispatch");
		left = groups_of(left, per);
		src = !src;
		passes++;
	} while (left > 1);
	must(c, gpucmd_commit_and_wait(c, s), name);
	float got;
	must(c, gpucmd_buffer_read(c, b[src], 0, &got, 4), "read");
	double tol = sum ? 1e-6 * (log2(n) + 1) * abs_sum : 0;
	ck_assert_msg(fabs(got - want) <= tol, "%s of %u floats (%u passes) = %.9g, expected %.9g (tolerance %g)", name,
		      n, passes, got, want, tol);
	gpucmd_disconnect(c);
	free(x);
}
END_TEST

/* Rows of up to 8192 floats whose length is a multiple of 4 are held in
 * registers (3 x 1000, 64 x 4096, 5 x 8192); the others are not. */
static const uint32_t shapes[][2] = {{1, 1}, {3, 1000}, {17, 257}, {64, 4096}, {5, 8192}, {2, 8196}};
#define N_ROW_SHAPES (sizeof shapes / sizeof shapes[0])

/* Row kernels loop over rows: odd cases dispatch a group per row, even
 * ones a group per two rows. */
static uint32_t row_groups(uint32_t rows, int i)
{
	return i & 1 ? rows : groups_of(rows, 2);
}

/* softmax and rms_norm over rows, against double: 1e-6 absolute plus 1e-4
 * relative (exp, a 256-way sum and a reciprocal square root per row). */
START_TEST(row_kernels_match_the_cpu)
{
	uint32_t rows = shapes[_i % N_ROW_SHAPES][0], cols = shapes[_i % N_ROW_SHAPES][1], n = rows * cols;
	bool softmax = _i < (int)N_ROW_SHAPES;
	float *x = floats(n, 51 + _i, 1.0f / 16), *w = floats(cols, 52 + _i, 1.0f / 64), *out = malloc(n * 4);
	double *want = malloc(n * sizeof(double));
	for (uint32_t r = 0; r < rows; r++) {
		const float *row = x + (size_t)r * cols;
		double m = -INFINITY, acc = 0;
		for (uint32_t j = 0; j < cols; j++)
			m = fmax(m, row[j]);
		for (uint32_t j = 0; j < cols; j++)
			acc += softmax ? exp(row[j] - m) : (double)row[j] * row[j];
		for (uint32_t j = 0; j < cols; j++)
			want[(size_t)r * cols + j] = softmax ? exp(row[j] - m) / acc : row[j] / sqrt(acc / cols + 1e-5) * w[j];
	}
	gpucmd_client *c = connect_ok();
	if (softmax) {
		uint32_t p[2] = {rows, cols};
		const void *in[2] = {x, NULL};
		size_t bytes[2] = {n * 4, n * 4};
		run(c, "softmax_f32", 2, in, bytes, p, 8, row_groups(rows, _i), 1, 1, out);
	} else {
		struct { uint32_t rows, cols; float eps; } p = {rows, cols, 1e-5f};
		const void *in[3] = {x, w, NULL};
		size_t bytes[3] = {n * 4, cols * 4, n * 4};
		run(c, "rms_norm_f32", 3, in, bytes, &p, 12, row_groups(rows, _i), 1, 2, out);
	}
	expect_close(softmax ? "softmax_f32" : "rms_norm_f32", out, want, n, 1e-6, 1e-4);
	gpucmd_disconnect(c);
	free(x);
	free(w);
	free(out);
	free(want);
}
END_TEST

static const uint32_t tshapes[][2] = {{1, 1}, {17, 33}, {300, 100}};

START_TEST(transpose_is_exact)
{
	uint32_t rows = tshapes[_i][0], cols = tshapes[_i][1], n = rows * cols;
	float *x = floats(n, 61 + _i, 1), *out = malloc(n * 4);
	double *want = malloc(n * sizeof(double));
	for (uint32_t r = 0; r < rows; r++)
		for (uint32_t j = 0; j < cols; j++)
			want[(size_t)j * rows + r] = x[(size_t)r * cols + j];
	gpucmd_client *c = connect_ok();
	uint32_t p[2] = {rows, cols};
	const void *in[2] = {x, NULL};
	size_t bytes[2] = {n * 4, n * 4};
	run(c, "transpose_f32", 2, in, bytes, p, 8, groups_of(cols, 16), groups_of(rows, 16), 1, out);
	expect_close("transpose_f32", out, want, n, 0, 0);
	gpucmd_disconnect(c);
	free(x);
	free(out);
	free(want);
}
END_TEST

/* IEEE half to float, exactly. */
static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023;
	float v = exp == 0 ? ldexpf((float)man, -24) : ldexpf((float)(man | 1024), (int)exp - 25);
	return sign ? -v : v;
}

/* m, n, k: tiny, non-multiples of every tile and vector width, rows of
 * multiples of 4 (the vector loads) over more than one 128 x 128 tile, and
 * tiles wholly inside beside edge tiles with k a multiple of 8 (the tiled
 * kernel's unchecked path, matmul_tiled.glsl). */
static const uint32_t mshapes[][3] = {{1, 1, 1}, {17, 33, 9}, {64, 48, 100}, {100, 3, 257}, {130, 131, 67},
				      {256, 132, 36}, {256, 260, 72}};
#define N_MSHAPES 7

static float bf16_to_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float v;
	memcpy(&v, &u, 4);
	return v;
}

/* Random 16-bit floats between 1/8 and 4 in magnitude, either sign:
 * halves (bf16 false) or bfloat16s. */
static uint16_t random_16bit(unsigned *seed, bool bf16)
{
	*seed = *seed * 1103515245u + 12345u;
	uint32_t sign = (*seed >> 16) & 0x8000, e = (*seed >> 8) % 5;
	return (uint16_t)(bf16 ? sign | ((124 + e) << 7) | ((*seed >> 3) & 127)
			       : sign | ((12 + e) << 10) | ((*seed >> 3) & 1023));
}

static const char *const matmul_names[] = {"matmul_f32", "matmul_f16", "matmul_bf16"};

/* matmul f32, and f16 or bf16 in with f32 accumulation, against double:
 * the error of a k-term dot product, 1e-6 * k of the sum of |a||b|, plus
 * 1e-6. */
START_TEST(matmul_matches_the_cpu)
{
	uint32_t m = mshapes[_i % N_MSHAPES][0], n = mshapes[_i % N_MSHAPES][1], k = mshapes[_i % N_MSHAPES][2];
	int kind = _i / N_MSHAPES;
	bool f16 = kind > 0;
	const char *name = matmul_names[kind];
	float *a = floats((size_t)m * k, 71 + _i, 1.0f / 64), *b = floats((size_t)k * n, 72 + _i, 1.0f / 64);
	uint16_t *ha = NULL, *hb = NULL;
	if (f16) {
		ha = calloc((size_t)m * k + 2, 2);
		hb = calloc((size_t)k * n + 2, 2);
		unsigned seed = 99 + _i;
		for (size_t i = 0; i < (size_t)m * k + (size_t)k * n; i++) {
			uint16_t h = random_16bit(&seed, kind == 2);
			float v = kind == 2 ? bf16_to_float(h) : half_to_float(h);
			if (i < (size_t)m * k)
				ha[i] = h, a[i] = v;
			else
				hb[i - (size_t)m * k] = h, b[i - (size_t)m * k] = v;
		}
	}
	float *out = malloc((size_t)m * n * 4);
	double *want = malloc((size_t)m * n * sizeof(double));
	double worst = 0;
	for (uint32_t i = 0; i < m; i++)
		for (uint32_t j = 0; j < n; j++) {
			double acc = 0, mag = 0;
			for (uint32_t t = 0; t < k; t++) {
				acc += (double)a[(size_t)i * k + t] * b[(size_t)t * n + j];
				mag += fabs((double)a[(size_t)i * k + t] * b[(size_t)t * n + j]);
			}
			want[(size_t)i * n + j] = acc;
			worst = fmax(worst, mag);
		}
	gpucmd_client *c = connect_ok();
	uint32_t p[3] = {m, n, k};
	/* 16-bit buffers are rounded up to whole 32-bit words. */
	const void *in[3] = {f16 ? (const void *)ha : a, f16 ? (const void *)hb : b, NULL};
	size_t bytes[3] = {f16 ? ((size_t)m * k * 2 + 3) & ~(size_t)3 : (size_t)m * k * 4,
			   f16 ? ((size_t)k * n * 2 + 3) & ~(size_t)3 : (size_t)k * n * 4, (size_t)m * n * 4};
	run(c, name, 3, in, bytes, p, 12, groups_of(n, 128), groups_of(m, 128), 2, out);
	expect_close(name, out, want, (size_t)m * n, 1e-6 * k * worst + 1e-6, 0);
	gpucmd_disconnect(c);
	free(a);
	free(b);
	free(ha);
	free(hb);
	free(out);
	free(want);
}
END_TEST

/* Hundreds of dispatches in one command buffer, over several stages: more
 * descriptor sets than one pool holds, and pools reused after retirement. */
START_TEST(long_command_buffers_bind_every_dispatch)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info axpy;
	gpucmd_buffer x, y;
	gpucmd_session s;
	must(c, gpucmd_kernel_find(c, "axpy_f32", &axpy), "find");
	float ones[300];
	for (int i = 0; i < 300; i++)
		ones[i] = 1;
	must(c, gpucmd_buffer_create(c, sizeof(ones), 0, &x), "create");
	must(c, gpucmd_buffer_create(c, sizeof(ones), 0, &y), "create");
	must(c, gpucmd_buffer_write(c, x, 0, ones, sizeof(ones)), "write");
	must(c, gpucmd_session_open(c, "long", &s), "open");
	struct gpucmd_binding bind[2] = {{x, 0, 0}, {y, 0, 0}};
	struct { uint32_t n; float alpha; } p = {300, 1.0f};
	for (int stage = 0; stage < 3; stage++) {
		for (int i = 0; i < 300; i++)
			must(c, gpucmd_dispatch(c, s, axpy.id, bind, 2, &p, 8, 2, 1, 1), "dispatch");
		must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
		must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	}
	float got[300];
	must(c, gpucmd_buffer_read(c, y, 0, got, sizeof(got)), "read");
	for (int i = 0; i < 300; i++)
		ck_assert_msg(got[i] == 900.0f, "y[%d] = %g after 900 axpy of ones", i, got[i]);
	gpucmd_disconnect(c);
}
END_TEST

/* The daemon records descriptors and push constants only when they differ
 * from what the previous dispatch of the command buffer left bound: in one
 * stage, a fill repeated with a new value, a kernel with other push
 * constants over the same buffers, another kernel (another layout) over
 * the same buffers and back, and a graph replay (which leaves the state
 * undefined) in the middle must all compute what they say. */
START_TEST(state_bound_once_is_still_right)
{
	enum { N = 512 };
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info fill, add, mul;
	must(c, gpucmd_kernel_find(c, "fill_f32", &fill), "find");
	must(c, gpucmd_kernel_find(c, "add_f32", &add), "find");
	must(c, gpucmd_kernel_find(c, "mul_f32", &mul), "find");
	gpucmd_buffer a, b, o, keep;
	gpucmd_session s;
	gpucmd_graph g;
	must(c, gpucmd_buffer_create(c, N * 4, 0, &keep), "create");
	must(c, gpucmd_buffer_create(c, N * 4, 0, &a), "create");
	must(c, gpucmd_buffer_create(c, N * 4, 0, &b), "create");
	must(c, gpucmd_buffer_create(c, N * 4, 0, &o), "create");
	must(c, gpucmd_session_open(c, "elide", &s), "open");
	struct gpucmd_binding fa = {a, 0, 0}, fb = {b, 0, 0}, ab[3] = {{a, 0, 0}, {b, 0, 0}, {o, 0, 0}};
	struct { uint32_t n; float v; } fp = {N, 5.0f};
	must(c, gpucmd_capture_begin(c, s), "capture");
	must(c, gpucmd_dispatch(c, s, fill.id, &fb, 1, &fp, 8, N / 256, 1, 1), "fill b in the graph");
	must(c, gpucmd_capture_end(c, s, &g, NULL), "capture_end");
	fp.v = 1.0f;
	must(c, gpucmd_dispatch(c, s, fill.id, &fa, 1, &fp, 8, N / 256, 1, 1), "fill a = 1");
	fp.v = 3.0f;
	must(c, gpucmd_dispatch(c, s, fill.id, &fa, 1, &fp, 8, N / 256, 1, 1), "fill a = 3 (new push only)");
	must(c, gpucmd_buffer_copy(c, s, a, 0, keep, 0, N * 4), "keep = a");
	must(c, gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), "replay: b = 5");
	fp.v = 3.0f;
	must(c, gpucmd_dispatch(c, s, fill.id, &fa, 1, &fp, 8, N / 256, 1, 1), "fill a = 3 after the replay");
	uint32_t n = N, half = N / 2;
	must(c, gpucmd_dispatch(c, s, add.id, ab, 3, &n, 4, N / 256, 1, 1), "o = a + b = 8");
	must(c, gpucmd_dispatch(c, s, mul.id, ab, 3, &n, 4, N / 256, 1, 1), "o = a * b = 15 (other layout)");
	must(c, gpucmd_dispatch(c, s, add.id, ab, 3, &half, 4, N / 256, 1, 1), "o[:N/2] = a + b = 8 (back)");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	float got[N];
	must(c, gpucmd_buffer_read(c, keep, 0, got, sizeof(got)), "read");
	for (int i = 0; i < N; i++)
		ck_assert_msg(got[i] == 3.0f, "a[%d] = %g after fills of 1 then 3", i, got[i]);
	must(c, gpucmd_buffer_read(c, o, 0, got, sizeof(got)), "read");
	for (int i = 0; i < N; i++)
		ck_assert_msg(got[i] == (i < N / 2 ? 8.0f : 15.0f), "o[%d] = %g", i, got[i]);
	gpucmd_disconnect(c);
}
END_TEST

/* The daemon builds matmul_f16's cooperative-matrix variants only where the
 * device offers VK_NV_cooperative_matrix2 or VK_NV_cooperative_matrix;
 * lavapipe offers neither, so the tiled one runs (and the test above
 * checked it), and `gpucmd kernels` says so. Kernels without variants show
 * none. */
START_TEST(matmul_variants_fit_the_device)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_find(c, "matmul_f16", &k), "find");
	ck_assert_str_eq(k.variant, "tiled");
	must(c, gpucmd_kernel_find(c, "matmul_bf16", &k), "find");
	ck_assert_str_eq(k.variant, "tiled");
	must(c, gpucmd_kernel_find(c, "matmul_f32", &k), "find");
	ck_assert_str_eq(k.variant, "");
	gpucmd_disconnect(c);
	ck_assert(daemon_log_contains(
		"kernel matmul_f16: variant coopmat2_nv not used (no VK_NV_cooperative_matrix2 with workgroup scope"));
	ck_assert(daemon_log_contains("kernel matmul_f16: variant coopmat_nv not used (no VK_NV_cooperative_matrix)"));
	ck_assert(daemon_log_contains(
		"kernel matmul_bf16: variant coopmat2_nv not used (no VK_NV_cooperative_matrix2 with workgroup scope"));
}
END_TEST

START_TEST(pool_path_is_the_one_in_use)
{
	ck_assert(daemon_log_contains("descriptor pools"));
}
END_TEST

static void daemon_setup_pools(void)
{
	static const char *const args[] = {"--no-push-descriptors", NULL};
	daemon_start(args);
}

/* Every kernel at every size; with `every_kernel` false, one kernel of
 * each family at every size: the descriptor-pool path binds buffers
 * differently, the kernels' arithmetic is the same. */
static TCase *library_tcase(const char *name, void (*setup)(void), bool every_kernel)
{
	const int kinds = every_kernel ? 1 : 0;
	TCase *t = tcase_create(name);
	tcase_add_checked_fixture(t, setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, elementwise_binary_kernels_match_the_cpu, 0, (1 + 3 * kinds) * N_SIZES);
	tcase_add_loop_test(t, copy_scale_axpy_match_the_cpu, 0, (1 + 2 * kinds) * N_SIZES);
	tcase_add_loop_test(t, gelu_and_silu_match_the_cpu, 0, (1 + kinds) * N_SIZES);
	tcase_add_loop_test(t, reductions_of_any_length_match_the_cpu, 0, (1 + kinds) * N_REDUCE);
	tcase_add_loop_test(t, row_kernels_match_the_cpu, 0, 2 * N_ROW_SHAPES);
	tcase_add_loop_test(t, transpose_is_exact, 0, 3);
	tcase_add_loop_test(t, matmul_matches_the_cpu, 0, (1 + 2 * kinds) * N_MSHAPES);
	tcase_add_test(t, long_command_buffers_bind_every_dispatch);
	tcase_add_test(t, state_bound_once_is_still_right);
	tcase_add_test(t, matmul_variants_fit_the_device);
	return t;
}

TCase *kernels_tcase(void)
{
	return library_tcase("kernels", daemon_setup, true);
}

TCase *kernels_pool_tcase(void)
{
	TCase *t = library_tcase("kernels_descriptor_pools", daemon_setup_pools, false);
	tcase_add_test(t, pool_path_is_the_one_in_use);
	return t;
}
