/*
 * test_daemon_timeouts.c — the daemon's timeouts against a real daemon: a
 * connection idle while holding nothing, a frame that stops arriving (and
 * one that only trickles), a kernel that does not end tripping
 * submission_timeout_ms, and device loss injected in the test build
 * (build/tests/gpucmdd-faults). Each client must be told why.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"

/* ---- idle and read timeouts ---------------------------------------------- */

static void timeouts_setup(void)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nidle_timeout_sec = 1\nread_timeout_ms = 1000\n"});
}

/* Reads the goodbye (id 0) and then end of file; returns its status. */
static int read_goodbye(int fd, char *err, size_t errlen)
{
	uint8_t buf[4096];
	size_t n = raw_read_all(fd, buf, sizeof(buf));
	return raw_reply_error(buf, n, err, errlen);
}

START_TEST(idle_connection_is_told_why_and_closed)
{
	int base = daemon_base_fds();
	int fd = raw_connect();
	struct raw greeted;
	raw_open(&greeted);
	gpucmd_client *c = connect_ok();
	char err[256] = "";
	ck_assert_int_eq(read_goodbye(fd, err, sizeof(err)), -ETIMEDOUT);
	ck_assert_msg(strstr(err, "idle_timeout_sec"), "goodbye says: %s", err);
	ck_assert_int_eq(raw_wait(&greeted, 99, err, sizeof(err)), -ETIMEDOUT);
	/* The library reports the goodbye on its next call. */
	usleep(300000);
	ck_assert_int_lt(gpucmd_ping(c), 0);
	ck_assert_msg(strstr(gpucmd_last_error(c), "idle_timeout_sec"), "library says: %s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
	close(fd);
	raw_close(&greeted);
	expect_baseline(base);
}
END_TEST

/* Silence is not idleness while the client holds something or waits. */
START_TEST(idle_connection_holding_objects_or_waiting_is_kept)
{
	int base = daemon_base_fds();
	gpucmd_client *holder = connect_ok(), *sessions = connect_ok(), *waiter = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	gpucmd_token t;
	ck_assert_int_eq(gpucmd_buffer_create(holder, 64, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(sessions, "kept", &s), 0);
	ck_assert_int_eq(gpucmd_fence_export(sessions, s, &t), 0);
	/* A host wait longer than the idle timeout, never satisfied. */
	ck_assert_int_eq(gpucmd_fence_wait(waiter, &t, 1, 2500), -ETIMEDOUT);
	ck_assert_int_eq(gpucmd_ping(holder), 0);
	ck_assert_int_eq(gpucmd_ping(sessions), 0);
	ck_assert_int_eq(gpucmd_ping(waiter), 0);
	gpucmd_disconnect(holder);
	gpucmd_disconnect(sessions);
	gpucmd_disconnect(waiter);
	expect_baseline(base);
}
END_TEST

/* A kernel of its own is something the client holds too. */
START_TEST(idle_connection_holding_a_client_kernel_is_kept)
{
	int base = daemon_base_fds();
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info k;
	ck_assert_msg(gpucmd_kernel_register(c, "neg", spv, len, &k) == 0, "%s", gpucmd_last_error(c));
	free(spv);
	usleep(2500000);
	ck_assert_msg(gpucmd_ping(c) == 0, "%s", gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_kernel_unregister(c, k.id), 0);
	gpucmd_disconnect(c);
	expect_baseline(base);
}
END_TEST

START_TEST(frame_that_stops_arriving_is_told_why_and_closed)
{
	int base = daemon_base_fds();
	struct raw r;
	raw_open(&r);
	uint8_t buf[16];
	uint32_t len = 1000;
	memcpy(buf, &len, 4);
	memset(buf + 4, 0x08, 10);
	ck_assert_int_eq(write(r.fd, buf, 14), 14);
	char err[256] = "";
	ck_assert_int_eq(raw_wait(&r, 99, err, sizeof(err)), -ETIMEDOUT);
	ck_assert_msg(strstr(err, "read_timeout_ms") && strstr(err, "14 bytes"), "goodbye says: %s", err);
	raw_close(&r);
	expect_baseline(base);
}
END_TEST

/* A frame that trickles in, a byte per 100 ms, is slow but alive. */
START_TEST(frame_that_trickles_in_is_served)
{
	int base = daemon_base_fds();
	struct raw r;
	raw_open(&r);
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_PING;
	req.ping = &p;
	req.id = 7;
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_pack(&b, &req.base, GW_DEFAULT_MAX_FRAME), 0);
	for (size_t i = 0; i < b.len; i++) {
		ck_assert_int_eq(write(r.fd, b.data + i, 1), 1);
		usleep(100000);
	}
	gw_buf_finish(&b);
	ck_assert_int_eq(raw_wait(&r, 7, NULL, 0), 0);
	raw_close(&r);
	expect_baseline(base);
}
END_TEST

/* ---- timeouts and backpressure -------------------------------------------- */

static void no_setup_tb(void)
{
}

/* Records and commits a stage of `n` fills of 1M floats over b. */
static void long_stage(gpucmd_client *c, gpucmd_session s, gpucmd_buffer b, int n)
{
	struct gpucmd_kernel_info fill;
	ck_assert_int_eq(gpucmd_kernel_find(c, "fill_f32", &fill), 0);
	struct { uint32_t n; float v; } fp = {1u << 20, 1.0f};
	struct gpucmd_binding bind = {b, 0, 0};
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, 4096, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_flush(c), 0);
}

