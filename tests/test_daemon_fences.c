/*
 * test_daemon_fences.c — fences and buffers shared between processes through
 * tokens: a stage in one process waits on the GPU for another process's
 * fence, host and fd waits see the value, timed host waits end each on
 * their own, an abandoned fence fails its waiters, and guessed tokens
 * reach nothing.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define N (1u << 18)

/* Stages committed in one turn count against the in-flight limit until the
 * turn's end finds them held for a fence; the commit after them waited for
 * room, and the room they made was never told: the connection stayed
 * unread for ever, though its next commit was the one that signals. */
START_TEST(room_made_by_held_stages_resumes_their_connection)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session waiter, signaller;
	gpucmd_token tok;
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	must(c, gpucmd_session_open(c, "waiter", &waiter), "open");
	must(c, gpucmd_session_open(c, "signaller", &signaller), "open");
	must(c, gpucmd_fence_export(c, signaller, &tok), "export");
	/* Streamed, so sent in one write with the round trip at the end:
	 * max_inflight_per_client (4) stages held, then the signal. */
	for (uint32_t i = 1; i <= 4; i++) {
		ck_assert_int_eq(gpucmd_wait_fence(c, waiter, &tok, 1), 0);
		ck_assert_int_eq(gpucmd_buffer_fill(c, waiter, b, 0, 4, i), 0);
		ck_assert_int_eq(gpucmd_commit_stage(c, waiter), 0);
		ck_assert_int_eq(gpucmd_reset_for_next_stage(c, waiter), 0);
	}
	ck_assert_int_eq(gpucmd_buffer_fill(c, signaller, b, 4, 4, 7), 0);
	ck_assert_int_eq(gpucmd_fence_stage(c, signaller, "signal"), 0);
	must(c, gpucmd_commit_and_wait(c, signaller), "the signal");
	must(c, gpucmd_commit_and_wait(c, waiter), "the four held");
	uint32_t got[2];
	must(c, gpucmd_buffer_read(c, b, 0, got, sizeof(got)), "read");
	ck_assert_uint_eq(got[0], 4);
	ck_assert_uint_eq(got[1], 7);
	gpucmd_disconnect(c);
}
END_TEST

/* Process B: imports A's buffer, waits on A's fence on the GPU, doubles the
 * buffer into its own, checks it saw A's data. Exits 0 when all holds. */
static void process_b(int from_a, int to_a)
{
	gpucmd_token tf, tx;
	ck_assert_int_eq(read(from_a, &tf, sizeof(tf)), (ssize_t)sizeof(tf));
	ck_assert_int_eq(read(from_a, &tx, sizeof(tx)), (ssize_t)sizeof(tx));
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info add;
	gpucmd_buffer x, y;
	gpucmd_session s;
	int efd;
	must(c, gpucmd_kernel_find(c, "add_f32", &add), "find");
	must(c, gpucmd_buffer_import(c, &tx, &x), "import");
	must(c, gpucmd_buffer_create(c, N * 4, 0, &y), "create");
	must(c, gpucmd_session_open(c, "B", &s), "open");
	struct gpucmd_binding bind[3] = {{x, 0, 0}, {x, 0, 0}, {y, 0, 0}};
	uint32_t n = N;
	must(c, gpucmd_wait_fence(c, s, &tf, 1), "wait_fence");
	must(c, gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, N / 256, 1, 1), "dispatch");
	must(c, gpucmd_commit_stage(c, s), "commit");
	must(c, gpucmd_fence_fd(c, &tf, 1, &efd), "fence_fd");
	ck_assert_int_eq(gpucmd_fence_wait(c, &tf, 1, 0), -ETIMEDOUT);
	ck_assert_int_eq(write(to_a, "r", 1), 1); /* A may fence now */
	struct pollfd p = {efd, POLLIN, 0};
	ck_assert_int_eq(poll(&p, 1, 20000), 1);
	uint64_t v;
	ck_assert_int_eq(read(efd, &v, 8), 8);
	ck_assert_uint_eq(v, 1);
	close(efd);
	must(c, gpucmd_fence_wait(c, &tf, 1, 20000), "fence_wait");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	float *out = malloc(N * 4);
	must(c, gpucmd_buffer_read(c, y, 0, out, N * 4), "read");
	for (uint32_t i = 0; i < N; i++)
		ck_assert_msg(out[i] == 14.0f, "B saw y[%u] = %g: its stage did not wait for A's fence", i, out[i]);
	free(out);
	gpucmd_disconnect(c);
}

