/*
 * test_daemon_kernel_features.c — kernels written the way real projects
 * write them (tests/spirv/): specialization constants passed at
 * registration, bindings with gaps, aliases, uniform buffers and arrays of
 * buffers bound by number, a required subgroup size, types beyond 32 bits
 * and float controls. Each runs through the daemon against a CPU
 * reference; hostile variants come back as errors naming the problem and
 * the kernel, and leave nothing behind.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static gpucmd_buffer buffer_with(gpucmd_client *c, const void *data, uint64_t size)
{
	gpucmd_buffer b;
	must(c, gpucmd_buffer_create(c, size, 0, &b), "buffer_create");
	if (data)
		must(c, gpucmd_buffer_write(c, b, 0, data, size), "buffer_write");
	return b;
}

static struct gpucmd_spec_constant u32c(uint32_t id, uint32_t v)
{
	return (struct gpucmd_spec_constant){.id = id, .type = GPUCMD_SPEC_UINT32, .value.u32 = v};
}

/* spec_block over n floats; checks y = (neg ? -1 : 1) * scale * x + block. */
static void run_spec_block(gpucmd_client *c, const struct gpucmd_kernel_info *k, uint32_t n, float scale, bool neg,
			   uint32_t block)
{
	float *x = malloc(n * 4), *y = malloc(n * 4);
	random_floats(x, n, 7);
	gpucmd_buffer bx = buffer_with(c, x, n * 4), by = buffer_with(c, NULL, n * 4);
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "spec", &s), "open");
	struct gpucmd_binding bind[2] = {{bx, 0, 0}, {by, 0, 0}};
	uint32_t local = k->local_size[0];
	must(c, gpucmd_dispatch(c, s, k->id, bind, 2, &n, 4, (n + local - 1) / local, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, by, 0, y, n * 4), "read");
	for (uint32_t i = 0; i < n; i++) {
		float want = (neg ? -1.0f : 1.0f) * scale * x[i] + (float)block;
		ck_assert_msg(y[i] == want, "%s[%u] = %g, expected %g", k->name, i, y[i], want);
	}
	gpucmd_session_close(c, s);
	gpucmd_buffer_free(c, bx);
	gpucmd_buffer_free(c, by);
	free(x);
	free(y);
}

START_TEST(spec_constants_set_workgroup_shared_memory_and_values)
{
	gpucmd_client *c = connect_ok(), *other = connect_ok();
	size_t len, len11;
	uint8_t *spv = read_spv("spec_block", &len), *spv11 = read_spv("spec_block_vk11", &len11);
	struct gpucmd_kernel_info def, k64, k128, again;
	/* No values: the module's defaults (BLOCK 32, SCALE 1, NEG false), and
	 * as in Vulkan the workgroup's own default, local_size_x 1. */
	must(c, gpucmd_kernel_register(c, "spec_default", spv, len, &def), "register defaults");
	ck_assert_uint_eq(def.local_size[0], 1);
	run_spec_block(c, &def, 1000, 1.0f, false, 32);
	/* Values for some constants, the rest keep their defaults. */
	struct gpucmd_spec_constant v[3] = {
		u32c(0, 64),
		{.id = 1, .type = GPUCMD_SPEC_FLOAT32, .value.f32 = 2.5f},
		{.id = 2, .type = GPUCMD_SPEC_BOOL, .value.b = true},
	};
	struct gpucmd_kernel_options o = {.constants = v, .n_constants = 3};
	must(c, gpucmd_kernel_register_with(c, "spec64", spv, len, &o, &k64), "register 64");
	ck_assert_uint_eq(k64.local_size[0], 64);
	ck_assert_uint_ne(k64.id, def.id);
	run_spec_block(c, &k64, 1000, 2.5f, true, 64);
	run_spec_block(c, &k64, 1, 2.5f, true, 64);
	/* The same module and values from another client: the same pipeline. */
	struct gpucmd_spec_constant swapped[3] = {v[2], v[0], v[1]};
	o.constants = swapped;
	must(other, gpucmd_kernel_register_with(other, "mine", spv, len, &o, &again), "register shared");
	ck_assert_uint_eq(again.local_size[0], 64);
	run_spec_block(other, &again, 333, 2.5f, true, 64);
	/* Built for Vulkan 1.1: the WorkgroupSize built-in, set by constant 0. */
	struct gpucmd_spec_constant b128 = u32c(0, 128);
	struct gpucmd_kernel_options o128 = {.constants = &b128, .n_constants = 1};
	must(c, gpucmd_kernel_register_with(c, "spec128", spv11, len11, &o128, &k128), "register vk11");
	ck_assert_uint_eq(k128.local_size[0], 128);
	run_spec_block(c, &k128, 1000, 1.0f, false, 128);
	/* What `gpucmd kernels` lists is the size after specialization. */
	struct gpucmd_kernel_info *list;
	size_t n;
	must(c, gpucmd_kernel_list(c, &list, &n), "list");
	ck_assert_str_eq(list[n - 1].name, "spec128");
	ck_assert_uint_eq(list[n - 1].local_size[0], 128);
	ck_assert_uint_eq(list[n - 2].local_size[0], 64);
	free(list);
	free(spv);
	free(spv11);
	gpucmd_disconnect(other);
	gpucmd_disconnect(c);
}
END_TEST

