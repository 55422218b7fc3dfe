/*
 * test_daemon_seeds.c — the seeds' encoder-session tests, ported to gpucmd
 * over the socket (the five-fence wait-event smoke test lives in
 * test_daemon.c). Each checks the session's counters and data computed on
 * the GPU.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

struct kit {
	gpucmd_client *c;
	struct gpucmd_kernel_info add, mul, fill;
};

static struct kit kit_open(void)
{
	struct kit k = {.c = connect_ok()};
	ck_assert_int_eq(gpucmd_kernel_find(k.c, "add_f32", &k.add), 0);
	ck_assert_int_eq(gpucmd_kernel_find(k.c, "mul_f32", &k.mul), 0);
	ck_assert_int_eq(gpucmd_kernel_find(k.c, "fill_f32", &k.fill), 0);
	return k;
}

static gpucmd_buffer floats(struct kit *k, const float *v, uint32_t n)
{
	gpucmd_buffer b;
	ck_assert_int_eq(gpucmd_buffer_create(k->c, n * 4ull, 0, &b), 0);
	if (v)
		ck_assert_int_eq(gpucmd_buffer_write(k->c, b, 0, v, n * 4ull), 0);
	return b;
}

/* out = a op b over n floats, recorded in the open stage. */
static void binary(struct kit *k, gpucmd_session s, const struct gpucmd_kernel_info *op, gpucmd_buffer a,
		   gpucmd_buffer b, gpucmd_buffer out, uint32_t n)
{
	struct gpucmd_binding bind[3] = {{a, 0, 0}, {b, 0, 0}, {out, 0, 0}};
	ck_assert_int_eq(gpucmd_dispatch(k->c, s, op->id, bind, 3, &n, 4, (n + 255) / 256, 1, 1), 0);
}

static void fill(struct kit *k, gpucmd_session s, gpucmd_buffer out, uint32_t n, float v)
{
	struct gpucmd_binding bind = {out, 0, 0};
	struct { uint32_t n; float v; } fp = {n, v};
	ck_assert_int_eq(gpucmd_dispatch(k->c, s, k->fill.id, &bind, 1, &fp, 8, (n + 255) / 256, 1, 1), 0);
}

static void expect_floats(struct kit *k, gpucmd_buffer b, const float *want, uint32_t n)
{
	float got[16];
	ck_assert_int_eq(gpucmd_buffer_read(k->c, b, 0, got, n * 4ull), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i], "element %u = %g, expected %g", i, got[i], want[i]);
}

static struct gpucmd_session_state state(struct kit *k, gpucmd_session s)
{
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_session_query(k->c, s, &st), 0);
	return st;
}

/* Seed test 1: a fenced stage, a reset that rotates to a fresh command
 * buffer waiting on the fence, a second stage; labels follow each one. */
START_TEST(fence_reset_rotates_the_command_buffer_and_carries_labels)
{
	struct kit k = kit_open();
	gpucmd_buffer a1 = floats(&k, (float[]){1, 2, 3, 4}, 4), b1 = floats(&k, (float[]){10, 20, 30, 40}, 4);
	gpucmd_buffer a2 = floats(&k, (float[]){100, 200, 300, 400}, 4), b2 = floats(&k, (float[]){7, 8, 9, 10}, 4);
	gpucmd_buffer out1 = floats(&k, NULL, 4), out2 = floats(&k, NULL, 4);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(k.c, "rotation", &s), 0);
	struct gpucmd_session_state st = state(&k, s);
	ck_assert(!st.has_event && st.fence_value == 0 && !st.fence_pending);

	ck_assert_int_eq(gpucmd_begin_stage(k.c, s, "stage1"), 0);
	binary(&k, s, &k.add, a1, b1, out1, 4);
	ck_assert_int_eq(gpucmd_fence_stage(k.c, s, "stage1.fence"), 0);
	st = state(&k, s);
	ck_assert(st.drained && st.fence_pending && st.has_event);
	ck_assert_uint_eq(st.fence_value, 1);
	ck_assert_str_eq(st.last_label, "stage1.fence");
	ck_assert_uint_eq(st.command_buffers, 1);

	ck_assert_int_eq(gpucmd_reset_for_next_stage(k.c, s), 0);
	st = state(&k, s);
	ck_assert(!st.drained && !st.fence_pending);
	ck_assert_uint_eq(st.fence_value, 1); /* the high-water mark stays */

	ck_assert_int_eq(gpucmd_begin_stage(k.c, s, "stage2"), 0);
	binary(&k, s, &k.add, a2, b2, out2, 4);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s), 0);
	st = state(&k, s);
	ck_assert(st.drained && !st.fence_pending);
	ck_assert_str_eq(st.last_label, "stage2");
	ck_assert_uint_eq(st.command_buffers, 2); /* rotated, not reused */
	ck_assert_uint_eq(st.wait_count, 1);
	ck_assert_uint_eq(st.wait_value, 1);
	expect_floats(&k, out1, (float[]){11, 22, 33, 44}, 4);
	expect_floats(&k, out2, (float[]){107, 208, 309, 410}, 4);
	gpucmd_disconnect(k.c);
}
END_TEST

