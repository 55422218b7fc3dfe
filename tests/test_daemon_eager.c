/*
 * test_daemon_eager.c — eager sessions (GPUCMD_SESSION_EAGER, docs/SESSIONS.md)
 * against a real gpucmdd running with synchronization validation, so that
 * a part ordered wrongly against the next is a validation message: long
 * stages go to the GPU in parts before their commit and still compute what
 * one command buffer would; a default session still runs nothing before
 * commit; fence waits hold parts back; failures, captures, closes and
 * disconnects in the middle of a stage keep their meaning and leak nothing.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

enum { N = 256, ADDS = 300 };

struct chain { gpucmd_kernel add; gpucmd_buffer x[2], ones; };

static gpucmd_session open_eager(gpucmd_client *c)
{
	gpucmd_session s;
	ck_assert_msg(gpucmd_session_open_flags(c, "eager", GPUCMD_PRIORITY_NORMAL, GPUCMD_SESSION_EAGER, &s) == 0,
		      "%s", gpucmd_last_error(c));
	return s;
}

/* x0 = x1 = 0, ones = 1: after k adds streamed by add_from, x[k % 2] = k. */
static struct chain chain_create(gpucmd_client *c)
{
	struct chain ch;
	struct gpucmd_kernel_info k;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &k), 0);
	ch.add = k.id;
	static float v[N];
	for (int b = 0; b < 3; b++) {
		gpucmd_buffer *buf = b < 2 ? &ch.x[b] : &ch.ones;
		ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, buf), 0);
		for (int i = 0; i < N; i++)
			v[i] = b < 2 ? 0.0f : 1.0f;
		ck_assert_int_eq(gpucmd_buffer_write(c, *buf, 0, v, sizeof(v)), 0);
	}
	return ch;
}

/* Adds number from .. to-1: x[(i+1) % 2] = x[i % 2] + ones, each depending
 * on the one before (a barrier between every two). */
static void add_from(gpucmd_client *c, gpucmd_session s, const struct chain *ch, int from, int to)
{
	uint32_t n = N;
	for (int i = from; i < to; i++) {
		struct gpucmd_binding bind[3] = {{.buffer = ch->x[i % 2]}, {.buffer = ch->ones}, {.buffer = ch->x[(i + 1) % 2]}};
		ck_assert_int_eq(gpucmd_dispatch(c, s, ch->add, bind, 3, &n, 4, 1, 1, 1), 0);
	}
}

static float first(gpucmd_client *c, gpucmd_buffer b)
{
	static float v[N];
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, v, sizeof(v)), 0);
	for (int i = 1; i < N; i++)
		ck_assert_msg(v[i] == v[0], "element %d = %g, element 0 = %g", i, v[i], v[0]);
	return v[0];
}

START_TEST(eager_stage_runs_in_parts_and_computes_right)
{
	gpucmd_client *c = connect_ok();
	struct chain ch = chain_create(c);
	gpucmd_session s = open_eager(c);
	add_from(c, s, &ch, 0, 2 * ADDS);
	ck_assert_msg(gpucmd_commit_and_wait(c, s) == 0, "%s", gpucmd_last_error(c));
	ck_assert_float_eq(first(c, ch.x[0]), 2 * ADDS);
	struct gpucmd_session_state st = session_state(c, s);
	ck_assert(st.eager);
	ck_assert_uint_gt(st.parts, 1);
	ck_assert_uint_eq(st.command_buffers, st.parts + 1);
	ck_assert_uint_eq(st.completed, st.parts + 1);
	ck_assert_uint_eq(st.dispatches, 2 * ADDS);
	ck_assert_uint_eq(st.barriers, 2 * ADDS - st.command_buffers); /* none across parts: semaphores order them */
	/* The next stage starts again with a small part. */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	add_from(c, s, &ch, 0, 40);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	ck_assert_uint_eq(session_state(c, s).parts, st.parts + 1);
	gpucmd_disconnect(c);
}
END_TEST