/* Values a client may get wrong: the code and words that must come back. */
static const struct {
	const char *what;
	struct gpucmd_spec_constant v[2];
	uint32_t n, subgroup;
	int code;
	const char *needle;
} bad_values[] = {
	{"float-for-uint", {{.id = 0, .type = GPUCMD_SPEC_FLOAT32, .value.f32 = 64}}, 1, 0, -EINVAL,
	 "constant_id 0 is a 32-bit integer in the module, given as float32"},
	{"uint64-for-uint", {{.id = 0, .type = GPUCMD_SPEC_UINT64, .value.u64 = 64}}, 1, 0, -EINVAL,
	 "constant_id 0 is a 32-bit integer in the module, given as uint64"},
	{"int-for-bool", {{.id = 2, .type = GPUCMD_SPEC_INT32, .value.i32 = 1}}, 1, 0, -EINVAL,
	 "constant_id 2 is a bool in the module, given as int32"},
	{"bool-for-uint", {{.id = 0, .type = GPUCMD_SPEC_BOOL, .value.b = true}}, 1, 0, -EINVAL,
	 "constant_id 0 is a 32-bit integer in the module, given as bool"},
	{"missing-id", {{.id = 9, .type = GPUCMD_SPEC_UINT32, .value.u32 = 1}}, 1, 0, -EINVAL,
	 "constant_id 9: the module declares no such specialization constant (its constant_ids: 0, 1, 2)"},
	{"twice", {{.id = 1, .type = GPUCMD_SPEC_FLOAT32}, {.id = 1, .type = GPUCMD_SPEC_FLOAT32}}, 2, 0, -EINVAL,
	 "constant_id 1 is given twice"},
	{"unknown-type", {{.id = 0, .type = (enum gpucmd_spec_type)99}}, 1, 0, -EINVAL, "unknown value type 99"},
	{"workgroup-over-limit", {{.id = 0, .type = GPUCMD_SPEC_UINT32, .value.u32 = 1u << 20}}, 1, 0, -E2BIG,
	 "workgroup size x = 1048576 exceeds maxComputeWorkGroupSize"},
	{"largest-workgroup", {{.id = 0, .type = GPUCMD_SPEC_UINT32, .value.u32 = 1024}}, 1, 0, 0, NULL},
	{"subgroup-size", {{0}}, 0, 3, -EINVAL, "required subgroup size 3: this device runs powers of two from"},
};

