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
	struct gpucmd_kernel_info spin;
	gpucmd_buffer b;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_kernel_find(hangs, "spin_forever", &spin), 0);
	ck_assert_int_eq(gpucmd_buffer_create(hangs, 64, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(hangs, "spinner", &s), 0);
	struct gpucmd_binding bind = {b, 0, 0};
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
	ck_assert(log_wait("device recreated", 10000));
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

TCase *gpu_faults_tcase(void)
{
	TCase *t = tcase_create("gpu_faults");
	tcase_add_checked_fixture(t, no_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, kernel_that_never_ends_trips_the_submission_timeout);
	tcase_add_test(t, device_loss_is_reported_to_every_affected_session_then_the_device_is_recreated);
	return t;
}

TCase *timeouts_tcase(void)
{
	TCase *t = tcase_create("timeouts");
	tcase_add_checked_fixture(t, timeouts_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, idle_connection_is_told_why_and_closed);
	tcase_add_test(t, idle_connection_holding_objects_or_waiting_is_kept);
	tcase_add_test(t, frame_that_stops_arriving_is_told_why_and_closed);
	tcase_add_test(t, frame_that_trickles_in_is_served);
	return t;
}
