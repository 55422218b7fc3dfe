/*
 * test_daemon_timing.c — GPU timing (issue 7, docs/ENCODER.md) against a
 * real gpucmdd on lavapipe, which writes timestamps: per-command durations
 * with stage and command-buffer labels, commit_and_wait's GPU start and
 * end, GPU time per session and daemon-wide, and `gpucmd trace` writing a
 * Chrome trace from another process.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

enum { N = 4096 };

static void add(gpucmd_client *c, gpucmd_session s, uint32_t k, gpucmd_buffer a, gpucmd_buffer out)
{
	struct gpucmd_binding bind[3] = {{a, 0, 0}, {a, 0, 0}, {out, 0, 0}};
	uint32_t n = N;
	ck_assert_int_eq(gpucmd_dispatch(c, s, k, bind, 3, &n, 4, N / 256, 1, 1), 0);
}

/* Two buffers of N floats and a session named `name` with profiling on. */
static gpucmd_session profiled(gpucmd_client *c, const char *name, gpucmd_buffer *a, gpucmd_buffer *o)
{
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, o), 0);
	ck_assert_int_eq(gpucmd_session_open(c, name, &s), 0);
	ck_assert_int_eq(gpucmd_profile(c, s, true), 0);
	return s;
}

/* Two stages of a profiled session: every command is timed inside its
 * command buffer, labels come back, and the GPU time adds up. */
START_TEST(profiled_session_times_each_command_and_command_buffer)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info k;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &k), 0);
	gpucmd_buffer a, o1, o2;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &o1), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &o2), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "timed", &s), 0);
	ck_assert_int_eq(gpucmd_profile(c, s, true), 0);
	ck_assert_int_eq(gpucmd_begin_stage(c, s, "first"), 0);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, a, 0, 0, 0x3f800000), 0);
	add(c, s, k.id, a, o1);
	add(c, s, k.id, a, o2);
	struct gpucmd_gpu_times t1, t2;
	ck_assert_int_eq(gpucmd_commit_and_wait_timed(c, s, &t1), 0);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_begin_stage(c, s, "second"), 0);
	add(c, s, k.id, o1, o2);
	ck_assert_int_eq(gpucmd_commit_and_wait_timed(c, s, &t2), 0);
	ck_assert_msg(t1.start_ns && t1.end_ns >= t1.start_ns, "first: %lu..%lu", (unsigned long)t1.start_ns,
		      (unsigned long)t1.end_ns);
	ck_assert_msg(t2.start_ns >= t1.end_ns, "the second stage ran after the first");

	struct gpucmd_profile p;
	ck_assert_msg(gpucmd_profile_fetch(c, s, NULL, true, &p) == 0, "%s", gpucmd_last_error(c));
	ck_assert_str_eq(p.session, "timed");
	ck_assert_uint_eq(p.n_command_buffers, 2);
	ck_assert_uint_eq(p.n_commands, 4);
	ck_assert_str_eq(p.command_buffers[0].label, "first");
	ck_assert_str_eq(p.command_buffers[1].label, "second");
	ck_assert_uint_eq(p.command_buffers[0].commands, 3);
	ck_assert_uint_eq(p.command_buffers[0].start_ns, t1.start_ns);
	ck_assert_uint_eq(p.command_buffers[1].end_ns, t2.end_ns);
	const char *names[4] = {"buffer fill", "add_f32", "add_f32", "add_f32"};
	const char *stages[4] = {"first", "first", "first", "second"};
	for (int i = 0; i < 4; i++) {
		const struct gpucmd_timed_command *cmd = &p.commands[i];
		const struct gpucmd_timed_command_buffer *cb = &p.command_buffers[i < 3 ? 0 : 1];
		ck_assert_str_eq(cmd->name, names[i]);
		ck_assert_str_eq(cmd->stage, stages[i]);
		ck_assert_uint_eq(cmd->command_buffer, cb->serial);
		ck_assert_msg(cmd->start_ns >= cb->start_ns && cmd->end_ns >= cmd->start_ns && cmd->end_ns <= cb->end_ns,
			      "command %d (%lu..%lu) outside its command buffer (%lu..%lu)", i,
			      (unsigned long)cmd->start_ns, (unsigned long)cmd->end_ns, (unsigned long)cb->start_ns,
			      (unsigned long)cb->end_ns);
	}
	uint64_t gpu = (t1.end_ns - t1.start_ns) + (t2.end_ns - t2.start_ns);
	ck_assert_uint_eq(p.gpu_ns, gpu);
	gpucmd_profile_free(&p);
	/* Cleared: the next fetch is empty, the totals stay. */
	ck_assert_int_eq(gpucmd_profile_fetch(c, s, NULL, false, &p), 0);
	ck_assert_uint_eq(p.n_command_buffers + p.n_commands, 0);
	gpucmd_profile_free(&p);
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert(st.profiling);
	ck_assert_uint_eq(st.gpu_ns, gpu);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	ck_assert_uint_eq(info.gpu_ns, gpu);
	ck_assert_uint_gt(info.timestamp_valid_bits, 0);
	struct gpucmd_memory_report m;
	ck_assert_int_eq(gpucmd_memory_report(c, &m), 0);
	free(m.clients);
	ck_assert_uint_eq(m.self.gpu_ns, gpu); /* per connection, for `gpucmd memory` */
	struct gpucmd_status status;
	ck_assert_int_eq(gpucmd_status(c, &status), 0); /* and `gpucmd status`, per client and session */
	ck_assert_uint_eq(status.n_clients, 1);
	ck_assert_uint_eq(status.client_list[0].memory.gpu_ns, gpu);
	ck_assert_uint_eq(status.client_list[0].n_sessions, 1);
	ck_assert_uint_eq(status.client_list[0].sessions[0].gpu_ns, gpu);
	gpucmd_status_free(&status);
	/* Turned off: no more records, and commit_and_wait_timed gives zeros. */
	ck_assert_int_eq(gpucmd_profile(c, s, false), 0);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	add(c, s, k.id, a, o1);
	ck_assert_int_eq(gpucmd_commit_and_wait_timed(c, s, &t1), 0);
	ck_assert_uint_eq(t1.start_ns + t1.end_ns, 0);
	ck_assert_int_eq(gpucmd_profile_fetch(c, s, NULL, false, &p), 0);
	ck_assert_uint_eq(p.n_commands, 0);
	gpucmd_profile_free(&p);
	gpucmd_disconnect(c);
}
END_TEST