/* Seed test 2: three fences without a wait in between count 1, 2, 3 on the
 * same lazily created timeline, and the stages run in order: the chain
 * fill 3, x+x, x*x, x+x gives 72 only in that order. */
START_TEST(three_fences_count_up_and_run_in_order)
{
	struct kit k = kit_open();
	gpucmd_buffer x = floats(&k, NULL, 4);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(k.c, "chain", &s), 0);
	for (int i = 1; i <= 3; i++) {
		if (i == 1)
			fill(&k, s, x, 4, 3.0f);
		else
			binary(&k, s, i == 2 ? &k.add : &k.mul, x, x, x, 4);
		char label[16];
		snprintf(label, sizeof(label), "f%d", i);
		ck_assert_int_eq(gpucmd_fence_stage(k.c, s, label), 0);
		struct gpucmd_session_state st = state(&k, s);
		ck_assert(st.has_event && st.fence_pending);
		ck_assert_uint_eq(st.fence_value, (uint64_t)i);
		ck_assert_int_eq(gpucmd_reset_for_next_stage(k.c, s), 0);
	}
	binary(&k, s, &k.add, x, x, x, 4);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s), 0);
	struct gpucmd_session_state st = state(&k, s);
	ck_assert_uint_eq(st.fence_value, 3);
	ck_assert_uint_eq(st.wait_count, 3);
	ck_assert_uint_eq(st.wait_value, 3);
	ck_assert_uint_eq(st.completed, 4);
	expect_floats(&k, x, (float[]){72, 72, 72, 72}, 4);
	gpucmd_disconnect(k.c);
}
END_TEST

/* Seed test 4: closing a session with its fence still open completes the
 * committed stage, and the daemon and connection go on. */
START_TEST(closing_with_an_open_fence_completes_the_stage)
{
	struct kit k = kit_open();
	gpucmd_buffer a = floats(&k, (float[]){1, 2, 3, 4}, 4), b = floats(&k, (float[]){5, 6, 7, 8}, 4);
	gpucmd_buffer out = floats(&k, NULL, 4);
	gpucmd_session s, s2;
	ck_assert_int_eq(gpucmd_session_open(k.c, "dropped", &s), 0);
	binary(&k, s, &k.add, a, b, out, 4);
	ck_assert_int_eq(gpucmd_fence_stage(k.c, s, "open"), 0);
	ck_assert_int_eq(gpucmd_session_close(k.c, s), 0);
	/* the read waits for the committed work: it did run */
	expect_floats(&k, out, (float[]){6, 8, 10, 12}, 4);
	ck_assert_int_eq(gpucmd_session_query(k.c, s, &(struct gpucmd_session_state){0}), -ENOENT);
	ck_assert_int_eq(gpucmd_session_open(k.c, "after", &s2), 0);
	binary(&k, s2, &k.mul, a, b, out, 4);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s2), 0);
	expect_floats(&k, out, (float[]){5, 12, 21, 32}, 4);
	gpucmd_disconnect(k.c);
}
END_TEST

/* Seed test 5 (adversarial): the scratch buffer of a fenced stage is freed
 * while the stage is in flight, then the next stage runs. The stage's
 * reference keeps scratch alive: its result is right, nothing is used after
 * free (the ASan build runs this too) and the residency count returns to
 * where it started. */
START_TEST(scratch_freed_mid_fence_stays_alive_until_retired)
{
	struct kit k = kit_open();
	enum { N = 1 << 20 };
	struct gpucmd_memory_report m;
	ck_assert_int_eq(gpucmd_memory_report(k.c, &m), 0);
	free(m.clients);
	uint32_t resident0 = m.resident_buffers;
	gpucmd_buffer scratch, out1 = floats(&k, NULL, 4), out2 = floats(&k, NULL, 4);
	ck_assert_int_eq(gpucmd_buffer_create(k.c, N * 4, 0, &scratch), 0);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(k.c, "scratch", &s), 0);
	for (int i = 0; i < 8; i++)
		fill(&k, s, scratch, N, 2.0f);           /* long enough to be in flight */
	struct gpucmd_binding bind[3] = {{scratch, 0, 16}, {scratch, 0, 16}, {out1, 0, 0}};
	uint32_t n = 4;
	ck_assert_int_eq(gpucmd_dispatch(k.c, s, k.add.id, bind, 3, &n, 4, 1, 1, 1), 0);
	ck_assert_int_eq(gpucmd_fence_stage(k.c, s, "uses scratch"), 0);
	ck_assert_int_eq(gpucmd_buffer_free(k.c, scratch), 0);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(k.c, s), 0);
	fill(&k, s, out2, 4, 9.0f);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s), 0);
	expect_floats(&k, out1, (float[]){4, 4, 4, 4}, 4);
	expect_floats(&k, out2, (float[]){9, 9, 9, 9}, 4);
	/* scratch's memory went back and is handed out again, cleared */
	gpucmd_buffer again;
	ck_assert_int_eq(gpucmd_buffer_create(k.c, N * 4, 0, &again), 0);
	float z[4];
	ck_assert_int_eq(gpucmd_buffer_read(k.c, again, 0, z, sizeof(z)), 0);
	ck_assert(z[0] == 0 && z[3] == 0);
	ck_assert_int_eq(gpucmd_buffer_free(k.c, again), 0);
	ck_assert_int_eq(gpucmd_memory_report(k.c, &m), 0);
	free(m.clients);
	ck_assert_uint_eq(m.resident_buffers, resident0 + 2); /* out1, out2 */
	ck_assert_uint_eq(m.live_buffers, 2);
	gpucmd_disconnect(k.c);
}
END_TEST