/* Whether client `id` is stalled, from the status report. */
static bool stalled(gpucmd_client *c, uint32_t id)
{
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(c, &st), 0);
	bool r = false;
	for (size_t i = 0; i < st.n_clients; i++)
		if (st.client_list[i].client == id)
			r = st.client_list[i].stalled;
	gpucmd_status_free(&st);
	return r;
}

/* The id of a stalled client with (or without) sessions, waiting 1 s at
 * most; 0 if none. */
static uint32_t stalled_client(gpucmd_client *c, bool with_sessions)
{
	for (int i = 0; i < 100; i++) {
		struct gpucmd_status st;
		ck_assert_int_eq(gpucmd_status(c, &st), 0);
		uint32_t id = 0;
		for (size_t k = 0; k < st.n_clients; k++)
			if (st.client_list[k].stalled && (st.client_list[k].n_sessions > 0) == with_sessions)
				id = st.client_list[k].client;
		gpucmd_status_free(&st);
		if (id)
			return id;
		usleep(10000);
	}
	return 0;
}

/* A connection that backpressure keeps unread (max_inflight_per_uid) with
 * half a frame already read is not blamed for the time it was not read:
 * once its stall ends it has read_timeout_ms again for the rest. Idle
 * connections of the same uid are not closed meanwhile either. */
