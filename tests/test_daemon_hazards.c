/*
 * test_daemon_hazards.c — automatic barriers (issue 7, docs/ENCODER.md)
 * against a real gpucmdd running with synchronization validation, so that a
 * barrier the tracker wrongly elides is a validation message and fails the
 * test: ordered chains compute right, independent dispatches share one
 * group, sub-ranges of one buffer are told apart, the client's explicit
 * barrier and the group bound work, and the counters add up.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

enum { N = 1024 };

static uint32_t kernel(gpucmd_client *c, const char *name)
{
	struct gpucmd_kernel_info k;
	ck_assert_msg(gpucmd_kernel_find(c, name, &k) == 0, "%s: %s", name, gpucmd_last_error(c));
	return k.id;
}

/* fill_f32 of n floats at byte offset off of b. */
static void fill(gpucmd_client *c, gpucmd_session s, uint32_t k, gpucmd_buffer b, uint64_t off, uint32_t n, float v)
{
	struct gpucmd_binding bind = {b, off, (uint64_t)n * 4};
	struct { uint32_t n; float v; } pc = {n, v};
	ck_assert_int_eq(gpucmd_dispatch(c, s, k, &bind, 1, &pc, sizeof(pc), (n + 255) / 256, 1, 1), 0);
}

/* add_f32: out = a + b over n floats, each binding a (buffer, offset). */
static void add(gpucmd_client *c, gpucmd_session s, uint32_t k, const struct gpucmd_binding bind[3], uint32_t n,
		uint32_t flags)
{
	ck_assert_int_eq(gpucmd_dispatch_flags(c, s, k, bind, 3, &n, 4, (n + 255) / 256, 1, 1, flags), 0);
}

static void expect_all(gpucmd_client *c, gpucmd_buffer b, uint64_t off, uint32_t n, float want)
{
	static float v[4 * N];
	ck_assert_int_eq(gpucmd_buffer_read(c, b, off, v, (size_t)n * 4), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(v[i] == want, "element %u at offset %lu = %g, expected %g", i, (unsigned long)off, v[i],
			      want);
}

static void expect_counts(struct gpucmd_session_state st, uint64_t barriers, uint64_t elided, uint64_t groups)
{
	ck_assert_msg(st.barriers == barriers && st.barriers_elided == elided && st.concurrent_groups == groups,
		      "barriers %lu elided %lu groups %lu, expected %lu %lu %lu", (unsigned long)st.barriers,
		      (unsigned long)st.barriers_elided, (unsigned long)st.concurrent_groups, (unsigned long)barriers,
		      (unsigned long)elided, (unsigned long)groups);
}

/* x = 1, then x_{i+1} = x_i + x_i: every dispatch reads what the one
 * before wrote, so each needs a barrier and the result is 2^(L-1). */
START_TEST(dependent_chain_is_ordered_with_one_barrier_per_link)
{
	gpucmd_client *c = connect_ok();
	uint32_t kf = kernel(c, "fill_f32"), ka = kernel(c, "add_f32");
	enum { L = 8 };
	gpucmd_buffer x[L];
	gpucmd_session s;
	for (int i = 0; i < L; i++)
		ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &x[i]), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "chain", &s), 0);
	fill(c, s, kf, x[0], 0, N, 1.0f);
	for (int i = 1; i < L; i++) {
		struct gpucmd_binding bind[3] = {{x[i - 1], 0, 0}, {x[i - 1], 0, 0}, {x[i], 0, 0}};
		add(c, s, ka, bind, N, 0);
	}
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, x[L - 1], 0, N, (float)(1 << (L - 1)));
	expect_counts(session_state(c, s), L - 1, 0, L);
	gpucmd_disconnect(c);
}
END_TEST

/* Eight dispatches reading the same inputs and writing their own outputs
 * are not serialised: one group, seven elisions, no barrier. */
