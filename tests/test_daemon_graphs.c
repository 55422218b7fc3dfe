/*
 * test_daemon_graphs.c — capture and replay (issue 7, docs/ENCODER.md)
 * against a real gpucmdd with synchronization validation on: a 100-node
 * graph replays to what eager execution computes, push constants and
 * buffers can be replaced per replay, buffers the client freed stay alive
 * for the graph, a client kernel unregistered after capture stays alive for
 * it too, another process replays a graph through a token, and graphs work
 * the same on the descriptor-pool path.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

enum { N = 512, NODES = 100 };

struct fill_push {
	uint32_t n;
	float value;
};

static uint32_t kernel(gpucmd_client *c, const char *name)
{
	struct gpucmd_kernel_info k;
	ck_assert_msg(gpucmd_kernel_find(c, name, &k) == 0, "%s: %s", name, gpucmd_last_error(c));
	return k.id;
}

static gpucmd_buffer buffer(gpucmd_client *c, uint64_t size)
{
	gpucmd_buffer b;
	ck_assert_msg(gpucmd_buffer_create(c, size, 0, &b) == 0, "%s", gpucmd_last_error(c));
	return b;
}

static void fill(gpucmd_client *c, gpucmd_session s, gpucmd_buffer b, float v)
{
	struct gpucmd_binding bind = {b, 0, 0};
	struct fill_push p = {N, v};
	ck_assert_int_eq(gpucmd_dispatch(c, s, kernel(c, "fill_f32"), &bind, 1, &p, sizeof(p), N / 256, 1, 1), 0);
}

static void add(gpucmd_client *c, gpucmd_session s, gpucmd_buffer a, gpucmd_buffer b, gpucmd_buffer out)
{
	struct gpucmd_binding bind[3] = {{a, 0, 0}, {b, 0, 0}, {out, 0, 0}};
	uint32_t n = N;
	ck_assert_int_eq(gpucmd_dispatch(c, s, kernel(c, "add_f32"), bind, 3, &n, 4, N / 256, 1, 1), 0);
}

static void expect_all(gpucmd_client *c, gpucmd_buffer b, float want)
{
	float v[N];
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, v, sizeof(v)), 0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(v[i] == want, "element %d = %g, expected %g", i, v[i], want);
}

/* x = 0; then 99 times x/y ping-pong: dst = src + ones. */
static void record_chain(gpucmd_client *c, gpucmd_session s, gpucmd_buffer x, gpucmd_buffer y, gpucmd_buffer ones)
{
	fill(c, s, x, 0.0f);
	for (int i = 1; i < NODES; i++) {
		if (i % 2)
			add(c, s, x, ones, y);
		else
			add(c, s, y, ones, x);
	}
}

START_TEST(replay_of_a_100_node_graph_equals_eager_execution)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer ones = buffer(c, N * 4), xe = buffer(c, N * 4), ye = buffer(c, N * 4);
	gpucmd_buffer xg = buffer(c, N * 4), yg = buffer(c, N * 4);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(c, "graph", &s), 0);
	fill(c, s, ones, 1.0f);
	record_chain(c, s, xe, ye, ones); /* eager */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, ye, (float)(NODES - 1));
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);

	gpucmd_graph g;
	struct gpucmd_graph_info gi;
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	record_chain(c, s, xg, yg, ones);
	ck_assert_msg(gpucmd_capture_end(c, s, &g, &gi) == 0, "%s", gpucmd_last_error(c));
	ck_assert_uint_eq(gi.nodes, NODES);
	ck_assert_uint_eq(gi.dispatches, NODES);
	ck_assert_uint_eq(gi.barriers, NODES - 1);
	ck_assert_uint_eq(gi.n_slots, 3);
	ck_assert_uint_eq(gi.slot_sizes[0], N * 4);
	expect_all(c, yg, 0.0f); /* captured, not run */

	struct gpucmd_session_state before, after;
	ck_assert_int_eq(gpucmd_session_query(c, s, &before), 0);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0); /* WAW: ordered after the first */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, yg, (float)(NODES - 1));
	ck_assert_int_eq(gpucmd_session_query(c, s, &after), 0);
	ck_assert_uint_eq(after.replays, 2);
	ck_assert_uint_eq(after.dispatches - before.dispatches, 2 * NODES);
	ck_assert_uint_eq(after.barriers - before.barriers, 1);
	ck_assert_uint_eq(after.command_buffers - before.command_buffers, 1);
	ck_assert_int_eq(gpucmd_graph_free(c, g), 0);
	ck_assert_int_eq(gpucmd_graph_free(c, g), -ENOENT);
	gpucmd_disconnect(c);
}
END_TEST