START_TEST(time_stalled_by_backpressure_does_not_count_toward_the_read_timeout)
{
	/* No hang detection: the long stage can outlast submission_timeout_ms
	 * on a loaded machine under a sanitizer (62 s once on two cores). */
	daemon_launch(&(struct daemon_launch){
		.config = "[daemon]\nsubmission_timeout_ms = 0\n[limits]\nidle_timeout_sec = 1\nread_timeout_ms = 300\n"
			  "max_inflight_per_uid = 1\n"});
	gpucmd_client *busy = connect_ok(), *watch = connect_ok();
	gpucmd_buffer b, kept;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(busy, 4 << 20, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(busy, "long", &s), 0);
	/* The watcher holds a buffer: not idle while the test waits. */
	ck_assert_int_eq(gpucmd_buffer_create(watch, 64, 0, &kept), 0);
	struct raw r;
	raw_open(&r);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(watch, &info), 0);
	/* The raw connection: a commit (stalled: the uid has its fill of work
	 * on the GPU) and, in the same write, half a ping. */
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = 0x7777;
	Gpucmd__Request commit = GPUCMD__REQUEST__INIT;
	commit.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	commit.commit = &cm;
	commit.id = ++r.id;
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request ping = GPUCMD__REQUEST__INIT;
	ping.body_case = GPUCMD__REQUEST__BODY_PING;
	ping.ping = &p;
	ping.id = ++r.id;
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &commit.base, GW_DEFAULT_MAX_FRAME), 0);
	size_t first = out.len;
	ck_assert_int_eq(gw_pack(&out, &ping.base, GW_DEFAULT_MAX_FRAME), 0);
	size_t half = first + (out.len - first) / 2;
	/* One long stage: the uid is at its limit until it retires. */
	long_stage(busy, s, b, 1500);
	ck_assert_int_eq(write(r.fd, out.data, half), (ssize_t)half);
	uint32_t raw_id = stalled_client(watch, 0);
	ck_assert_msg(raw_id, "the raw connection never stalled (GPU work too short?)");
	usleep(600000);
	ck_assert_msg(stalled(watch, raw_id), "GPU work too short for this test: stalled less than 600 ms");
	while (stalled(watch, raw_id))
		usleep(5000);
	/* Now read again: less than read_timeout_ms later, the rest. */
	usleep(100000);
	char err[256] = "";
	int st2 = GPUCMD_E_DISCONNECTED;
	if (send(r.fd, out.data + half, out.len - half, MSG_NOSIGNAL) == (ssize_t)(out.len - half))
		st2 = raw_wait(&r, ping.id, err, sizeof(err));
	gw_buf_finish(&out);
	ck_assert_msg(st2 != -ETIMEDOUT && st2 != GPUCMD_E_DISCONNECTED, "ping answered %d: %s", st2, err);
	raw_close(&r);
	gpucmd_disconnect(busy);
	gpucmd_disconnect(watch);
}
END_TEST

TCase *timeouts_backpressure_tcase(void)
{
	TCase *t = tcase_create("timeouts_backpressure");
	tcase_add_checked_fixture(t, no_setup_tb, daemon_teardown);
	/* The long stage takes lavapipe 30-50 s under a sanitizer build. */
	tcase_set_timeout(t, 180);
	tcase_add_test(t, time_stalled_by_backpressure_does_not_count_toward_the_read_timeout);
	return t;
}

/* ---- GPU faults: hangs and device loss ------------------------------------ */

/* The daemon exits with status 5 after a device loss (devicelost.h). */
static void expect_exit_after_device_loss(void)
{
	int st = daemon_wait_exit(10000);
	if (st != 5)
		dump_log();
	ck_assert_msg(st == 5, "gpucmdd exit status %d after device loss, expected 5", st);
}

static void no_setup(void)
{
}

/* A kernel that never ends: the session that ran it and every other
 * client are told, naming the session and the timeout. */
START_TEST(kernel_that_never_ends_trips_the_submission_timeout)
{
	char kernels[256];
	snprintf(kernels, sizeof(kernels), "%s/tests/kernels", build_dir());
	const char *args[] = {"--kernels", kernels, "--submission-timeout-ms", "500", NULL};
	daemon_start(args);
	gpucmd_client *hangs = connect_ok(), *bystander = connect_ok();
	struct job_kit j = job_kit_open(hangs, "spin_forever", 64, "spinner");
	struct gpucmd_kernel_info spin = j.k;
	gpucmd_session s = j.s;
	struct gpucmd_binding bind = {j.b, 0, 0};
	uint32_t forever = 1;
	/* spin_forever.comp says why so many groups. */
	ck_assert_int_eq(gpucmd_dispatch(hangs, s, spin.id, &bind, 1, &forever, 4, 65535, 65535, 65535), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(hangs, s), GPUCMD_E_DEVICE_LOST);
	const char *err = gpucmd_last_error(hangs);
	ck_assert_msg(strstr(err, "'spinner'") && strstr(err, "submission_timeout_ms"), "error: %s", err);
	ck_assert_int_eq(gpucmd_ping(bystander), GPUCMD_E_DEVICE_LOST);
	ck_assert_msg(strstr(gpucmd_last_error(bystander), "device lost"), "bystander told: %s",
		      gpucmd_last_error(bystander));
	gpucmd_disconnect(hangs);
	gpucmd_disconnect(bystander);
	expect_exit_after_device_loss();
	ck_assert(log_wait("past submission_timeout_ms", 0));
}
END_TEST