/* A profile names each command's kernel after the kernel is gone: the
 * records kept pointers to names the kernel owned, which unregistering
 * freed (a kernel registered next took the memory and its name). */
START_TEST(a_profile_names_kernels_unregistered_since)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info k;
	gpucmd_buffer a, o;
	gpucmd_session s = profiled(c, "timed", &a, &o);
	struct gpucmd_binding bind[2] = {{a, 0, 0}, {o, 0, 0}};
	uint32_t n = N;
	/* One retired before the unregister, one in flight across it. */
	for (int i = 0; i < 2; i++) {
		must(c, gpucmd_kernel_register(c, i ? "negate_in_flight" : "negate_retired", spv, len, &k), "register");
		ck_assert_int_eq(gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, N / 64, 1, 1), 0);
		if (i == 0) {
			must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
			ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
		} else {
			ck_assert_int_eq(gpucmd_commit_stage(c, s), 0);
		}
		must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
		must(c, gpucmd_kernel_register(c, "a_kernel_registered_after", spv, len, &k), "register another");
		must(c, gpucmd_kernel_unregister(c, k.id), "unregister another");
	}
	/* A stage after it, waited for: the one in flight retired first. */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, o, 0, 0, 0), 0);
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	struct gpucmd_profile p;
	must(c, gpucmd_profile_fetch(c, s, NULL, true, &p), "profile_fetch");
	ck_assert_uint_eq(p.n_commands, 3);
	ck_assert_str_eq(p.commands[0].name, "negate_retired");
	ck_assert_str_eq(p.commands[1].name, "negate_in_flight");
	gpucmd_profile_free(&p);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* A profiled session keeps about 1 MiB of records until it closes: one
 * connection keeps them for 16 sessions at most (1,024 sessions of one
 * client held a GiB), and closing one makes room. */