/* fill(a, v) then out = a + a: replays with v = 5, then the recorded 1. */
START_TEST(replay_with_new_push_constants)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, N * 4), out = buffer(c, N * 4);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "push", &s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	fill(c, s, a, 1.0f);
	add(c, s, a, a, out);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	struct fill_push p = {N, 5.0f};
	struct gpucmd_graph_push gp = {0, &p, sizeof(p)};
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, &gp, 1, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, out, 10.0f);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, out, 2.0f);
	/* Wrong sizes and nodes are named; the session goes on. */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	gp.size = 4;
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, &gp, 1, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "4 bytes of push constants, the kernel takes 8"), "%s",
		      gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	gp = (struct gpucmd_graph_push){7, &p, sizeof(p)};
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, &gp, 1, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "beyond the graph's nodes"), "%s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
}
END_TEST

/* Rebinding a slot to a larger buffer replays on it; a smaller one is
 * refused by name. */
START_TEST(replay_with_rebound_buffers)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, N * 4), out = buffer(c, N * 4), big = buffer(c, 2 * N * 4),
		      small = buffer(c, N * 2);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "rebind", &s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	fill(c, s, a, 3.0f);
	add(c, s, a, a, out);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	struct gpucmd_graph_rebind rb = {1, big}; /* slot 1 = out */
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, &rb, 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, big, 6.0f);
	expect_all(c, out, 0.0f);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	rb.buffer = small;
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, &rb, 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ERANGE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "slot 1 needs a buffer of at least 2048 bytes"), "%s",
		      gpucmd_last_error(c));
	/* A copy whose two slots are rebound to one buffer would overlap. */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	gpucmd_graph gc;
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, a, 0, out, 0, N * 4), 0);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &gc, NULL), 0);
	struct gpucmd_graph_rebind onto_src = {1, a};
	ck_assert_int_eq(gpucmd_graph_replay(c, s, gc, NULL, 0, &onto_src, 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EINVAL);
	ck_assert_msg(strstr(gpucmd_last_error(c), "overlapping ranges of one buffer"), "%s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
}
END_TEST

/* A fill "to the end" of a 6-byte buffer from byte 4 covers its last,
 * partial word; recorded again on a rebound buffer it covers the same
 * (it was kept as 0 bytes, a fill the validation layer refuses). */
START_TEST(fill_to_the_end_of_an_odd_sized_buffer_replays_rebound)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, 6), b = buffer(c, 6);
	const uint8_t zero[6] = {0};
	ck_assert_int_eq(gpucmd_buffer_write(c, b, 0, zero, 6), 0);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "odd", &s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, a, 4, 0, 0x0201u), 0);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	struct gpucmd_graph_rebind rb = {0, b};
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, &rb, 1), 0);
	must(c, gpucmd_commit_and_wait(c, s), "replay of the fill on b");
	uint8_t got[6];
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, got, 6), 0);
	static const uint8_t want[6] = {0, 0, 0, 0, 1, 2};
	ck_assert_msg(!memcmp(got, want, 6), "b = %u %u %u %u %u %u", got[0], got[1], got[2], got[3], got[4], got[5]);
	gpucmd_disconnect(c);
}
END_TEST

/* The client frees every buffer the graph uses but the output; replays
 * still compute with them, and freeing the graph releases them. */
START_TEST(buffers_freed_by_the_client_stay_alive_for_the_graph)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, N * 4), b = buffer(c, N * 4), out = buffer(c, N * 4);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "retain", &s), 0);
	fill(c, s, a, 2.0f);
	fill(c, s, b, 5.0f);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	add(c, s, a, b, out);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, a), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, b), 0);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	ck_assert_uint_eq(info.live_buffers, 3);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, out, 7.0f);
	ck_assert_int_eq(gpucmd_graph_free(c, g), 0);
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	ck_assert_uint_eq(info.live_buffers, 1);
	gpucmd_disconnect(c);
}
END_TEST

/* Another process imports the graph by token and replays it in its own
 * session; the exporter sees the result. Freeing the graph revokes it. */