/* Device loss, injected (test build only) at retire value 2 while two
 * clients have stages on the GPU: each is told its own session, a client
 * without work that the device went. Then the daemon serves new clients on
 * a recreated device, and at the end exits clean (no leak, no validation
 * message on either device). */
START_TEST(device_loss_is_reported_to_every_affected_session_then_the_device_is_recreated)
{
	setenv("GPUCMD_FAULT_DEVICE_LOST", "2", 1);
	daemon_launch(&(struct daemon_launch){.exe = "tests/gpucmdd-faults"});
	gpucmd_client *a = connect_ok(), *b = connect_ok(), *idle = connect_ok();
	float x[256], y[256], out[256];
	random_floats(x, 256, 5);
	random_floats(y, 256, 6);
	ck_assert_int_eq(run_binary_kernel(a, "add_f32", x, y, out, 256), 0); /* value 1 */
	struct gpucmd_kernel_info fill;
	gpucmd_buffer ba, bb;
	gpucmd_session sa, sb;
	ck_assert_int_eq(gpucmd_kernel_find(a, "fill_f32", &fill), 0);
	ck_assert_int_eq(gpucmd_buffer_create(a, 4 << 20, 0, &ba), 0);
	ck_assert_int_eq(gpucmd_buffer_create(b, 4 << 20, 0, &bb), 0);
	ck_assert_int_eq(gpucmd_session_open(a, "victim-a", &sa), 0);
	ck_assert_int_eq(gpucmd_session_open(b, "victim-b", &sb), 0);
	struct { uint32_t n; float v; } fp = {1u << 20, 1.0f};
	struct gpucmd_binding bind_b = {bb, 0, 0}, bind_a = {ba, 0, 0};
	for (int i = 0; i < 40; i++)
		ck_assert_int_eq(gpucmd_dispatch(b, sb, fill.id, &bind_b, 1, &fp, 8, 4096, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(b, sb), 0); /* value 2, long */
	ck_assert_int_eq(gpucmd_flush(b), 0);
	usleep(20000);
	ck_assert_int_eq(gpucmd_dispatch(a, sa, fill.id, &bind_a, 1, &fp, 8, 4096, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(a, sa), GPUCMD_E_DEVICE_LOST); /* value 3 */
	ck_assert_msg(strstr(gpucmd_last_error(a), "'victim-a'") &&
			      strstr(gpucmd_last_error(a), "VK_ERROR_DEVICE_LOST"),
		      "a told: %s", gpucmd_last_error(a));
	ck_assert_int_eq(gpucmd_ping(b), GPUCMD_E_DEVICE_LOST);
	ck_assert_msg(strstr(gpucmd_last_error(b), "'victim-b'"), "b told: %s", gpucmd_last_error(b));
	ck_assert_int_eq(gpucmd_ping(idle), GPUCMD_E_DEVICE_LOST);
	ck_assert_msg(strstr(gpucmd_last_error(idle), "VK_EXT_device_fault"), "idle told: %s",
		      gpucmd_last_error(idle));
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);
	gpucmd_disconnect(idle);
	/* Bounded only by the test's own timeout: a state, not a time. */
	ck_assert(log_wait("device recreated", 200000));
	gpucmd_client *after = connect_ok();
	ck_assert_int_eq(run_binary_kernel(after, "add_f32", x, y, out, 256), 0);
	for (int i = 0; i < 256; i++)
		ck_assert(out[i] == x[i] + y[i]);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(after, &info), 0);
	ck_assert_uint_eq(info.live_buffers, 0);
	ck_assert_uint_eq(info.live_sessions, 0);
	gpucmd_disconnect(after);
}
END_TEST

/* Device loss while main's per-connection state is in use: a client kernel
 * and a shared-memory buffer, a connection stalled by backpressure
 * (max_inflight_per_client = 1) with its next commit already read, a buffer
 * imported by another connection and a host fence wait. Everything is
 * released (the in-flight counts too: the recreated device serves the
 * same uid at once), the status report counts the loss, and the recreated
 * device builds client kernels again (descriptor-pool path). */