START_TEST(hostile_values_are_refused_and_change_nothing)
{
	int base = daemon_base_fds();
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("spec_block", &len);
	struct gpucmd_kernel_options o = {.constants = bad_values[_i].v, .n_constants = bad_values[_i].n,
					  .required_subgroup_size = bad_values[_i].subgroup};
	struct gpucmd_kernel_info k;
	int r = gpucmd_kernel_register_with(c, "victim", spv, len, &o, &k);
	if (bad_values[_i].needle) {
		ck_assert_msg(r == bad_values[_i].code, "%s: %d (%s)", bad_values[_i].what, r, gpucmd_last_error(c));
		ck_assert_msg(strstr(gpucmd_last_error(c), bad_values[_i].needle), "%s: '%s' lacks '%s'",
			      bad_values[_i].what, gpucmd_last_error(c), bad_values[_i].needle);
		ck_assert_msg(strstr(gpucmd_last_error(c), "'victim'"), "'%s' does not name the kernel", gpucmd_last_error(c));
	} else {
		/* 1024 invocations and 8 KiB of shared memory: within lavapipe's limits. */
		must(c, r, "register within limits");
		ck_assert_uint_eq(k.local_size[0], 1024);
		run_spec_block(c, &k, 3000, 1.0f, false, 1024);
		must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
	}
	/* Nothing was taken: the name is free and the module registers. */
	must(c, gpucmd_kernel_register(c, "victim", spv, len, &k), "register after the refusal");
	run_spec_block(c, &k, 100, 1.0f, false, 32);
	must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
	free(spv);
	gpucmd_disconnect(c);
	expect_baseline(base);
}
END_TEST

/* spec_divide with ROWS and SPLIT over n ints: y = x + per (ROWS / SPLIT). */
static void run_spec_divide(gpucmd_client *c, const struct gpucmd_kernel_info *k, uint32_t n, int32_t per)
{
	int32_t *x = malloc(n * 4), *y = malloc(n * 4);
	for (uint32_t i = 0; i < n; i++)
		x[i] = (int32_t)i * 3 - 50;
	gpucmd_buffer bx = buffer_with(c, x, n * 4), by = buffer_with(c, NULL, n * 4);
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "divide", &s), "open");
	struct gpucmd_binding bind[2] = {{bx, 0, 0}, {by, 0, 0}};
	must(c, gpucmd_dispatch(c, s, k->id, bind, 2, &n, 4, (n + 63) / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, by, 0, y, n * 4), "read");
	for (uint32_t i = 0; i < n; i++) {
		int32_t want = (int32_t)((uint32_t)x[i] + (uint32_t)per); /* the GPU's addition wraps */
		ck_assert_msg(y[i] == want, "y[%u] = %d, expected %d", i, y[i], want);
	}
	gpucmd_session_close(c, s);
	gpucmd_buffer_free(c, bx);
	gpucmd_buffer_free(c, by);
	free(x);
	free(y);
}

static struct gpucmd_spec_constant i32c(uint32_t id, int32_t v)
{
	return (struct gpucmd_spec_constant){.id = id, .type = GPUCMD_SPEC_INT32, .value.i32 = v};
}

/* A constant that is a signed division of two others folds at registration
 * for every pair but INT_MIN / -1, which trapped the folding and ended the
 * daemon; it is refused, naming the operation, and nothing changes. */
START_TEST(signed_division_of_constants_folds_and_int_min_by_minus_one_is_refused)
{
	int base = daemon_base_fds();
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("spec_divide", &len);
	static const struct { int32_t rows, split; } ok[] = {{64, 4}, {7, -1}, {INT32_MIN, 2}, {INT32_MIN, 1}};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct gpucmd_spec_constant v[2] = {i32c(0, ok[i].rows), i32c(1, ok[i].split)};
		struct gpucmd_kernel_options o = {.constants = v, .n_constants = 2};
		struct gpucmd_kernel_info k;
		must(c, gpucmd_kernel_register_with(c, "divide", spv, len, &o, &k), "register");
		run_spec_divide(c, &k, 200, ok[i].rows / ok[i].split);
		must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
	}
	struct gpucmd_spec_constant v[2] = {i32c(0, INT32_MIN), i32c(1, -1)};
	struct gpucmd_kernel_options o = {.constants = v, .n_constants = 2};
	struct gpucmd_kernel_info k;
	int r = gpucmd_kernel_register_with(c, "divide", spv, len, &o, &k);
	ck_assert_msg(r == -EINVAL, "INT_MIN / -1: %d (%s)", r, gpucmd_last_error(c));
	ck_assert_msg(strstr(gpucmd_last_error(c), "OpSpecConstantOp SDiv whose divisor may be -1 and dividend INT_MIN") &&
		      strstr(gpucmd_last_error(c), "'divide'"), "'%s'", gpucmd_last_error(c));
	must(c, gpucmd_ping(c), "ping after the refusal");
	must(c, gpucmd_kernel_register(c, "divide", spv, len, &k), "register with its defaults");
	run_spec_divide(c, &k, 100, 16);
	must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
	free(spv);
	gpucmd_disconnect(c);
	expect_baseline(base);
}
END_TEST

