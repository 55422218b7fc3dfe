/*
 * test_daemon_sharing.c — many processes on one daemon (issue 9): sixteen
 * clients computing at once, clients killed at random while the rest go
 * on, a flooding client held back by backpressure while others progress,
 * priorities, count limits and allow lists, and a status report that shows
 * what is really there.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* One client's work: x += 1 in `stages` fenced stages; 0 when x == stages. */
static int chain(gpucmd_client *c, int stages)
{
	struct gpucmd_kernel_info add;
	gpucmd_buffer x, one;
	gpucmd_session s;
	float ones[64], v[64] = {0};
	for (int i = 0; i < 64; i++)
		ones[i] = 1.0f;
	if (gpucmd_kernel_find(c, "add_f32", &add) || gpucmd_buffer_create(c, sizeof(v), 0, &x) ||
	    gpucmd_buffer_create(c, sizeof(ones), 0, &one) || gpucmd_buffer_write(c, one, 0, ones, sizeof(ones)) ||
	    gpucmd_session_open(c, "chain", &s))
		return 1;
	struct gpucmd_binding b[3] = {{x, 0, 0}, {one, 0, 0}, {x, 0, 0}};
	uint32_t n = 64;
	for (int i = 0; i < stages; i++)
		if (gpucmd_dispatch(c, s, add.id, b, 3, &n, 4, 1, 1, 1) || gpucmd_fence_stage(c, s, "step") ||
		    gpucmd_reset_for_next_stage(c, s))
			return 2;
	if (gpucmd_commit_and_wait(c, s) || gpucmd_buffer_read(c, x, 0, v, sizeof(v)))
		return 3;
	for (int i = 0; i < 64; i++)
		if (v[i] != (float)stages)
			return 4;
	gpucmd_session_close(c, s);
	gpucmd_buffer_free(c, x);
	gpucmd_buffer_free(c, one);
	return 0;
}