START_TEST(independent_dispatches_share_one_group)
{
	gpucmd_client *c = connect_ok();
	uint32_t kf = kernel(c, "fill_f32"), ka = kernel(c, "add_f32");
	enum { K = 8 };
	gpucmd_buffer a, b, out[K];
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &b), 0);
	for (int i = 0; i < K; i++)
		ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &out[i]), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "wide", &s), 0);
	fill(c, s, kf, a, 0, N, 2.0f);
	fill(c, s, kf, b, 0, N, 3.0f);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_counts(session_state(c, s), 0, 1, 1);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	for (int i = 0; i < K; i++) {
		struct gpucmd_binding bind[3] = {{a, 0, 0}, {b, 0, 0}, {out[i], 0, 0}};
		add(c, s, ka, bind, N, 0);
	}
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	for (int i = 0; i < K; i++)
		expect_all(c, out[i], 0, N, 5.0f);
	expect_counts(session_state(c, s), 0, 1 + K - 1, 2);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	ck_assert_uint_eq(info.barriers_elided, 1 + K - 1);
	ck_assert_uint_eq(info.concurrent_groups, 2);
	ck_assert_uint_eq(info.barriers, 0);
	gpucmd_disconnect(c);
}
END_TEST

/* One buffer of four quarters: writes to disjoint quarters run together,
 * a read of a quarter written in the group needs a barrier, and so does a
 * write over a range that straddles two quarters read in the group. */
START_TEST(overlapping_sub_ranges_of_one_buffer_are_ordered)
{
	gpucmd_client *c = connect_ok();
	uint32_t kf = kernel(c, "fill_f32"), ka = kernel(c, "add_f32");
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	ck_assert_uint_eq((N * 4) % info.storage_offset_alignment, 0);
	const uint64_t Q = N * 4; /* bytes of a quarter */
	gpucmd_buffer x;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, 4 * Q, 0, &x), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "quarters", &s), 0);
	for (int q = 0; q < 4; q++)
		fill(c, s, kf, x, q * Q, N, (float)(q + 1)); /* 1 2 3 4: one group */
	expect_counts(session_state(c, s), 0, 3, 1);
	/* q3 = q0 + q1: reads what the group wrote, writes q3 (WAW too). */
	struct gpucmd_binding b1[3] = {{x, 0, Q}, {x, Q, Q}, {x, 3 * Q, Q}};
	add(c, s, ka, b1, N, 0);
	expect_counts(session_state(c, s), 1, 3, 2);
	/* q2 = q0 + q0: reads q0 (read in this group too: no conflict),
	 * writes q2 which nobody in the group touched. */
	struct gpucmd_binding b2[3] = {{x, 0, Q}, {x, 0, Q}, {x, 2 * Q, Q}};
	add(c, s, ka, b2, N, 0);
	expect_counts(session_state(c, s), 1, 4, 2);
	/* Half of q0 and half of q1 (straddling their border) overwritten:
	 * both were read in this group (WAR). */
	fill(c, s, kf, x, Q / 2, N, 9.0f);
	expect_counts(session_state(c, s), 2, 4, 3);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	static float v[4 * N];
	ck_assert_int_eq(gpucmd_buffer_read(c, x, 0, v, sizeof(v)), 0);
	for (uint32_t i = 0; i < 4 * N; i++) {
		float want = i < N / 2 ? 1 : i < 3 * N / 2 ? 9 : i < 3 * N ? 2 : 3;
		ck_assert_msg(v[i] == want, "x[%u] = %g, expected %g", i, v[i], want);
	}
	gpucmd_disconnect(c);
}
END_TEST