START_TEST(stage_in_another_process_waits_on_exported_fence)
{
	int a2b[2], b2a[2];
	ck_assert_int_eq(pipe(a2b), 0);
	ck_assert_int_eq(pipe(b2a), 0);
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info fill;
	gpucmd_buffer x;
	gpucmd_session s;
	gpucmd_token tf, tx;
	must(c, gpucmd_kernel_find(c, "fill_f32", &fill), "find");
	must(c, gpucmd_buffer_create(c, N * 4, 0, &x), "create");
	must(c, gpucmd_session_open(c, "A", &s), "open");
	must(c, gpucmd_fence_export(c, s, &tf), "fence_export");
	must(c, gpucmd_buffer_export(c, x, &tx), "buffer_export");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		process_b(a2b[0], b2a[1]);
		_exit(0);
	}
	ck_assert_int_eq(write(a2b[1], &tf, sizeof(tf)), (ssize_t)sizeof(tf));
	ck_assert_int_eq(write(a2b[1], &tx, sizeof(tx)), (ssize_t)sizeof(tx));
	char go;
	ck_assert_int_eq(read(b2a[0], &go, 1), 1);
	struct gpucmd_binding bind = {x, 0, 0};
	struct { uint32_t n; float v; } fp = {N, 7.0f};
	must(c, gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, N / 256, 1, 1), "dispatch");
	must(c, gpucmd_fence_stage(c, s, "A.fill"), "fence");
	must(c, gpucmd_flush(c), "flush"); /* streamed: send it now */
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "process B failed");
	struct gpucmd_session_state ss;
	must(c, gpucmd_session_query(c, s, &ss), "query");
	ck_assert_uint_eq(ss.fence_value, 1);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(abandoned_fence_fails_the_waiting_stage_not_the_daemon)
{
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	struct gpucmd_kernel_info fill;
	gpucmd_buffer y;
	gpucmd_session sa, sb;
	gpucmd_token tf;
	must(a, gpucmd_session_open(a, "A", &sa), "open A");
	must(a, gpucmd_fence_export(a, sa, &tf), "export");
	must(b, gpucmd_kernel_find(b, "fill_f32", &fill), "find");
	must(b, gpucmd_buffer_create(b, 4096, 0, &y), "create");
	must(b, gpucmd_session_open(b, "B", &sb), "open B");
	struct gpucmd_binding bind = {y, 0, 0};
	struct { uint32_t n; float v; } fp = {1024, 3.0f};
	int efd;
	must(b, gpucmd_fence_fd(b, &tf, 2, &efd), "fence_fd");
	must(b, gpucmd_wait_fence(b, sb, &tf, 2), "wait");
	must(b, gpucmd_dispatch(b, sb, fill.id, &bind, 1, &fp, 8, 4, 1, 1), "dispatch");
	must(b, gpucmd_commit_stage(b, sb), "commit");
	must(b, gpucmd_ping(b), "ping");
	/* A fences once (value 1), then goes away: value 2 never comes. */
	must(a, gpucmd_fence_stage(a, sa, NULL), "fence A");
	must(a, gpucmd_session_close(a, sa), "close A");
	must(a, gpucmd_ping(a), "ping A");
	ck_assert_int_eq(gpucmd_commit_and_wait(b, sb), GPUCMD_E_FENCE_ABANDONED);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(b), "abandoned"));
	uint64_t v;
	struct pollfd p = {efd, POLLIN, 0};
	ck_assert_int_eq(poll(&p, 1, 60000), 1);
	ck_assert_int_eq(read(efd, &v, 8), 8);
	ck_assert_uint_eq(v, 2);
	close(efd);
	/* the token died with its session */
	ck_assert_int_eq(gpucmd_fence_wait(b, &tf, 1, 0), -ENOENT);
	/* B goes on */
	must(b, gpucmd_reset_for_next_stage(b, sb), "reset");
	must(b, gpucmd_dispatch(b, sb, fill.id, &bind, 1, &fp, 8, 4, 1, 1), "dispatch");
	must(b, gpucmd_commit_and_wait(b, sb), "commit_and_wait");
	float x;
	must(b, gpucmd_buffer_read(b, y, 4092, &x, 4), "read");
	ck_assert(x == 3.0f);
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);
}
END_TEST