/* A specialization constant without a SpecId keeps its value whatever id a
 * client names: constant_id 4294967295 once set it (its id + 1 wrapped to
 * the 0 that stood for "no SpecId"). */
START_TEST(a_constant_without_spec_id_is_set_by_no_id)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("spec_undecorated", &len);
	struct gpucmd_spec_constant v = i32c(UINT32_MAX, 2);
	struct gpucmd_kernel_options o = {.constants = &v, .n_constants = 1};
	struct gpucmd_kernel_info k;
	int r = gpucmd_kernel_register_with(c, "undecorated", spv, len, &o, &k);
	ck_assert_msg(r == -EINVAL && strstr(gpucmd_last_error(c), "constant_id 4294967295: the module declares no such "
					      "specialization constant (its constant_ids: 0)"), "%d '%s'", r,
		      gpucmd_last_error(c));
	v = i32c(0, 8);
	must(c, gpucmd_kernel_register_with(c, "undecorated", spv, len, &o, &k), "register with ROWS 8");
	run_spec_divide(c, &k, 100, 2);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* Well-typed constant expressions of every kind gpucmd folds pass the
 * check that refuses ill-typed ones (spec_shuffle_scalars, among the
 * hostile modules), and the kernel still computes with its values. */
START_TEST(well_typed_constant_expressions_are_folded)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("spec_expressions", &len);
	struct gpucmd_spec_constant v[2] = {i32c(0, 8), i32c(1, 2)};
	struct gpucmd_kernel_options o = {.constants = v, .n_constants = 2};
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register_with(c, "expressions", spv, len, &o, &k), "register");
	run_spec_divide(c, &k, 100, 4);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* layout.comp's reference: y = scale * 2a + p0 - p1 + bias. */
static void check_layout(gpucmd_client *c, gpucmd_buffer by, const float *a, const float *p0, const float *p1,
			 uint32_t n, float scale, float bias)
{
	float *y = malloc(n * 4);
	must(c, gpucmd_buffer_read(c, by, 0, y, n * 4), "read");
	for (uint32_t i = 0; i < n; i++) {
		float want = scale * (a[i] + a[i]) + p0[i] - p1[i] + bias;
		ck_assert_msg(y[i] == want, "layout[%u] = %g, expected %g (a %g p0 %g p1 %g)", i, y[i], want, a[i], p0[i], p1[i]);
	}
	free(y);
}