START_TEST(profiled_sessions_per_connection_are_bounded)
{
	gpucmd_client *c = connect_ok();
	gpucmd_session s[17];
	for (int i = 0; i < 17; i++)
		ck_assert_int_eq(gpucmd_session_open(c, "profiled", &s[i]), 0);
	for (int i = 0; i < 16; i++) {
		ck_assert_int_eq(gpucmd_profile(c, s[i], true), 0);
		must(c, gpucmd_commit_and_wait(c, s[i]), "profile");
	}
	/* Streamed: the refusal comes with the session's next wait. */
	ck_assert_int_eq(gpucmd_profile(c, s[16], true), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s[16]), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "16 sessions of this connection keep timing records"), "%s",
		      gpucmd_last_error(c));
	/* Turned off, a session keeps its records; closed, it gives them back. */
	ck_assert_int_eq(gpucmd_profile(c, s[0], false), 0);
	ck_assert_int_eq(gpucmd_profile(c, s[16], true), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s[16]), -EMFILE);
	must(c, gpucmd_session_close(c, s[0]), "close");
	ck_assert_int_eq(gpucmd_profile(c, s[16], true), 0);
	must(c, gpucmd_commit_and_wait(c, s[16]), "profile after a close");
	struct gpucmd_session_state st;
	must(c, gpucmd_session_query(c, s[16], &st), "query");
	ck_assert(st.profiling);
	gpucmd_disconnect(c);
}
END_TEST

/* A graph replay is one timed command; fetching a session that never
 * profiled is refused by name. */
START_TEST(graph_replay_is_one_timed_command)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info k;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &k), 0);
	gpucmd_buffer a, o;
	gpucmd_session s;
	gpucmd_graph g;
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &o), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "replayed", &s), 0);
	struct gpucmd_profile p;
	ck_assert_int_eq(gpucmd_profile_fetch(c, s, NULL, false, &p), -ENOENT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "profiling was never turned on"), "%s", gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_capture_begin(c, s), 0);
	add(c, s, k.id, a, o);
	add(c, s, k.id, o, a);
	ck_assert_int_eq(gpucmd_capture_end(c, s, &g, NULL), 0);
	ck_assert_int_eq(gpucmd_profile(c, s, true), 0);
	ck_assert_int_eq(gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	ck_assert_int_eq(gpucmd_profile_fetch(c, s, NULL, false, &p), 0);
	ck_assert_uint_eq(p.n_commands, 1);
	ck_assert_str_eq(p.commands[0].name, "replay of a graph");
	gpucmd_profile_free(&p);
	gpucmd_disconnect(c);
}
END_TEST

/* `gpucmd trace --session LABEL` from another process writes a Chrome
 * trace with the stage and the dispatch. */
START_TEST(cli_trace_writes_chrome_trace_json)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info k;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &k), 0);
	gpucmd_buffer a, o;
	gpucmd_session s = profiled(c, "traced \"job\"", &a, &o);
	ck_assert_int_eq(gpucmd_begin_stage(c, s, "stage-A"), 0);
	add(c, s, k.id, a, o);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	char path[96], cmd[512];
	snprintf(path, sizeof(path), "%s/trace.json", test_daemon.dir);
	const char *b = getenv("GPUCMD_BUILD");
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s trace --session 'traced \"job\"' -o %s >/dev/null",
		 b && *b ? b : "build", test_daemon.socket, path);
	ck_assert_int_eq(system(cmd), 0);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char json[65536];
	size_t n = fread(json, 1, sizeof(json) - 1, f);
	fclose(f);
	unlink(path);
	json[n] = '\0';
	ck_assert_msg(strstr(json, "\"traceEvents\":["), "%s", json);
	ck_assert_msg(strstr(json, "{\"name\":\"stage-A\",\"cat\":\"command_buffer\",\"ph\":\"X\""), "%s", json);
	ck_assert_msg(strstr(json, "{\"name\":\"add_f32\",\"cat\":\"command\",\"ph\":\"X\""), "%s", json);
	ck_assert_msg(strstr(json, "\"args\":{\"stage\":\"stage-A\""), "%s", json);
	ck_assert_msg(strstr(json, "\"args\":{\"name\":\"traced \\\"job\\\"\"}"), "%s", json);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s trace --session nobody -o %s 2>/dev/null",
		 b && *b ? b : "build", test_daemon.socket, path);
	int st = system(cmd);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	gpucmd_disconnect(c);
}
END_TEST

