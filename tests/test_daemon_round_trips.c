/*
 * test_daemon_round_trips.c — the round-trip track (submit/job.h, issue
 * 21): a normal commit_and_wait with nothing else of its client in flight
 * goes to a track of its own (a queue of its own on a GPU; lavapipe's one
 * queue here, with its own timeline and order of retirement). A session
 * that moves between round trips and streamed stages keeps its order, and
 * a round trip waiting for a fence that bulk work signals in the same loop
 * turn goes to the queue only after that signal (else the one queue would
 * wait for a signal queued behind the wait). What the track is for, a light
 * client's round trip beside a flood, is measured on the H200
 * (BENCHMARKS.md).
 */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define N 1024 /* floats */

static uint64_t round_trip_stages(gpucmd_client *c)
{
	struct gpucmd_status st;
	must(c, gpucmd_status(c, &st), "status");
	uint64_t n = st.round_trip_stages;
	gpucmd_status_free(&st);
	return n;
}

static void axpy_ones(gpucmd_client *c, gpucmd_session s, const struct gpucmd_kernel_info *axpy, gpucmd_buffer x,
		      gpucmd_buffer y)
{
	struct gpucmd_binding bind[2] = {{x, 0, 0}, {y, 0, 0}};
	struct { uint32_t n; float alpha; } pc = {N, 1.0f};
	must(c, gpucmd_dispatch(c, s, axpy->id, bind, 2, &pc, sizeof(pc), N / 256, 1, 1), "dispatch axpy_f32");
}

/* Each round adds 1 to y five times: a round trip (nothing in flight: the
 * round-trip track), three streamed stages (the bulk track) and a
 * commit_and_wait behind them (bulk while they are in flight, else a round
 * trip). Every stage reads what the one before wrote. */
START_TEST(a_session_moving_between_round_trips_and_streamed_stages_keeps_its_order)
{
	enum { ROUNDS = 12 };
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info axpy;
	gpucmd_buffer x, y;
	gpucmd_session s;
	float ones[N], out[N];
	for (int i = 0; i < N; i++)
		ones[i] = 1.0f;
	must(c, gpucmd_kernel_find(c, "axpy_f32", &axpy), "kernel_find");
	must(c, gpucmd_buffer_create(c, sizeof(ones), 0, &x), "buffer_create x");
	must(c, gpucmd_buffer_create(c, sizeof(ones), 0, &y), "buffer_create y");
	must(c, gpucmd_buffer_write(c, x, 0, ones, sizeof(ones)), "buffer_write x");
	must(c, gpucmd_session_open(c, "mover", &s), "session_open");
	uint64_t before = round_trip_stages(c);
	for (int r = 0; r < ROUNDS; r++) {
		axpy_ones(c, s, &axpy, x, y);
		must(c, gpucmd_commit_and_wait(c, s), "round trip");
		must(c, gpucmd_reset_for_next_stage(c, s), "reset");
		for (int k = 0; k < 3; k++) {
			axpy_ones(c, s, &axpy, x, y);
			must(c, gpucmd_commit_stage(c, s), "commit_stage");
			must(c, gpucmd_reset_for_next_stage(c, s), "reset");
		}
		axpy_ones(c, s, &axpy, x, y);
		must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait behind streamed stages");
		must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	}
	uint64_t went = round_trip_stages(c) - before;
	ck_assert_msg(went >= ROUNDS && went <= 2 * ROUNDS,
		      "%llu command buffers went the round-trip way, expected one or two a round (%d rounds)",
		      (unsigned long long)went, ROUNDS);
	must(c, gpucmd_buffer_read(c, y, 0, out, sizeof(out)), "buffer_read y");
	for (int i = 0; i < N; i++)
		ck_assert_msg(out[i] == 5.0f * ROUNDS, "y[%d] = %g after %d ordered additions of 1", i, out[i],
			      5 * ROUNDS);
	gpucmd_disconnect(c);
}
END_TEST

struct waiter {
	gpucmd_client *c;
	gpucmd_session s;
	gpucmd_buffer src, dst;
	gpucmd_token fence;
	int done_w;
	int rc;
};