START_TEST(replay_from_another_process_through_a_token)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, N * 4), out = buffer(c, N * 4);
	gpucmd_session s;
	gpucmd_graph g;
	gpucmd_token tok;
	ck_assert_int_eq(gpucmd_session_open(c, "exporter", &s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	fill(c, s, a, 4.0f);
	add(c, s, a, a, out);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	ck_assert_int_eq(gpucmd_graph_export(c, g, &tok), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		gpucmd_client *c2 = gpucmd_connect(test_daemon.socket);
		gpucmd_session s2;
		gpucmd_graph g2;
		struct gpucmd_graph_info gi;
		int ok = c2 && gpucmd_graph_import(c2, &tok, &g2, &gi) == 0 && gi.nodes == 2 &&
			 gpucmd_session_open(c2, "importer", &s2) == 0 &&
			 gpucmd_graph_replay(c2, s2, g2, NULL, 0, NULL, 0) == 0 && gpucmd_commit_and_wait(c2, s2) == 0;
		gpucmd_disconnect(c2);
		_exit(ok ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "importer failed (status %d)", st);
	expect_all(c, out, 8.0f);
	ck_assert_int_eq(gpucmd_graph_free(c, g), 0);
	gpucmd_graph g3;
	ck_assert_int_eq(gpucmd_graph_import(c, &tok, &g3, NULL), -ENOENT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "unknown graph token"), "%s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
}
END_TEST

/* To the stage's hazard tracker a replay is one command with the graph's
 * ranges: ordered after what it reads, concurrent with what it does not
 * touch, and ordered before what overwrites its inputs. */
START_TEST(replay_is_ordered_with_the_stage_by_its_ranges)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, N * 4), other = buffer(c, N * 4), out = buffer(c, N * 4);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "mixed", &s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	add(c, s, a, a, out);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	struct gpucmd_session_state before, after;
	ck_assert_int_eq(gpucmd_session_query(c, s, &before), 0);
	fill(c, s, a, 1.0f);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0); /* RAW on a */
	fill(c, s, other, 2.0f);                                              /* independent */
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0); /* WAW on out */
	fill(c, s, a, 5.0f);                                                  /* WAR on a */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	expect_all(c, out, 2.0f);
	expect_all(c, a, 5.0f);
	expect_all(c, other, 2.0f);
	ck_assert_int_eq(gpucmd_session_query(c, s, &after), 0);
	ck_assert_uint_eq(after.barriers - before.barriers, 3);
	ck_assert_uint_eq(after.barriers_elided - before.barriers_elided, 1);
	ck_assert_uint_eq(after.concurrent_groups - before.concurrent_groups, 4);
	gpucmd_disconnect(c);
}
END_TEST

/* A failed request inside a capture fails capture_end, which makes no
 * graph; capture_end without a capture is refused. */
START_TEST(failed_capture_makes_no_graph)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a = buffer(c, N * 4);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "bad", &s), 0);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), -EBUSY);
	ck_assert_msg(strstr(gpucmd_last_error(c), "not capturing"), "%s", gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	fill(c, s, a, 1.0f);
	struct gpucmd_binding bind = {a, 0, 0};
	ck_assert_int_eq(gpucmd_dispatch(c, s, 999, &bind, 1, NULL, 0, 1, 1, 1), 0);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), -ENOENT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "no graph was made: dispatch: no kernel with id 999"), "%s",
		      gpucmd_last_error(c));
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert(!st.capturing);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0); /* the error was reported once */
	gpucmd_disconnect(c);
}
END_TEST

/* A graph holds its client kernel: unregistering the kernel (and a new
 * kernel taking the name) does not change what replays compute. */
START_TEST(graph_keeps_an_unregistered_client_kernel)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info k;
	ck_assert_msg(gpucmd_kernel_register(c, "negate", spv, len, &k) == 0, "%s", gpucmd_last_error(c));
	gpucmd_buffer in = buffer(c, N * 4), out = buffer(c, N * 4);
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_session_open(c, "client-kernel-graph", &s), 0);
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	struct gpucmd_binding bind[2] = {{in, 0, 0}, {out, 0, 0}};
	uint32_t n = N;
	ck_assert_int_eq(gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, N / 64, 1, 1), 0);
	ck_assert_msg(gpucmd_capture_end(c, s, &g, NULL) == 0, "%s", gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_kernel_unregister(c, k.id), 0);
	for (float v = 1.0f; v <= 3.0f; v += 1.0f) {
		fill(c, s, in, v);
		ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0);
		ck_assert_msg(gpucmd_commit_and_wait(c, s) == 0, "%s", gpucmd_last_error(c));
		expect_all(c, out, -v);
		ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	}
	ck_assert_int_eq(gpucmd_graph_free(c, g), 0);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

static void add_graph_tests(TCase *t)
{
	tcase_add_test(t, replay_of_a_100_node_graph_equals_eager_execution);
	tcase_add_test(t, replay_with_new_push_constants);
	tcase_add_test(t, replay_with_rebound_buffers);
	tcase_add_test(t, fill_to_the_end_of_an_odd_sized_buffer_replays_rebound);
	tcase_add_test(t, buffers_freed_by_the_client_stay_alive_for_the_graph);
	tcase_add_test(t, replay_from_another_process_through_a_token);
	tcase_add_test(t, replay_is_ordered_with_the_stage_by_its_ranges);
	tcase_add_test(t, failed_capture_makes_no_graph);
	tcase_add_test(t, graph_keeps_an_unregistered_client_kernel);
}

TCase *graphs_tcase(void)
{
	TCase *t = tcase_create("graphs");
	tcase_add_checked_fixture(t, daemon_setup_syncval, daemon_teardown);
	tcase_set_timeout(t, 120);
	add_graph_tests(t);
	return t;
}

static void syncval_pools_setup(void)
{
	const char *args[] = {"--validate-sync", "--no-push-descriptors", NULL};
	daemon_start(args);
}

/* A graph's secondary command buffer binds descriptor sets from its own
 * pools when push descriptors are off. */
TCase *graphs_pool_tcase(void)
{
	TCase *t = tcase_create("graphs_descriptor_pools");
	tcase_add_checked_fixture(t, syncval_pools_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	add_graph_tests(t);
	return t;
}