/* Without profiling, every command buffer's GPU time counts to its client
 * (gpu_accounting = yes), and status shows the client's share of the GPU over
 * the last second. A second client that does nothing shows none. */
START_TEST(status_shows_gpu_time_and_utilisation_without_profiling)
{
	daemon_launch(&(struct daemon_launch){.config = "[daemon]\ngpu_accounting = yes\n"});
	gpucmd_client *c = connect_ok(), *idle = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	must(c, gpucmd_buffer_create(c, 16u << 20, 0, &b), "create");
	must(c, gpucmd_session_open(c, "busy", &s), "open");
	struct gpucmd_status st = {0};
	const struct gpucmd_client_status *mine = NULL;
	/* Keep the GPU busy until a status shows it (the share is worked out
	 * once a second): a state, bounded only by the test's timeout. */
	for (int round = 0; !mine || !mine->gpu_util; round++) {
		gpucmd_status_free(&st);
		for (int i = 0; i < 8; i++)
			must(c, gpucmd_buffer_fill(c, s, b, 0, 0, (uint32_t)i), "fill");
		must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
		must(c, gpucmd_reset_for_next_stage(c, s), "reset");
		must(idle, gpucmd_status(idle, &st), "status");
		mine = NULL;
		for (size_t i = 0; i < st.n_clients; i++)
			if (st.client_list[i].n_sessions == 1)
				mine = &st.client_list[i];
		ck_assert_ptr_nonnull(mine);
		ck_assert_msg(mine->memory.gpu_ns > 0, "round %d: no GPU time counted without profiling", round);
	}
	ck_assert_uint_le(mine->gpu_util, 1000);
	for (size_t i = 0; i < st.n_clients; i++)
		if (&st.client_list[i] != mine) {
			ck_assert_uint_eq(st.client_list[i].gpu_util, 0);
			ck_assert_uint_eq(st.client_list[i].memory.gpu_ns, 0);
		}
	gpucmd_status_free(&st);
	gpucmd_disconnect(idle);
	gpucmd_disconnect(c);
}
END_TEST

/* gpu_accounting = no (the default): nothing is timed unless a session
 * profiles. */
START_TEST(gpu_accounting_can_be_turned_off)
{
	daemon_launch(&(struct daemon_launch){.config = "[daemon]\ngpu_accounting = no\n"});
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	must(c, gpucmd_buffer_create(c, 1u << 20, 0, &b), "create");
	must(c, gpucmd_session_open(c, "quiet", &s), "open");
	must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 1), "fill");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	struct gpucmd_memory_report m = {0};
	must(c, gpucmd_memory_report(c, &m), "memory");
	ck_assert_uint_eq(m.self.gpu_ns, 0);
	free(m.clients);
	gpucmd_disconnect(c);
}
END_TEST

TCase *timing_tcase(void)
{
	TCase *t = tcase_create("timing");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, profiled_session_times_each_command_and_command_buffer);
	tcase_add_test(t, graph_replay_is_one_timed_command);
	tcase_add_test(t, a_profile_names_kernels_unregistered_since);
	tcase_add_test(t, profiled_sessions_per_connection_are_bounded);
	tcase_add_test(t, cli_trace_writes_chrome_trace_json);
	return t;
}

TCase *timing_config_tcase(void)
{
	TCase *t = tcase_create("timing_config");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, status_shows_gpu_time_and_utilisation_without_profiling);
	tcase_add_test(t, gpu_accounting_can_be_turned_off);
	return t;
}