/* Work streamed to an eager session is submitted work before its commit:
 * a read waits for the parts and sees their result; a default session's
 * stage has not run at all. */
START_TEST(eager_parts_start_before_commit_default_stages_do_not)
{
	gpucmd_client *c = connect_ok();
	struct chain ch = chain_create(c);
	gpucmd_session plain, eager = open_eager(c);
	ck_assert_int_eq(gpucmd_session_open(c, "plain", &plain), 0);
	add_from(c, plain, &ch, 0, ADDS);
	ck_assert_float_eq(first(c, ch.x[0]), 0);
	ck_assert_uint_eq(session_state(c, plain).parts, 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, plain), 0);
	ck_assert_float_eq(first(c, ch.x[0]), ADDS);

	add_from(c, eager, &ch, ADDS, 2 * ADDS);
	float mid = first(c, ch.x[0]);
	ck_assert_msg(mid > ADDS && mid < 2 * ADDS, "after the parts x0 = %g, expected between %d and %d", mid, ADDS,
		      2 * ADDS);
	ck_assert_uint_gt(session_state(c, eager).parts, 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, eager), 0);
	ck_assert_float_eq(first(c, ch.x[0]), 2 * ADDS);
	gpucmd_disconnect(c);
}
END_TEST

/* A fence wait streamed first holds back every part after it until the
 * fence's signal is submitted. */
START_TEST(eager_parts_wait_for_a_fence)
{
	gpucmd_client *c = connect_ok();
	struct chain ch = chain_create(c);
	gpucmd_session signaller, s = open_eager(c);
	ck_assert_int_eq(gpucmd_session_open(c, "signaller", &signaller), 0);
	gpucmd_token tok;
	ck_assert_int_eq(gpucmd_fence_export(c, signaller, &tok), 0);
	ck_assert_int_eq(gpucmd_wait_fence(c, s, &tok, 1), 0);
	add_from(c, s, &ch, 0, ADDS);
	struct gpucmd_session_state st = session_state(c, s);
	ck_assert_uint_gt(st.parts, 0);
	ck_assert_uint_eq(st.completed, 0);
	/* The signaller sets x0 = 1000; the parts must run after it. */
	const float start = 1000.0f;
	uint32_t word;
	memcpy(&word, &start, 4);
	ck_assert_int_eq(gpucmd_buffer_fill(c, signaller, ch.x[0], 0, 0, word), 0);
	ck_assert_int_eq(gpucmd_fence_stage(c, signaller, "signal"), 0);
	ck_assert_msg(gpucmd_commit_and_wait(c, s) == 0, "%s", gpucmd_last_error(c));
	ck_assert_float_eq(first(c, ch.x[0]), start + ADDS);
	gpucmd_disconnect(c);
}
END_TEST

/* A bad request in the middle of an eager stage is reported at the commit
 * like in any stage; the good commands around it all ran. */
START_TEST(eager_failure_mid_stage_is_reported_at_commit)
{
	gpucmd_client *c = connect_ok();
	struct chain ch = chain_create(c);
	gpucmd_session s = open_eager(c);
	add_from(c, s, &ch, 0, 100);
	uint32_t n = N;
	struct gpucmd_binding bind[3] = {{.buffer = ch.x[0]}, {.buffer = ch.ones}, {.buffer = ch.x[1]}};
	ck_assert_int_eq(gpucmd_dispatch(c, s, 9999, bind, 3, &n, 4, 1, 1, 1), 0);
	add_from(c, s, &ch, 100, ADDS);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ENOENT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "no kernel with id 9999"), "%s", gpucmd_last_error(c));
	ck_assert_float_eq(first(c, ch.x[0]), ADDS);
	gpucmd_disconnect(c);
}
END_TEST