START_TEST(device_loss_releases_client_kernels_shared_buffers_and_stalled_work)
{
	setenv("GPUCMD_FAULT_DEVICE_LOST", "1", 1);
	const char *args[] = {"--no-push-descriptors", NULL};
	daemon_launch(&(struct daemon_launch){.exe = "tests/gpucmdd-faults", .extra = args,
					      .config = "[limits]\nmax_inflight_per_client = 1\n"});
	gpucmd_client *k = connect_ok(), *j = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info neg;
	ck_assert_msg(gpucmd_kernel_register(k, "neg", spv, len, &neg) == 0, "%s", gpucmd_last_error(k));
	gpucmd_buffer sh, dev, imported;
	float *map;
	ck_assert_int_eq(gpucmd_buffer_create_shared(k, 1 << 20, &sh, (void **)&map, NULL), 0);
	ck_assert_int_eq(gpucmd_buffer_create(k, 4 << 20, 0, &dev), 0);
	gpucmd_token bt, ft;
	ck_assert_int_eq(gpucmd_buffer_export(k, sh, &bt), 0);
	ck_assert_int_eq(gpucmd_buffer_import(j, &bt, &imported), 0);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(k, "victim-k", &s), 0);
	ck_assert_int_eq(gpucmd_fence_export(k, s, &ft), 0);
	struct gpucmd_binding nb[2] = {{sh, 0, 0}, {dev, 0, 0}};
	uint32_t n = 1024;
	ck_assert_int_eq(gpucmd_dispatch(k, s, neg.id, nb, 2, &n, 4, 16, 1, 1), 0);
	long_stage(k, s, dev, 100); /* value 1: lost when it ends */
	/* Backpressure: this commit waits, read but not handled. */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(k, s), 0);
	ck_assert_int_eq(gpucmd_dispatch(k, s, neg.id, nb, 2, &n, 4, 16, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(k, s), 0);
	ck_assert_int_eq(gpucmd_flush(k), 0);
	/* j waits on k's fence, a value never committed: the loss answers it,
	 * however long the loaded machine takes to get there. */
	ck_assert_int_eq(gpucmd_fence_wait(j, &ft, 5, UINT32_MAX), GPUCMD_E_DEVICE_LOST);
	ck_assert_int_eq(gpucmd_ping(k), GPUCMD_E_DEVICE_LOST);
	ck_assert_msg(strstr(gpucmd_last_error(k), "'victim-k'"), "k told: %s", gpucmd_last_error(k));
	gpucmd_disconnect(k);
	gpucmd_disconnect(j);
	/* Bounded only by the test's own timeout: a state, not a time. */
	ck_assert(log_wait("device recreated", 200000));
	gpucmd_client *after = connect_ok();
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(after, &st), 0);
	ck_assert_uint_eq(st.device_losses, 1);
	ck_assert_uint_eq(st.clients, 1);
	ck_assert_uint_eq(st.live_buffers, 0);
	ck_assert_uint_eq(st.live_sessions, 0);
	ck_assert_uint_eq(st.n_clients, 1);
	ck_assert_uint_eq(st.client_list[0].in_flight, 0);
	ck_assert_uint_eq(st.client_list[0].memory.bytes, 0);
	gpucmd_status_free(&st);
	/* The same bytes build again, on the new device. */
	ck_assert_msg(gpucmd_kernel_register(after, "neg", spv, len, &neg) == 0, "%s", gpucmd_last_error(after));
	free(spv);
	ck_assert_int_eq(gpucmd_buffer_create_shared(after, 1 << 20, &sh, (void **)&map, NULL), 0);
	ck_assert_int_eq(gpucmd_buffer_create(after, 4096, 0, &dev), 0);
	for (int i = 0; i < 1024; i++)
		map[i] = (float)i;
	ck_assert_int_eq(gpucmd_session_open(after, "after", &s), 0);
	/* Past max_inflight_per_client: backpressure works on the new device. */
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(gpucmd_reset_for_next_stage(after, s), 0);
		ck_assert_int_eq(gpucmd_dispatch(after, s, neg.id, nb, 2, &n, 4, 16, 1, 1), 0);
		ck_assert_int_eq(gpucmd_commit_stage(after, s), 0);
	}
	ck_assert_int_eq(gpucmd_reset_for_next_stage(after, s), 0);
	ck_assert_int_eq(gpucmd_dispatch(after, s, neg.id, nb, 2, &n, 4, 16, 1, 1), 0);
	ck_assert_msg(gpucmd_commit_and_wait(after, s) == 0, "%s", gpucmd_last_error(after));
	float got[1024];
	ck_assert_int_eq(gpucmd_buffer_read(after, dev, 0, got, sizeof(got)), 0);
	for (int i = 0; i < 1024; i++)
		ck_assert(got[i] == -(float)i);
	gpucmd_disconnect(after);
}
END_TEST