START_TEST(guessed_tokens_reach_nothing)
{
	gpucmd_client *c = connect_ok();
	gpucmd_token t;
	for (size_t i = 0; i < sizeof(t.bytes); i++)
		t.bytes[i] = (uint8_t)(i * 37 + 1);
	gpucmd_buffer b;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_import(c, &t, &b), -ENOENT);
	ck_assert_int_eq(gpucmd_fence_wait(c, &t, 1, 0), -ENOENT);
	must(c, gpucmd_session_open(c, "s", &s), "open");
	must(c, gpucmd_wait_fence(c, s, &t, 1), "wait");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ENOENT);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "unknown fence token"));
	/* a real token of a freed buffer no longer works either */
	gpucmd_token real;
	must(c, gpucmd_buffer_create(c, 64, 0, &b), "create");
	must(c, gpucmd_buffer_export(c, b, &real), "export");
	must(c, gpucmd_buffer_free(c, b), "free");
	ck_assert_int_eq(gpucmd_buffer_import(c, &real, &b), -ENOENT);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(host_wait_times_out_then_sees_the_value)
{
	gpucmd_session s;
	gpucmd_token t;
	gpucmd_client *c = connect_fenced("s", &s, &t);
	ck_assert_int_eq(gpucmd_fence_wait(c, &t, 1, 50), -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "timed out"));
	must(c, gpucmd_fence_stage(c, s, "one"), "fence");
	must(c, gpucmd_fence_wait(c, &t, 1, 10000), "wait");
	must(c, gpucmd_fence_wait(c, &t, 1, 0), "already reached");
	gpucmd_disconnect(c);
}
END_TEST

/* A host wait on its own connection, in a thread. */
struct host_wait {
	gpucmd_token t;
	uint64_t value;
	uint32_t timeout_ms;
	int r;
	pthread_t th;
};

static void *host_wait_main(void *arg)
{
	struct host_wait *w = arg;
	gpucmd_client *c = connect_ok();
	w->r = gpucmd_fence_wait(c, &w->t, w->value, w->timeout_ms);
	gpucmd_disconnect(c);
	return NULL;
}

/* Host waits parked by every connection together (status). */
static uint32_t parked(gpucmd_client *c)
{
	struct gpucmd_status st;
	must(c, gpucmd_status(c, &st), "status");
	uint32_t n = 0;
	for (size_t i = 0; i < st.n_clients; i++)
		n += st.client_list[i].fence_waiters;
	gpucmd_status_free(&st);
	return n;
}

/* Timed waits share one timer set for the earliest deadline: waits with
 * different timeouts, parked in no order of them, each end on their own;
 * the one with the earliest deadline answered by its value first leaves
 * the timer set for a deadline nobody has, and the others still time out
 * (or are answered) as they should. */
START_TEST(host_waits_with_different_timeouts_end_each_on_their_own)
{
	gpucmd_session s;
	gpucmd_token t;
	gpucmd_client *c = connect_fenced("s", &s, &t);
	struct host_wait w[4] = {
		{.value = 3, .timeout_ms = 4000}, /* times out last */
		{.value = 1, .timeout_ms = 2000}, /* the earliest deadline, answered by value 1 first */
		{.value = 3, .timeout_ms = 3000}, /* times out first */
		{.value = 2, .timeout_ms = 60000}, /* answered by value 2 after the others timed out */
	};
	for (int i = 0; i < 4; i++) {
		w[i].t = t;
		ck_assert_int_eq(pthread_create(&w[i].th, NULL, host_wait_main, &w[i]), 0);
		while (parked(c) < (uint32_t)i + 1)
			usleep(1000);
	}
	must(c, gpucmd_fence_stage(c, s, "one"), "fence 1");
	must(c, gpucmd_flush(c), "flush");
	ck_assert_int_eq(pthread_join(w[1].th, NULL), 0);
	ck_assert_int_eq(w[1].r, 0);
	ck_assert_int_eq(pthread_join(w[2].th, NULL), 0);
	ck_assert_int_eq(w[2].r, -ETIMEDOUT);
	ck_assert_int_eq(pthread_join(w[0].th, NULL), 0);
	ck_assert_int_eq(w[0].r, -ETIMEDOUT);
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_fence_stage(c, s, "two"), "fence 2");
	must(c, gpucmd_flush(c), "flush");
	ck_assert_int_eq(pthread_join(w[3].th, NULL), 0);
	ck_assert_int_eq(w[3].r, 0);
	ck_assert_uint_eq(parked(c), 0);
	ck_assert_int_eq(gpucmd_fence_wait(c, &t, 3, 20), -ETIMEDOUT);
	gpucmd_disconnect(c);
}
END_TEST

TCase *fences_tcase(void)
{
	TCase *t = tcase_create("fences");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, stage_in_another_process_waits_on_exported_fence);
	tcase_add_test(t, abandoned_fence_fails_the_waiting_stage_not_the_daemon);
	tcase_add_test(t, guessed_tokens_reach_nothing);
	tcase_add_test(t, room_made_by_held_stages_resumes_their_connection);
	tcase_add_test(t, host_wait_times_out_then_sees_the_value);
	tcase_add_test(t, host_waits_with_different_timeouts_end_each_on_their_own);
	return t;
}