START_TEST(bindings_with_gaps_aliases_uniforms_and_arrays_bind_by_number)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("layout", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "layout", spv, len, &k), "register");
	/* Slots in binding then element order; aliases at 2 are one binding. */
	static const uint32_t want_binding[] = {0, 2, 4, 4, 7}, want_element[] = {0, 0, 0, 1, 0};
	ck_assert_uint_eq(k.n_bindings, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(k.bindings[i].binding, want_binding[i]);
		ck_assert_uint_eq(k.bindings[i].element, want_element[i]);
	}
	ck_assert(k.bindings[0].uniform && k.bindings[0].read_only && !k.bindings[1].uniform);
	ck_assert(k.bindings[1].read_only && k.bindings[4].write_only);
	enum { N = 1000 };
	float a[N], p0[N], p1[N];
	random_floats(a, N, 1);
	random_floats(p0, N, 2);
	random_floats(p1, N, 3);
	struct { float scale, bias; uint32_t n, pad; } params = {0.5f, 3.0f, N, 0};
	gpucmd_buffer bp = buffer_with(c, &params, sizeof(params)), ba = buffer_with(c, a, sizeof(a)),
		      b0 = buffer_with(c, p0, sizeof(p0)), b1 = buffer_with(c, p1, sizeof(p1)),
		      by = buffer_with(c, NULL, sizeof(a));
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "layout", &s), "open");
	/* By number, in any order. */
	struct gpucmd_binding_at at[5] = {
		{7, 0, by, 0, 0}, {4, 1, b1, 0, 0}, {0, 0, bp, 0, 0}, {2, 0, ba, 0, 0}, {4, 0, b0, 0, 0},
	};
	must(c, gpucmd_dispatch_at(c, s, k.id, at, 5, NULL, 0, (N + 63) / 64, 1, 1, 0), "dispatch_at");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	check_layout(c, by, a, p0, p1, N, 0.5f, 3.0f);
	/* By position, in the order kernel_info lists: the same. */
	params.scale = 2.0f;
	must(c, gpucmd_buffer_write(c, bp, 0, &params, sizeof(params)), "write params");
	struct gpucmd_binding pos[5] = {{bp, 0, 0}, {ba, 0, 0}, {b0, 0, 0}, {b1, 0, 0}, {by, 0, 0}};
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_dispatch(c, s, k.id, pos, 5, NULL, 0, (N + 63) / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	check_layout(c, by, a, p0, p1, N, 2.0f, 3.0f);
	/* Naming what the kernel does not have, or a slot twice. */
	static const struct { uint32_t binding, element, twice; const char *needle; } bad[] = {
		{3, 0, 0, "the kernel has no binding 3"},
		{4, 2, 0, "binding 4 has 2 elements, element 2 named"},
		{2, 0, 1, "binding 2 is bound twice"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gpucmd_binding_at w[5];
		memcpy(w, at, sizeof(w));
		w[1].binding = bad[i].binding;
		w[1].element = bad[i].element;
		if (bad[i].twice)
			w[3] = w[1];
		must(c, gpucmd_reset_for_next_stage(c, s), "reset");
		must(c, gpucmd_dispatch_at(c, s, k.id, w, 5, NULL, 0, 1, 1, 1, 0), "dispatch_at");
		ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EINVAL);
		ck_assert_msg(strstr(gpucmd_last_error(c), bad[i].needle) && strstr(gpucmd_last_error(c), "'layout'"),
			      "'%s' lacks '%s'", gpucmd_last_error(c), bad[i].needle);
	}
	/* A uniform buffer: its own alignment and range limit. */
	struct gpucmd_binding_at u[5];
	memcpy(u, at, sizeof(u));
	u[2].offset = 4;
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_dispatch_at(c, s, k.id, u, 5, NULL, 0, 1, 1, 1, 0), "dispatch_at");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "binding 0: offset 4 is not a multiple of") &&
		      strstr(gpucmd_last_error(c), "minUniformBufferOffsetAlignment"), "%s", gpucmd_last_error(c));
	gpucmd_buffer big = buffer_with(c, NULL, 1 << 20);
	u[2] = (struct gpucmd_binding_at){0, 0, big, 0, 0};
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_dispatch_at(c, s, k.id, u, 5, NULL, 0, 1, 1, 1, 0), "dispatch_at");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ERANGE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "maxUniformBufferRange"), "%s", gpucmd_last_error(c));
	/* ... and a sized range of that larger buffer is fine. */
	u[2].size = 256;
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_dispatch_at(c, s, k.id, u, 5, NULL, 0, 1, 1, 1, 0), "dispatch_at");
	must(c, gpucmd_commit_and_wait(c, s), "uniform range of a big buffer");
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(aliases_take_the_largest_size)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("alias_sizes", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "alias_sizes", spv, len, &k), "register");
	ck_assert_uint_eq(k.n_bindings, 1);
	ck_assert_uint_eq(k.bindings[0].min_size, 4096);
	gpucmd_buffer b = buffer_with(c, NULL, 4096);
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "alias", &s), "open");
	struct gpucmd_binding small = {b, 0, 1024}, whole = {b, 0, 0};
	must(c, gpucmd_dispatch(c, s, k.id, &small, 1, NULL, 0, 1, 1, 1), "dispatch");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ERANGE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "kernel 'alias_sizes': binding 0: range 1024 is smaller than the "
			     "4096 bytes"), "%s", gpucmd_last_error(c));
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	float last = 42.0f, got;
	must(c, gpucmd_buffer_write(c, b, 4092, &last, 4), "write");
	must(c, gpucmd_dispatch(c, s, k.id, &whole, 1, NULL, 0, 1, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, b, 0, &got, 4), "read");
	ck_assert(got == 42.0f);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* Reads past a uniform buffer, through an alias and through an element of
 * an array of buffers, each bound to a slice in the middle of a larger
 * buffer: what comes back is zero or from inside the slice
 * (robustBufferAccess2), or at least from inside that buffer. */