/* The daemon's CPU time counts the completion thread of a lost device too:
 * the counter an operator's rate() reads never falls at a recreation. */
START_TEST(daemon_cpu_time_survives_a_device_loss)
{
	setenv("GPUCMD_FAULT_DEVICE_LOST", "1000", 1);
	daemon_launch(&(struct daemon_launch){.exe = "tests/gpucmdd-faults"});
	gpucmd_client *a = connect_ok();
	struct job_kit j = job_kit_open(a, "fill_f32", 1024, "cpu");
	struct { uint32_t n; float v; } fp = {256, 1.0f};
	struct gpucmd_binding bind = {j.b, 0, 0};
	struct gpucmd_status st;
	uint64_t before = 0;
	int r = 0;
	for (int i = 0; i < 2000 && r == 0; i++) {
		ck_assert_int_eq(gpucmd_dispatch(a, j.s, j.k.id, &bind, 1, &fp, 8, 1, 1, 1), 0);
		r = gpucmd_commit_and_wait(a, j.s);
		if (r == 0 && i == 500) {
			ck_assert_int_eq(gpucmd_status(a, &st), 0);
			before = st.retire_cpu_ns;
			gpucmd_status_free(&st);
		}
		if (r == 0)
			ck_assert_int_eq(gpucmd_reset_for_next_stage(a, j.s), 0);
	}
	ck_assert_int_eq(r, GPUCMD_E_DEVICE_LOST);
	ck_assert_uint_gt(before, 0);
	gpucmd_disconnect(a);
	ck_assert(log_wait("device recreated", 200000));
	gpucmd_client *after = connect_ok();
	ck_assert_int_eq(gpucmd_status(after, &st), 0);
	ck_assert_msg(st.retire_cpu_ns >= before, "completion CPU fell from %llu to %llu ns at the recreation",
		      (unsigned long long)before, (unsigned long long)st.retire_cpu_ns);
	gpucmd_status_free(&st);
	gpucmd_disconnect(after);
}
END_TEST

TCase *gpu_faults_tcase(void)
{
	TCase *t = tcase_create("gpu_faults");
	tcase_add_checked_fixture(t, no_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, kernel_that_never_ends_trips_the_submission_timeout);
	tcase_add_test(t, device_loss_is_reported_to_every_affected_session_then_the_device_is_recreated);
	tcase_add_test(t, device_loss_releases_client_kernels_shared_buffers_and_stalled_work);
	tcase_add_test(t, daemon_cpu_time_survives_a_device_loss);
	return t;
}

TCase *timeouts_tcase(void)
{
	TCase *t = tcase_create("timeouts");
	tcase_add_checked_fixture(t, timeouts_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, idle_connection_is_told_why_and_closed);
	tcase_add_test(t, idle_connection_holding_objects_or_waiting_is_kept);
	tcase_add_test(t, idle_connection_holding_a_client_kernel_is_kept);
	tcase_add_test(t, frame_that_stops_arriving_is_told_why_and_closed);
	tcase_add_test(t, frame_that_trickles_in_is_served);
	return t;
}