/* A write of an input the group read must wait for that read (WAR). */
START_TEST(write_after_read_waits_for_the_read)
{
	gpucmd_client *c = connect_ok();
	uint32_t kf = kernel(c, "fill_f32"), ka = kernel(c, "add_f32");
	gpucmd_buffer a, out;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &out), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "war", &s), 0);
	fill(c, s, kf, a, 0, N, 1.0f);
	struct gpucmd_binding bind[3] = {{a, 0, 0}, {a, 0, 0}, {out, 0, 0}};
	add(c, s, ka, bind, N, 0);
	fill(c, s, kf, a, 0, N, 7.0f);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, out, 0, 0, 0), 0); /* WAW with the add, via a transfer */
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, a, 0, out, 0, N * 4), 0); /* RAW on a, WAW on out */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, out, 0, N, 7.0f);
	expect_all(c, a, 0, N, 7.0f);
	/* fill | add (RAW) | fill a (WAR) | fill out | copy (RAW on a, WAW on
	 * out). The buffer fill of out conflicts with nothing in the group of
	 * "fill a", but that group's barrier ordered compute work only: a
	 * transfer command takes a barrier of its own (ENCODER.md). */
	expect_counts(session_state(c, s), 4, 0, 5);
	gpucmd_disconnect(c);
}
END_TEST

/* GPUCMD_DISPATCH_BARRIER_BEFORE orders a dispatch the tracker would let
 * run concurrently; unknown flags are refused by name. */
START_TEST(barrier_before_flag_forces_a_barrier)
{
	gpucmd_client *c = connect_ok();
	uint32_t ka = kernel(c, "add_f32");
	gpucmd_buffer a, o1, o2;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &o1), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &o2), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "forced", &s), 0);
	struct gpucmd_binding b1[3] = {{a, 0, 0}, {a, 0, 0}, {o1, 0, 0}}, b2[3] = {{a, 0, 0}, {a, 0, 0}, {o2, 0, 0}};
	add(c, s, ka, b1, N, GPUCMD_DISPATCH_BARRIER_BEFORE); /* first of its command buffer: no barrier */
	add(c, s, ka, b2, N, GPUCMD_DISPATCH_BARRIER_BEFORE);
	add(c, s, ka, b1, N, 0); /* WAW with the first, which the forced barrier already ordered */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	struct gpucmd_session_state st = session_state(c, s);
	expect_counts(st, 1, 1, 2);
	ck_assert_uint_eq(st.barriers_forced, 1);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	add(c, s, ka, b1, N, 0x80);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "unknown flags 0x80"), "%s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
}
END_TEST

/* 65 fills of separate 4-byte words of one buffer: the 65th does not fit
 * the group's 64 tracked ranges and gets a barrier instead. */
START_TEST(group_beyond_its_range_bound_gets_a_barrier)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	enum { F = 65 };
	ck_assert_int_eq(gpucmd_buffer_create(c, F * 8, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "bound", &s), 0);
	for (uint32_t i = 0; i < F; i++)
		ck_assert_int_eq(gpucmd_buffer_fill(c, s, b, i * 8, 4, i + 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_counts(session_state(c, s), 1, F - 2, 2);
	uint32_t v[2 * F];
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, v, sizeof(v)), 0);
	for (uint32_t i = 0; i < F; i++)
		ck_assert_msg(v[2 * i] == i + 1 && v[2 * i + 1] == 0, "word %u = %u, %u", i, v[2 * i], v[2 * i + 1]);
	gpucmd_disconnect(c);
}
END_TEST

TCase *hazards_tcase(void)
{
	TCase *t = tcase_create("hazards");
	tcase_add_checked_fixture(t, daemon_setup_syncval, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, dependent_chain_is_ordered_with_one_barrier_per_link);
	tcase_add_test(t, independent_dispatches_share_one_group);
	tcase_add_test(t, overlapping_sub_ranges_of_one_buffer_are_ordered);
	tcase_add_test(t, write_after_read_waits_for_the_read);
	tcase_add_test(t, barrier_before_flag_forces_a_barrier);
	tcase_add_test(t, group_beyond_its_range_bound_gets_a_barrier);
	return t;
}