static pid_t spawn_chain(int stages, int rounds)
{
	pid_t pid = fork();
	if (pid == 0) {
		gpucmd_client *c = gpucmd_connect(test_daemon.socket);
		int r = c ? 0 : 9;
		for (int i = 0; r == 0 && (rounds < 0 || i < rounds); i++)
			r = chain(c, stages);
		gpucmd_disconnect(c);
		_exit(r);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

/* Waits until the daemon holds nothing for the clients that left. */
static struct gpucmd_status settled(gpucmd_client *c, uint32_t clients)
{
	struct gpucmd_status st = {0};
	for (int i = 0; i < 500; i++) {
		gpucmd_status_free(&st);
		ck_assert_int_eq(gpucmd_status(c, &st), 0);
		if (st.clients == clients && st.live_buffers == 0 && st.live_sessions == 0)
			break;
		usleep(10000);
	}
	return st;
}

START_TEST(sixteen_processes_compute_at_once)
{
	pid_t pids[16];
	for (int i = 0; i < 16; i++)
		pids[i] = spawn_chain(40, 2);
	for (int i = 0; i < 16; i++) {
		int st;
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d: status %d", i, st);
	}
	gpucmd_client *c = connect_ok();
	struct gpucmd_status st = settled(c, 1);
	ck_assert_uint_eq(st.live_buffers, 0);
	ck_assert_uint_eq(st.live_sessions, 0);
	ck_assert_uint_ge(st.submissions, 16 * 2 * 41);
	gpucmd_status_free(&st);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(clients_killed_at_random_leave_the_others_whole)
{
	gpucmd_client *c = connect_ok();
	pid_t doomed[4], kept[4];
	for (int i = 0; i < 4; i++) {
		doomed[i] = spawn_chain(20, -1);
		kept[i] = spawn_chain(20, 6);
	}
	srand(42);
	for (int i = 0; i < 4; i++) {
		usleep(20000 + rand() % 80000);
		kill(doomed[i], SIGKILL);
	}
	for (int i = 0; i < 4; i++) {
		int st;
		ck_assert_int_eq(waitpid(doomed[i], &st, 0), doomed[i]);
		ck_assert_msg(WIFSIGNALED(st), "client %d ended by itself with status %d before it was killed", i,
			      WEXITSTATUS(st));
		ck_assert_int_eq(waitpid(kept[i], &st, 0), kept[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "surviving client %d: status %d", i, st);
	}
	struct gpucmd_status st = settled(c, 1);
	ck_assert_uint_eq(st.live_buffers, 0);
	ck_assert_uint_eq(st.live_sessions, 0);
	ck_assert_uint_eq(st.client_list[0].memory.bytes, 0);
	gpucmd_status_free(&st);
	struct gpucmd_memory_report m;
	ck_assert_int_eq(gpucmd_memory_report(c, &m), 0);
	ck_assert_uint_eq(m.user.bytes, 0);
	ck_assert_uint_eq(m.user.buffers, 0);
	free(m.clients);
	gpucmd_disconnect(c);
}
END_TEST

/* A client that streams heavy stages as fast as it can is not read past
 * max_inflight_per_client command buffers on the GPU, and a light client
 * finishes its round trips while the flood is still going. */
START_TEST(a_flooding_client_is_held_back_while_others_progress)
{
	daemon_start((const char *const[]){"--max-inflight-per-client", "2", NULL});
	enum { FLOOD = 150 };
	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t flooder = fork();
	if (flooder == 0) {
		gpucmd_client *f = gpucmd_connect(test_daemon.socket);
		struct gpucmd_kernel_info fill;
		gpucmd_buffer b;
		gpucmd_session s;
		if (!f || gpucmd_kernel_find(f, "fill_f32", &fill) || gpucmd_buffer_create(f, 4 << 20, 0, &b) ||
		    gpucmd_session_open(f, "flood", &s))
			_exit(1);
		(void)!write(go[1], "x", 1);
		struct gpucmd_binding bind = {b, 0, 0};
		struct { uint32_t n; float v; } fp = {1u << 20, 1.0f};
		for (int i = 0; i < FLOOD; i++) {
			for (int k = 0; k < 4; k++)
				gpucmd_dispatch(f, s, fill.id, &bind, 1, &fp, 8, 4096, 1, 1);
			gpucmd_commit_stage(f, s);
			gpucmd_reset_for_next_stage(f, s);
		}
		_exit(gpucmd_commit_and_wait(f, s) == 0 ? 0 : 2);
	}
	char x;
	ck_assert_int_eq(read(go[0], &x, 1), 1);
	gpucmd_client *c = connect_ok(), *light = connect_ok();
	bool saw_stalled = false;
	uint32_t most = 0;
	uint64_t flood_done_when_light_done = 0;
	float one = 1.0f, out[4];
	for (int round = 0; round < 30; round++) {
		struct gpucmd_status st;
		ck_assert_int_eq(gpucmd_status(c, &st), 0);
		for (size_t i = 0; i < st.n_clients; i++) {
			const struct gpucmd_client_status *cl = &st.client_list[i];
			if (cl->pid != flooder)
				continue;
			most = cl->in_flight > most ? cl->in_flight : most;
			saw_stalled |= cl->stalled;
			if (cl->n_sessions)
				flood_done_when_light_done = cl->sessions[0].completed;
		}
		gpucmd_status_free(&st);
		ck_assert_int_eq(run_binary_kernel(light, "fill_f32", &one, NULL, out, 4), 0);
	}
	ck_assert_msg(most <= 2, "the flooder had %u command buffers on the GPU, the limit is 2", most);
	ck_assert_msg(saw_stalled, "the flooder was never held back");
	ck_assert_msg(flood_done_when_light_done < FLOOD,
		      "the light client finished only after the flood (%llu of %d stages done)",
		      (unsigned long long)flood_done_when_light_done, FLOOD);
	int st;
	ck_assert_int_eq(waitpid(flooder, &st, 0), flooder);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "flooder status %d", st);
	gpucmd_disconnect(light);
	gpucmd_disconnect(c);
}
END_TEST

/* Work that became ready in the same turn goes to the GPU high first. */
START_TEST(high_priority_work_is_submitted_first)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info fill;
	gpucmd_buffer b;
	gpucmd_session low, high, normal;
	ck_assert_int_eq(gpucmd_kernel_find(c, "fill_f32", &fill), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 4096, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open_priority(c, "low", GPUCMD_PRIORITY_LOW, &low), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "normal", &normal), 0);
	ck_assert_int_eq(gpucmd_session_open_priority(c, "high", GPUCMD_PRIORITY_HIGH, &high), 0);
	ck_assert_int_eq(gpucmd_session_open_priority(c, "bad", 7, &(gpucmd_session){0}), -EINVAL);
	struct gpucmd_binding bind = {b, 0, 0};
	struct { uint32_t n; float v; } fp = {1024, 1.0f};
	gpucmd_session order[3] = {low, normal, high}; /* committed in this order, in one batch */
	for (int i = 0; i < 3; i++) {
		fp.v = (float)i;
		ck_assert_int_eq(gpucmd_dispatch(c, order[i], fill.id, &bind, 1, &fp, 8, 4, 1, 1), 0);
		ck_assert_int_eq(gpucmd_commit_stage(c, order[i]), 0);
	}
	ck_assert_int_eq(gpucmd_ping(c), 0); /* handled in the commits' turn: they are submitted after it */
	struct gpucmd_session_state sl, sn, sh;
	ck_assert_int_eq(gpucmd_session_query(c, low, &sl), 0);
	ck_assert_int_eq(gpucmd_session_query(c, normal, &sn), 0);
	ck_assert_int_eq(gpucmd_session_query(c, high, &sh), 0);
	ck_assert_msg(sh.submit_order < sn.submit_order && sn.submit_order < sl.submit_order,
		      "submitted in order high %llu, normal %llu, low %llu", (unsigned long long)sh.submit_order,
		      (unsigned long long)sn.submit_order, (unsigned long long)sl.submit_order);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, low), 0);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(status_shows_what_is_there)
{
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	gpucmd_buffer x;
	gpucmd_session s1, s2, s3;
	ck_assert_int_eq(gpucmd_buffer_create(a, 10000, 0, &x), 0);
	ck_assert_int_eq(gpucmd_buffer_create(a, 5000, 0, &x), 0);
	ck_assert_int_eq(gpucmd_session_open(a, "a1", &s1), 0);
	ck_assert_int_eq(gpucmd_session_open_priority(a, "a2", GPUCMD_PRIORITY_LOW, &s2), 0);
	ck_assert_int_eq(gpucmd_session_open(b, "b1", &s3), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(a, s1), 0);
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(b, &st), 0);
	ck_assert_uint_eq(st.clients, 2);
	ck_assert_uint_eq(st.live_sessions, 3);
	ck_assert_uint_eq(st.live_buffers, 2);
	ck_assert_uint_eq(st.n_clients, 2);
	const struct gpucmd_client_status *ca = &st.client_list[0], *cb = &st.client_list[1];
	ck_assert_int_eq(ca->pid, getpid());
	ck_assert_uint_eq(ca->uid, getuid());
	ck_assert_uint_eq(ca->n_sessions, 2);
	ck_assert_uint_eq(ca->memory.bytes, 15000);
	ck_assert_uint_eq(ca->memory.buffers, 2);
	ck_assert_str_eq(ca->sessions[0].label, "a1");
	ck_assert_uint_eq(ca->sessions[0].command_buffers, 1);
	ck_assert_uint_eq(ca->sessions[0].completed, 1);
	ck_assert_int_eq(ca->sessions[1].priority, GPUCMD_PRIORITY_LOW);
	ck_assert_uint_eq(cb->n_sessions, 1);
	ck_assert_str_eq(cb->sessions[0].label, "b1");
	ck_assert_uint_eq(cb->memory.bytes, 0);
	gpucmd_status_free(&st);
	/* the CLI prints the same in every format */
	char cmd[512], out[8192];
	for (int f = 0; f < 3; f++) {
		snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s status %s", getenv("GPUCMD_BUILD"), test_daemon.socket,
			 (const char *[]){"", "--json", "--prometheus"}[f]);
		FILE *p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		size_t n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		ck_assert_int_eq(pclose(p), 0);
		const char *want[] = {"\"a2\" low", "\"label\":\"a2\",\"priority\":\"low\"", "gpucmd_client_memory_bytes{"};
		ck_assert_msg(strstr(out, want[f]), "status output lacks '%s':\n%s", want[f], out);
		if (f == 2)
			ck_assert_msg(strstr(out, "gpucmd_clients 2\n"), "the scraper counts itself:\n%s", out);
	}
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);
}
END_TEST