/* The light client's round trip: copy what the other client's fenced stage
 * wrote, once the fence says it is there. */
static void *round_trip_after_fence(void *arg)
{
	struct waiter *w = arg;
	w->rc = gpucmd_wait_fence(w->c, w->s, &w->fence, 1);
	if (w->rc == 0)
		w->rc = gpucmd_buffer_copy(w->c, w->s, w->src, 0, w->dst, 0, N * sizeof(float));
	if (w->rc == 0)
		w->rc = gpucmd_commit_and_wait(w->c, w->s);
	(void)!write(w->done_w, "x", 1);
	return NULL;
}

START_TEST(a_round_trip_waits_for_a_fence_that_bulk_work_signals_in_the_same_turn)
{
	gpucmd_client *bulk = connect_ok(), *light = connect_ok();
	struct gpucmd_kernel_info fill;
	gpucmd_buffer shared;
	gpucmd_session a;
	gpucmd_token buf_token;
	struct waiter w = {.c = light};
	int done[2];
	ck_assert_int_eq(pipe(done), 0);
	w.done_w = done[1];
	must(bulk, gpucmd_kernel_find(bulk, "fill_f32", &fill), "kernel_find");
	must(bulk, gpucmd_buffer_create(bulk, N * sizeof(float), 0, &shared), "buffer_create");
	must(bulk, gpucmd_buffer_export(bulk, shared, &buf_token), "buffer_export");
	must(bulk, gpucmd_session_open(bulk, "bulk", &a), "session_open");
	must(bulk, gpucmd_fence_export(bulk, a, &w.fence), "fence_export");
	must(light, gpucmd_buffer_import(light, &buf_token, &w.src), "buffer_import");
	must(light, gpucmd_buffer_create(light, N * sizeof(float), 0, &w.dst), "buffer_create");
	must(light, gpucmd_session_open(light, "light", &w.s), "session_open");
	uint64_t before = round_trip_stages(light);

	/* Both clients' requests wait in their sockets while the daemon is
	 * stopped, so that one loop turn reads them all. */
	ck_assert_int_eq(kill(test_daemon.pid, SIGSTOP), 0);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, round_trip_after_fence, &w), 0);
	usleep(100000);
	struct gpucmd_binding bind = {shared, 0, 0};
	struct { uint32_t n; float v; } fp = {N, 7.0f};
	must(bulk, gpucmd_dispatch(bulk, a, fill.id, &bind, 1, &fp, sizeof(fp), N / 256, 1, 1), "dispatch fill_f32");
	must(bulk, gpucmd_fence_stage(bulk, a, NULL), "fence_stage");
	must(bulk, gpucmd_flush(bulk), "flush");
	usleep(100000);
	ck_assert_int_eq(kill(test_daemon.pid, SIGCONT), 0);
	struct pollfd p = {.fd = done[0], .events = POLLIN};
	int ready = poll(&p, 1, 20000);
	ck_assert_msg(ready == 1, "the round trip waiting for the bulk stage's fence has not ended after 20 s "
				  "(queued ahead of the signal it waits for?)");
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(w.rc, 0);
	ck_assert_uint_eq(round_trip_stages(light) - before, 1);
	float out[N];
	must(light, gpucmd_buffer_read(light, w.dst, 0, out, sizeof(out)), "buffer_read");
	for (int i = 0; i < N; i++)
		ck_assert_msg(out[i] == 7.0f, "dst[%d] = %g: the copy ran before the fenced fill", i, out[i]);
	must(bulk, gpucmd_commit_and_wait(bulk, a), "bulk drained");
	close(done[0]), close(done[1]);
	gpucmd_disconnect(light);
	gpucmd_disconnect(bulk);
}
END_TEST

TCase *round_trips_tcase(void)
{
	TCase *t = tcase_create("round_trips");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, a_session_moving_between_round_trips_and_streamed_stages_keeps_its_order);
	tcase_add_test(t, a_round_trip_waits_for_a_fence_that_bulk_work_signals_in_the_same_turn);
	return t;
}