/* Capturing records into the graph: no part is cut, and the graph replays. */
START_TEST(eager_capture_cuts_no_parts)
{
	gpucmd_client *c = connect_ok();
	struct chain ch = chain_create(c);
	gpucmd_session s = open_eager(c);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	add_from(c, s, &ch, 0, ADDS);
	gpucmd_graph g;
	ck_assert_msg(gpucmd_capture_end(c, s, &g, NULL) == 0, "%s", gpucmd_last_error(c));
	ck_assert_uint_eq(session_state(c, s).parts, 0);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	ck_assert_float_eq(first(c, ch.x[0]), ADDS);
	ck_assert_int_eq(gpucmd_graph_free(c, g), 0);
	gpucmd_disconnect(c);
}
END_TEST

/* Closing a session or disconnecting in the middle of an eager stage: the
 * parts already submitted run, the rest is dropped, nothing leaks (the
 * daemon's exit status at teardown) and the others go on. */
START_TEST(eager_close_and_disconnect_mid_stage)
{
	gpucmd_client *c = connect_ok(), *gone = connect_ok();
	struct chain ch = chain_create(c), ch2 = chain_create(gone);
	gpucmd_session s = open_eager(c), s2 = open_eager(gone);
	add_from(c, s, &ch, 0, ADDS);
	add_from(gone, s2, &ch2, 0, ADDS);
	ck_assert_int_eq(gpucmd_session_close(c, s), 0);
	gpucmd_disconnect(gone);
	float v = first(c, ch.x[0]);
	ck_assert_msg(v > 0 && v < ADDS, "x0 = %g after closing mid-stage", v);
	s = open_eager(c);
	add_from(c, s, &ch, 0, 2);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	ck_assert_float_eq(first(c, ch.x[0]), v + 2);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(unknown_session_flags_are_refused)
{
	gpucmd_client *c = connect_ok();
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open_flags(c, "x", GPUCMD_PRIORITY_NORMAL, 0x80, &s), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "unknown flags 0x80"), "%s", gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_session_open_flags(c, "x", GPUCMD_PRIORITY_NORMAL, 0, &s), 0);
	ck_assert(!session_state(c, s).eager);
	gpucmd_disconnect(c);
}
END_TEST

static void one_in_flight_setup(void)
{
	daemon_start((const char *const[]){"--validate-sync", "--max-inflight-per-client", "1", NULL});
}

/* With one command buffer in flight allowed, a part that is due waits for
 * the one before it to retire (the stream is not read meanwhile) rather
 * than growing: the stage still goes in parts, and computes right. */
START_TEST(eager_parts_respect_the_in_flight_limit)
{
	gpucmd_client *c = connect_ok();
	struct chain ch = chain_create(c);
	gpucmd_session s = open_eager(c);
	add_from(c, s, &ch, 0, 4 * ADDS);
	ck_assert_msg(gpucmd_commit_and_wait(c, s) == 0, "%s", gpucmd_last_error(c));
	ck_assert_float_eq(first(c, ch.x[0]), 4 * ADDS);
	struct gpucmd_session_state st = session_state(c, s);
	/* 32, 64, 128, 256, 256 ... commands: no part longer than that */
	ck_assert_uint_ge(st.parts, 5);
	gpucmd_disconnect(c);
}
END_TEST

TCase *eager_limits_tcase(void)
{
	TCase *t = tcase_create("eager_limits");
	tcase_add_checked_fixture(t, one_in_flight_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, eager_parts_respect_the_in_flight_limit);
	return t;
}

TCase *eager_tcase(void)
{
	TCase *t = tcase_create("eager");
	tcase_add_checked_fixture(t, daemon_setup_syncval, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, eager_stage_runs_in_parts_and_computes_right);
	tcase_add_test(t, eager_parts_start_before_commit_default_stages_do_not);
	tcase_add_test(t, eager_parts_wait_for_a_fence);
	tcase_add_test(t, eager_failure_mid_stage_is_reported_at_commit);
	tcase_add_test(t, eager_capture_cuts_no_parts);
	tcase_add_test(t, eager_close_and_disconnect_mid_stage);
	tcase_add_test(t, unknown_session_flags_are_refused);
	return t;
}