static void add_sharing_tests(TCase *t)
{
	tcase_set_timeout(t, 180);
	tcase_add_test(t, sixteen_processes_compute_at_once);
	tcase_add_test(t, clients_killed_at_random_leave_the_others_whole);
	tcase_add_test(t, high_priority_work_is_submitted_first);
	tcase_add_test(t, status_shows_what_is_there);
}

TCase *sharing_tcase(void)
{
	TCase *t = tcase_create("sharing");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	add_sharing_tests(t);
	return t;
}

/* The loop thread's poll after a commit_and_wait is off on lavapipe by
 * default (it would take a core from the driver); here it is on, long
 * enough that lavapipe's small stages finish inside it, so that answering
 * from the poll (and clients polling for replies, as the handshake
 * advises) is exercised with many clients, kills and backpressure. */
static void loop_poll_setup(void)
{
	daemon_start((const char *const[]){"--loop-poll-us", "2000", NULL});
}

START_TEST(handshake_advises_the_reply_poll)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_info i;
	ck_assert_int_eq(gpucmd_info(c, &i), 0);
	ck_assert_uint_eq(i.reply_poll_us, 2000);
	gpucmd_disconnect(c);
}
END_TEST

TCase *sharing_loop_poll_tcase(void)
{
	TCase *t = tcase_create("sharing-loop-poll");
	tcase_add_checked_fixture(t, loop_poll_setup, daemon_teardown);
	add_sharing_tests(t);
	tcase_add_test(t, handshake_advises_the_reply_poll);
	return t;
}