START_TEST(robust_access_holds_for_uniforms_aliases_and_arrays)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("oob_uniform", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "oob_uniform", spv, len, &k), "register");
	enum { WORDS = 4096, THREADS = 256, READS = 4 };
	uint32_t *pattern = malloc(WORDS * 4), *out = malloc(THREADS * READS * 4);
	for (uint32_t i = 0; i < WORDS; i++)
		pattern[i] = 0x1000 + i;
	gpucmd_buffer before = buffer_with(c, pattern, WORDS * 4), ub = buffer_with(c, pattern, WORDS * 4),
		      sb = buffer_with(c, pattern, WORDS * 4), e0 = buffer_with(c, pattern, WORDS * 4),
		      e1 = buffer_with(c, pattern, WORDS * 4), after = buffer_with(c, pattern, WORDS * 4),
		      ob = buffer_with(c, NULL, THREADS * READS * 4);
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "oob", &s), "open");
	/* 64 bytes of uniform and 256 of storage, at offset 256 of each. */
	struct gpucmd_binding_at at[5] = {
		{0, 0, ub, 256, 64}, {1, 0, sb, 256, 256}, {3, 0, ob, 0, 0}, {4, 0, e0, 256, 256}, {4, 1, e1, 256, 256},
	};
	uint32_t stride = 37;
	must(c, gpucmd_dispatch_at(c, s, k.id, at, 5, &stride, 4, THREADS / 64, 1, 1, 0), "dispatch_at");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, ob, 0, out, THREADS * READS * 4), "read");
	bool strict = daemon_log_contains("robustBufferAccess2");
	for (uint32_t i = 0; i < THREADS * READS; i++) {
		uint32_t lo = strict ? 0x1000 + 64 : 0x1000, hi = strict ? 0x1000 + (i % READS ? 128 : 80) : 0x1000 + WORDS;
		ck_assert_msg(out[i] == 0 || (out[i] >= lo && out[i] < hi), "read %u saw 0x%x, outside [0x%x, 0x%x)", i,
			      out[i], lo, hi);
	}
	uint32_t *got = malloc(WORDS * 4);
	gpucmd_buffer others[6] = {before, ub, sb, e0, e1, after};
	for (int b = 0; b < 6; b++) {
		must(c, gpucmd_buffer_read(c, others[b], 0, got, WORDS * 4), "read");
		ck_assert_msg(memcmp(got, pattern, WORDS * 4) == 0, "buffer %d changed", b);
	}
	free(got);
	free(pattern);
	free(out);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(required_subgroup_size_and_full_subgroups)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_info info;
	must(c, gpucmd_info(c, &info), "info");
	size_t len;
	uint8_t *spv = read_spv("subgroup_sum", &len);
	/* lavapipe runs subgroups of 8 only. */
	struct gpucmd_kernel_options o = {.required_subgroup_size = 8, .full_subgroups = true};
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register_with(c, "sg", spv, len, &o, &k), "register");
	enum { N = 256 };
	uint32_t x[N], y[N], size = 0;
	for (uint32_t i = 0; i < N; i++)
		x[i] = i * 3 + 1;
	gpucmd_buffer bx = buffer_with(c, x, sizeof(x)), by = buffer_with(c, NULL, sizeof(y)), bz = buffer_with(c, NULL, 4);
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "sg", &s), "open");
	struct gpucmd_binding bind[3] = {{bx, 0, 0}, {by, 0, 0}, {bz, 0, 0}};
	must(c, gpucmd_dispatch(c, s, k.id, bind, 3, NULL, 0, N / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, by, 0, y, sizeof(y)), "read");
	must(c, gpucmd_buffer_read(c, bz, 0, &size, 4), "read");
	ck_assert_uint_eq(size, 8);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t want = 0;
		for (uint32_t j = i / 8 * 8; j < i / 8 * 8 + 8; j++)
			want += x[j];
		ck_assert_msg(y[i] == want, "y[%u] = %u, expected %u", i, y[i], want);
	}
	o.required_subgroup_size = 64;
	ck_assert_int_eq(gpucmd_kernel_register_with(c, "sg64", spv, len, &o, NULL), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "'sg64': required subgroup size 64: this device runs powers of two "
			     "from 8 to 8"), "%s", gpucmd_last_error(c));
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* 8-bit storage, 8/16-bit arithmetic, half floats, 64-bit integers and
 * RoundingModeRTE, all of which lavapipe offers. */