/* Seed test 6: a session borrowed across N stages, each fenced and reset
 * (the last too), then drained: fence_value N, wait_count N. */
START_TEST(borrowed_across_n_stages_waits_n_times)
{
	enum { STAGES = 4 };
	struct kit k = kit_open();
	gpucmd_buffer x = floats(&k, (float[]){1, 1, 1, 1}, 4), one = floats(&k, (float[]){1, 1, 1, 1}, 4);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(k.c, "borrowed", &s), 0);
	for (int i = 0; i < STAGES; i++) {
		binary(&k, s, &k.add, x, one, x, 4);
		ck_assert_int_eq(gpucmd_fence_stage(k.c, s, "stage"), 0);
		ck_assert_int_eq(gpucmd_reset_for_next_stage(k.c, s), 0);
	}
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s), 0);
	struct gpucmd_session_state st = state(&k, s);
	ck_assert_uint_eq(st.fence_value, STAGES);
	ck_assert_uint_eq(st.wait_count, STAGES);
	ck_assert_uint_eq(st.wait_value, STAGES);
	ck_assert_uint_eq(st.command_buffers, STAGES + 1);
	expect_floats(&k, x, (float[]){1 + STAGES, 1 + STAGES, 1 + STAGES, 1 + STAGES}, 4);
	gpucmd_disconnect(k.c);
}
END_TEST

/* Seed test 3: a buffer starts in the residency set; a session's remove
 * and add are staged and land at its next commit, against the same count;
 * a close drops what was staged; freeing the buffer leaves the set. */
START_TEST(residency_delegation_round_trip)
{
	struct kit k = kit_open();
	struct gpucmd_memory_report m;
#define RESIDENT() (gpucmd_memory_report(k.c, &m) == 0 ? (free(m.clients), m.self.resident_buffers) : 99)
	ck_assert_uint_eq(RESIDENT(), 0);
	gpucmd_buffer b = floats(&k, NULL, 4);
	ck_assert_uint_eq(RESIDENT(), 1);
	ck_assert_uint_eq(m.self.resident_bytes, 16);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(k.c, "residency", &s), 0);
	ck_assert_int_eq(gpucmd_residency_remove(k.c, s, b), 0);
	struct gpucmd_session_state st = state(&k, s);
	ck_assert_uint_eq(st.residency_requests, 1);
	ck_assert_uint_eq(st.residency_pending, 1);
	ck_assert_uint_eq(RESIDENT(), 1); /* staged, not yet applied */
	fill(&k, s, b, 4, 5.0f);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s), 0);
	ck_assert_uint_eq(RESIDENT(), 0);
	ck_assert_uint_eq(state(&k, s).residency_pending, 0);
	expect_floats(&k, b, (float[]){5, 5, 5, 5}, 4); /* out of the set, still a working buffer */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(k.c, s), 0);
	ck_assert_int_eq(gpucmd_residency_add(k.c, s, b), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, s), 0);
	ck_assert_uint_eq(RESIDENT(), 1);
	ck_assert_uint_eq(state(&k, s).residency_requests, 2);
	/* staged, then the session closes without a commit: not applied */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(k.c, s), 0);
	ck_assert_int_eq(gpucmd_residency_remove(k.c, s, b), 0);
	ck_assert_int_eq(gpucmd_session_close(k.c, s), 0);
	ck_assert_uint_eq(RESIDENT(), 1);
	ck_assert_int_eq(gpucmd_buffer_free(k.c, b), 0);
	ck_assert_uint_eq(RESIDENT(), 0);
	ck_assert_uint_eq(m.resident_buffers, 0);
#undef RESIDENT
	gpucmd_disconnect(k.c);
}
END_TEST

TCase *seeds_tcase(void)
{
	TCase *t = tcase_create("seeds");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, fence_reset_rotates_the_command_buffer_and_carries_labels);
	tcase_add_test(t, three_fences_count_up_and_run_in_order);
	tcase_add_test(t, closing_with_an_open_fence_completes_the_stage);
	tcase_add_test(t, scratch_freed_mid_fence_stays_alive_until_retired);
	tcase_add_test(t, borrowed_across_n_stages_waits_n_times);
	tcase_add_test(t, residency_delegation_round_trip);
	return t;
}