/* ---- limits and access: each test starts its daemon ---- */

START_TEST(count_limits_are_named)
{
	daemon_start((const char *const[]){"--max-clients-per-uid", "2", "--max-sessions-per-uid", "2",
					   "--max-buffers-per-client", "3", "--max-kernels-per-client", "2",
					   "--max-kernels-per-uid", "3", NULL});
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	ck_assert_ptr_null(gpucmd_connect(test_daemon.socket));
	ck_assert_msg(strstr(gpucmd_last_error(NULL), "max_clients_per_uid"), "%s", gpucmd_last_error(NULL));
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(a, "1", &s), 0);
	ck_assert_int_eq(gpucmd_session_open(b, "2", &s), 0);
	ck_assert_int_eq(gpucmd_session_open(b, "3", &s), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(b), "max_sessions_per_uid"), "%s", gpucmd_last_error(b));
	gpucmd_buffer x;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(gpucmd_buffer_create(a, 64, 0, &x), 0);
	ck_assert_int_eq(gpucmd_buffer_create(a, 64, 0, &x), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(a), "max_buffers_per_client"), "%s", gpucmd_last_error(a));
	ck_assert_int_eq(gpucmd_buffer_create(b, 64, 0, &x), 0);
	/* Client kernels: two on a, the third refused; one more on b, then the uid is full. */
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	uint32_t *w = (uint32_t *)spv;
	const char *names[] = {"k1", "k2", "k3", "k4", "k5"};
	for (int i = 0; i < 2; i++, w[3]++) /* a raised id bound: valid, and distinct bytes */
		ck_assert_int_eq(gpucmd_kernel_register(a, names[i], spv, len, NULL), 0);
	ck_assert_int_eq(gpucmd_kernel_register(a, names[2], spv, len, NULL), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(a), "max_kernels_per_client"), "%s", gpucmd_last_error(a));
	ck_assert_int_eq(gpucmd_kernel_register(b, names[3], spv, len, NULL), 0);
	w[3]++;
	ck_assert_int_eq(gpucmd_kernel_register(b, names[4], spv, len, NULL), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(b), "max_kernels_per_uid"), "%s", gpucmd_last_error(b));
	free(spv);
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);
}
END_TEST

START_TEST(allow_lists_refuse_other_users)
{
	char me[32];
	snprintf(me, sizeof(me), "12345,%u", (unsigned)getuid());
	daemon_start((const char *const[]){"--allow-users", me, NULL});
	gpucmd_client *c = connect_ok();
	gpucmd_disconnect(c);
	ck_assert_int_eq(daemon_stop(), 0);
	daemon_start((const char *const[]){"--allow-users", "12345", "--allow-groups", "54321", NULL});
	ck_assert_ptr_null(gpucmd_connect(test_daemon.socket));
	ck_assert_msg(strstr(gpucmd_last_error(NULL), "is not allowed to use this gpucmdd"), "%s",
		      gpucmd_last_error(NULL));
	ck_assert_int_eq(daemon_stop(), 0);
	snprintf(me, sizeof(me), "54321,%u", (unsigned)getgid());
	daemon_start((const char *const[]){"--allow-users", "12345", "--allow-groups", me, NULL});
	c = connect_ok();
	gpucmd_disconnect(c);
}
END_TEST

TCase *sharing_limits_tcase(void)
{
	TCase *t = tcase_create("sharing-limits");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, a_flooding_client_is_held_back_while_others_progress);
	tcase_add_test(t, count_limits_are_named);
	tcase_add_test(t, allow_lists_refuse_other_users);
	return t;
}