START_TEST(device_types_and_float_controls_run)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("types", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "types", spv, len, &k), "register");
	enum { N = 256 };
	int8_t w[4 * N];
	float x[N], y[N];
	for (uint32_t i = 0; i < 4 * N; i++)
		w[i] = (int8_t)(i * 37 - 100);
	for (uint32_t i = 0; i < N; i++)
		x[i] = (float)(i % 64) * 0.25f;
	gpucmd_buffer bw = buffer_with(c, w, sizeof(w)), bx = buffer_with(c, x, sizeof(x)), by = buffer_with(c, NULL, sizeof(y));
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "types", &s), "open");
	struct gpucmd_binding bind[3] = {{bw, 0, 0}, {bx, 0, 0}, {by, 0, 0}};
	must(c, gpucmd_dispatch(c, s, k.id, bind, 3, NULL, 0, N / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, by, 0, y, sizeof(y)), "read");
	for (uint32_t i = 0; i < N; i++) {
		int d = w[4 * i] + 2 * w[4 * i + 1] + 3 * w[4 * i + 2] + 4 * w[4 * i + 3];
		float want = (float)d + x[i] * 0.5f + (float)d; /* x * 0.5 is exact in half precision */
		ck_assert_msg(y[i] == want, "types[%u] = %g, expected %g", i, y[i], want);
	}
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* OpSDot over four packed signed bytes (DotProduct, DotProductInput4x8BitPacked). */
START_TEST(integer_dot_product_runs)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("dot4x8", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "dot4x8", spv, len, &k), "register");
	enum { N = 256 };
	uint32_t a[N], b[N];
	int32_t o[N];
	for (uint32_t i = 0; i < N; i++)
		a[i] = i * 2654435761u, b[i] = i * 40503u + 0x80ff7f01u;
	gpucmd_buffer ba = buffer_with(c, a, sizeof(a)), bb = buffer_with(c, b, sizeof(b)), bo = buffer_with(c, NULL, sizeof(o));
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "dot", &s), "open");
	struct gpucmd_binding bind[3] = {{ba, 0, 0}, {bb, 0, 0}, {bo, 0, 0}};
	must(c, gpucmd_dispatch(c, s, k.id, bind, 3, NULL, 0, N / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, bo, 0, o, sizeof(o)), "read");
	for (uint32_t i = 0; i < N; i++) {
		int32_t want = 0;
		for (int j = 0; j < 4; j++)
			want += (int8_t)(a[i] >> (8 * j)) * (int8_t)(b[i] >> (8 * j));
		ck_assert_msg(o[i] == want, "dot[%u] = %d, expected %d", i, o[i], want);
	}
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* reduce_sum_f32 with a block of 64 instead of 256: partial sums of 128. */
/* Float atomics where the device has them (VK_EXT_shader_atomic_float;
 * lavapipe and NVIDIA do): bins of a storage buffer and a shared total.
 * Whole numbers keep every order of the additions exact. */
START_TEST(float_atomics_run_where_the_device_has_them)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("atomic_float", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "atomic_float", spv, len, &k), "register");
	free(spv);
	enum { N = 1000 };
	float x[N], bins[5] = {0}, want[5] = {0};
	for (uint32_t i = 0; i < N; i++) {
		x[i] = (float)(i % 7);
		want[i % 4] += x[i];
		want[4] += x[i];
	}
	gpucmd_buffer bx = buffer_with(c, x, sizeof(x)), bo = buffer_with(c, bins, sizeof(bins));
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "atomics", &s), "open");
	struct gpucmd_binding bind[2] = {{bx, 0, 0}, {bo, 0, 0}};
	uint32_t n = N;
	must(c, gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, (N + 63) / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, bo, 0, bins, sizeof(bins)), "read");
	for (int i = 0; i < 5; i++)
		ck_assert_msg(bins[i] == want[i], "bin %d = %g, expected %g", i, bins[i], want[i]);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(standard_kernels_take_constants)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_spec_constant b64 = u32c(0, 64);
	struct gpucmd_kernel_options o = {.constants = &b64, .n_constants = 1, .standard = "reduce_sum_f32"};
	struct gpucmd_kernel_info k, std;
	must(c, gpucmd_kernel_register_with(c, "sum64", NULL, 0, &o, &k), "register from the standard kernel");
	ck_assert_uint_eq(k.local_size[0], 64);
	must(c, gpucmd_kernel_find(c, "reduce_sum_f32", &std), "find");
	ck_assert_uint_eq(std.local_size[0], 256);
	enum { N = 1000, GROUPS = (N + 127) / 128 };
	float x[N], part[GROUPS];
	random_floats(x, N, 11);
	gpucmd_buffer bx = buffer_with(c, x, sizeof(x)), bp = buffer_with(c, NULL, sizeof(part));
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "sum64", &s), "open");
	struct gpucmd_binding bind[2] = {{bx, 0, 0}, {bp, 0, 0}};
	uint32_t n = N;
	must(c, gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, GROUPS, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, bp, 0, part, sizeof(part)), "read");
	/* Invocation t of group g (B = 64 of them) sums the vec4s g*B + t + j*G*B,
	 * then the tail element n4*4 + g*B + t (docs/KERNELS.md): which
	 * elements a group's partial holds depends on B. */
	double want[GROUPS] = {0}, mag[GROUPS] = {0};
	for (uint32_t i = 0; i < N; i++) {
		uint32_t g = i < N / 4 * 4 ? i / 4 % (GROUPS * 64) / 64 : (i - N / 4 * 4) / 64;
		want[g] += x[i];
		mag[g] += x[i] < 0 ? -x[i] : x[i];
	}
	for (uint32_t g = 0; g < GROUPS; g++) {
		double diff = part[g] - want[g];
		ck_assert_msg((diff < 0 ? -diff : diff) <= 1e-5 * mag[g] + 1e-30, "part[%u] = %g, expected %g", g, part[g],
			      want[g]);
	}
	/* A standard kernel that does not exist, or one with SPIR-V besides. */
	o.standard = "no_such_kernel";
	ck_assert_int_eq(gpucmd_kernel_register_with(c, "x", NULL, 0, &o, NULL), -ENOENT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "'x': no standard kernel of the name"), "%s", gpucmd_last_error(c));
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	o.standard = "reduce_sum_f32";
	ck_assert_int_eq(gpucmd_kernel_register_with(c, "y", spv, len, &o, NULL), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "'y': give SPIR-V or a standard kernel to specialize, not both"), "%s",
		      gpucmd_last_error(c));
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

TCase *kernel_features_tcase(void)
{
	TCase *t = tcase_create("kernel_features");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, spec_constants_set_workgroup_shared_memory_and_values);
	tcase_add_loop_test(t, hostile_values_are_refused_and_change_nothing, 0, sizeof(bad_values) / sizeof(bad_values[0]));
	tcase_add_test(t, signed_division_of_constants_folds_and_int_min_by_minus_one_is_refused);
	tcase_add_test(t, a_constant_without_spec_id_is_set_by_no_id);
	tcase_add_test(t, well_typed_constant_expressions_are_folded);
	tcase_add_test(t, bindings_with_gaps_aliases_uniforms_and_arrays_bind_by_number);
	tcase_add_test(t, aliases_take_the_largest_size);
	tcase_add_test(t, robust_access_holds_for_uniforms_aliases_and_arrays);
	tcase_add_test(t, required_subgroup_size_and_full_subgroups);
	tcase_add_test(t, device_types_and_float_controls_run);
	tcase_add_test(t, standard_kernels_take_constants);
	tcase_add_test(t, integer_dot_product_runs);
	tcase_add_test(t, float_atomics_run_where_the_device_has_them);
	return t;
}
