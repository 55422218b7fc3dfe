/*
 * test_daemon.c — the walking skeleton end to end: a real gpucmdd on
 * lavapipe (validation layer on), real sockets, libgpucmd. Every test runs
 * in its own process (Check's fork mode) with its own daemon, and fails if
 * the daemon logged a validation message, leaked an object or fds leaked in
 * the client.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"

static void check_binary(const char *kernel, uint32_t n, unsigned seed)
{
	gpucmd_client *c = connect_ok();
	float *a = malloc(n * sizeof(float)), *b = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
	random_floats(a, n, seed);
	random_floats(b, n, seed + 1);
	int r = run_binary_kernel(c, kernel, a, b, out, n);
	ck_assert_msg(r == 0, "%s on %u: %s", kernel, n, gpucmd_last_error(c));
	bool add = strcmp(kernel, "add_f32") == 0;
	for (uint32_t i = 0; i < n; i++) {
		float want = add ? a[i] + b[i] : a[i] * b[i];
		ck_assert_msg(out[i] == want, "%s[%u] = %g, expected %g", kernel, i, out[i], want);
	}
	free(a);
	free(b);
	free(out);
	gpucmd_disconnect(c);
}

static const uint32_t sizes[] = {1, 1000, 1u << 20};

START_TEST(add_f32_is_exact_for_every_size)
{
	check_binary("add_f32", sizes[_i], 7 + (unsigned)_i);
}
END_TEST

START_TEST(mul_f32_is_exact_for_every_size)
{
	check_binary("mul_f32", sizes[_i], 70 + (unsigned)_i);
}
END_TEST

START_TEST(fill_f32_writes_every_element)
{
	gpucmd_client *c = connect_ok();
	uint32_t n = sizes[_i];
	float *out = calloc(n, sizeof(float));
	float v = -3.25f;
	ck_assert_int_eq(run_binary_kernel(c, "fill_f32", &v, NULL, out, n), 0);
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(out[i] == v, "fill[%u] = %g", i, out[i]);
	free(out);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(two_clients_compute_at_once)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < 5; i++)
			check_binary("mul_f32", 50000, 100 + (unsigned)i);
		_exit(0);
	}
	for (int i = 0; i < 5; i++)
		check_binary("add_f32", 50000, 200 + (unsigned)i);
	int st;
	waitpid(pid, &st, 0);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "second client failed");
}
END_TEST

/* A client vanishes with uncommitted and in-flight work; another client
 * keeps working and the daemon frees everything of the first. */
START_TEST(disconnect_mid_session_leaves_others_working)
{
	gpucmd_client *gone = connect_ok();
	struct gpucmd_kernel_info fill;
	gpucmd_buffer b;
	gpucmd_session s1, s2;
	ck_assert_int_eq(gpucmd_kernel_find(gone, "fill_f32", &fill), 0);
	ck_assert_int_eq(gpucmd_buffer_create(gone, 4 << 20, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(gone, "committed", &s1), 0);
	ck_assert_int_eq(gpucmd_session_open(gone, "uncommitted", &s2), 0);
	struct gpucmd_binding bind = {b, 0, 0};
	struct { uint32_t n; float v; } fp = {1u << 20, 1.0f};
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(gpucmd_dispatch(gone, s1, fill.id, &bind, 1, &fp, 8, 4096, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(gone, s1), 0);
	ck_assert_int_eq(gpucmd_dispatch(gone, s2, fill.id, &bind, 1, &fp, 8, 4096, 1, 1), 0);
	gpucmd_disconnect(gone);

	check_binary("add_f32", 1000, 5);
	gpucmd_client *c = connect_ok();
	struct gpucmd_info info;
	for (int i = 0; i < 500; i++) {
		ck_assert_int_eq(gpucmd_info(c, &info), 0);
		if (info.live_sessions == 0 && info.live_buffers == 0)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(info.live_sessions, 0);
	ck_assert_uint_eq(info.live_buffers, 0);
	ck_assert_uint_eq(info.clients, 1);
	ck_assert_uint_eq(info.reply_poll_us, 0); /* a CPU device: nobody polls, lavapipe needs the cores */
	gpucmd_disconnect(c);
}
END_TEST

/* One streamed dispatch that the daemon refuses; commit_and_wait must name
 * the problem, then the same connection works. */
static void expect_dispatch_error(uint32_t kernel, uint32_t n_bind, uint64_t offset, uint32_t gx, const char *needle)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, 4096, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "bad", &s), 0);
	struct gpucmd_binding bind[3] = {{b, offset, 0}, {b, 0, 0}, {b, 0, 0}};
	uint32_t n = 16;
	ck_assert_int_eq(gpucmd_dispatch(c, s, kernel, bind, n_bind, &n, 4, gx, 1, 1), 0);
	int r = gpucmd_commit_and_wait(c, s);
	ck_assert_int_lt(r, 0);
	ck_assert_msg(strstr(gpucmd_last_error(c), needle), "error '%s' does not mention '%s'", gpucmd_last_error(c),
		      needle);
	/* The error was reported once; the connection and session go on. */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	struct gpucmd_kernel_info add;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &add), 0);
	struct gpucmd_binding good[3] = {{b, 0, 0}, {b, 0, 0}, {b, 0, 0}};
	ck_assert_int_eq(gpucmd_dispatch(c, s, add.id, good, 3, &n, 4, 1, 1, 1), 0);
	ck_assert_msg(gpucmd_commit_and_wait(c, s) == 0, "after the error: %s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
}

START_TEST(unknown_kernel_is_named)
{
	expect_dispatch_error(999, 3, 0, 1, "no kernel with id 999");
}
END_TEST

START_TEST(wrong_binding_count_is_named)
{
	expect_dispatch_error(1, 2, 0, 1, "2 buffers bound, the kernel takes 3");
}
END_TEST

START_TEST(out_of_range_offset_is_named)
{
	expect_dispatch_error(1, 3, 8192, 1, "binding 0: offset 8192");
}
END_TEST

START_TEST(zero_groups_is_refused)
{
	expect_dispatch_error(1, 3, 0, 0, "group count x = 0");
}
END_TEST

START_TEST(too_many_groups_is_refused)
{
	expect_dispatch_error(1, 3, 0, 0xffffffffu, "maxComputeWorkGroupCount");
}
END_TEST

START_TEST(buffer_bounds_and_sizes_are_checked)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	uint8_t data[64] = {0};
	ck_assert_int_lt(gpucmd_buffer_create(c, 0, 0, &b), 0);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "must not be zero"));
	ck_assert_int_lt(gpucmd_buffer_create(c, UINT64_MAX, 0, &b), 0);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "maxBufferSize"));
	ck_assert_int_eq(gpucmd_buffer_create(c, 100, 0, &b), 0);
	ck_assert_int_lt(gpucmd_buffer_write(c, b, 90, data, 20), 0);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "exceeds buffer size 100"));
	ck_assert_int_lt(gpucmd_buffer_read(c, b, UINT64_MAX - 4, data, 4), 0);
	ck_assert_int_lt(gpucmd_buffer_read(c, b, 99, data, 2), 0);
	ck_assert_int_eq(gpucmd_buffer_write(c, b, 36, data, 64), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, b), 0);
	ck_assert_int_lt(gpucmd_buffer_free(c, b), 0);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "no buffer"));
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(handles_of_another_connection_cannot_be_named)
{
	gpucmd_client *owner = connect_ok(), *thief = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(owner, 4096, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(owner, "mine", &s), 0);
	uint8_t data[16];
	ck_assert_int_eq(gpucmd_buffer_read(thief, b, 0, data, sizeof(data)), -ENOENT);
	ck_assert_int_eq(gpucmd_buffer_free(thief, b), -ENOENT);
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_session_query(thief, s, &st), -ENOENT);
	ck_assert_int_eq(gpucmd_commit_and_wait(thief, s), -ENOENT);
	/* A streamed request naming a foreign session fails the next round trip. */
	ck_assert_int_eq(gpucmd_commit_stage(thief, s), 0);
	ck_assert_int_eq(gpucmd_ping(thief), -ENOENT);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(thief), "no session"));
	ck_assert_int_eq(gpucmd_ping(thief), 0);
	ck_assert_int_eq(gpucmd_buffer_read(owner, b, 0, data, sizeof(data)), 0);
	gpucmd_disconnect(thief);
	gpucmd_disconnect(owner);
}
END_TEST

/* A frame whose header announces more than the limit: that connection gets
 * an error and is closed; another connection is untouched. */
START_TEST(oversize_frame_closes_only_that_connection)
{
	gpucmd_client *other = connect_ok();
	int fd = raw_connect();
	ck_assert_int_ge(fd, 0);
	uint8_t buf[4096];
	size_t n = raw_hello(buf, sizeof(buf), GPUCMD_PROTOCOL_VERSION);
	uint32_t huge = GW_DEFAULT_MAX_FRAME + 1;
	memcpy(buf + n, &huge, 4);
	ck_assert_int_eq(write(fd, buf, n + 4), (ssize_t)(n + 4));
	n = raw_read_all(fd, buf, sizeof(buf));
	char err[256] = "";
	ck_assert_int_eq(raw_reply_error(buf, n, err, sizeof(err)), GPUCMD_E_PROTOCOL);
	ck_assert_msg(strstr(err, "larger than the maximum"), "error: %s", err);
	close(fd);
	ck_assert_int_eq(gpucmd_ping(other), 0);
	gpucmd_disconnect(other);
}
END_TEST

/* A connection that says hello, then sends a frame that decodes to
 * nothing: the daemon answers naming it and closes the connection. */
static void send_garbage(void)
{
	int fd = raw_connect();
	uint8_t buf[4096];
	size_t n = raw_hello(buf, sizeof(buf), GPUCMD_PROTOCOL_VERSION);
	uint8_t junk[64] = {40, 0, 0, 0};
	for (size_t i = 4; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0xff - i * 7);
	memcpy(buf + n, junk, sizeof(junk));
	ck_assert_int_eq(write(fd, buf, n + sizeof(junk)), (ssize_t)(n + sizeof(junk)));
	n = raw_read_all(fd, buf, sizeof(buf));
	char err[256] = "";
	ck_assert_int_eq(raw_reply_error(buf, n, err, sizeof(err)), GPUCMD_E_PROTOCOL);
	ck_assert_msg(strstr(err, "undecodable"), "error: %s", err);
	close(fd);
}

START_TEST(garbage_bytes_close_only_that_connection)
{
	gpucmd_client *other = connect_ok();
	send_garbage();
	ck_assert_int_eq(gpucmd_ping(other), 0);
	check_binary("add_f32", 100, 3);
	gpucmd_disconnect(other);
}
END_TEST

/* Each connection closed for a bad frame was one line in the journal: a
 * client in a loop wrote thousands a second, and past journald's own
 * limit (10,000 in 30 s) the daemon's other lines were dropped too. Such
 * lines now pass at most 20 every 10 s, and the first after a pause says
 * how many were left out. */
START_TEST(a_client_in_a_loop_cannot_flood_the_log)
{
	/* Within 5 s, so that all of them fall in one window of the limit
	 * however slow the machine (a sanitizer build). */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int sent = 0;
	do {
		send_garbage();
		sent++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (sent < 200 && t.tv_sec - t0.tv_sec < 5);
	ck_assert_int_gt(sent, 20);
	int logged = daemon_log_count("closing: undecodable request frame");
	ck_assert_msg(logged == 20, "%d of %d closes logged", logged, sent);
	ck_assert(!daemon_log_contains("more like it not logged"));
	usleep(10100 * 1000);
	send_garbage();
	char line[96];
	snprintf(line, sizeof(line), "(and %d more like it not logged: at most 20 every 10 s)", sent - 20);
	ck_assert_msg(log_wait(line, 5000), "no line saying: %s", line);
	gpucmd_client *other = connect_ok();
	check_binary("add_f32", 100, 3);
	gpucmd_disconnect(other);
}
END_TEST

START_TEST(version_mismatch_is_explained)
{
	int fd = raw_connect();
	uint8_t buf[4096];
	size_t n = raw_hello(buf, sizeof(buf), 99);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	shutdown(fd, SHUT_WR);
	n = raw_read_all(fd, buf, sizeof(buf));
	char err[256] = "";
	ck_assert_int_eq(raw_reply_error(buf, n, err, sizeof(err)), GPUCMD_E_VERSION);
	ck_assert_msg(strstr(err, "protocol version 99 is not supported"), "error: %s", err);
	close(fd);
}
END_TEST

START_TEST(request_before_hello_closes_the_connection)
{
	int fd = raw_connect();
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.id = 5;
	req.body_case = GPUCMD__REQUEST__BODY_PING;
	req.ping = &p;
	struct gw_buf b = {0};
	gw_pack(&b, &req.base, GW_DEFAULT_MAX_FRAME);
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	gw_buf_finish(&b);
	uint8_t buf[1024];
	size_t n = raw_read_all(fd, buf, sizeof(buf));
	char err[256] = "";
	ck_assert_int_eq(raw_reply_error(buf, n, err, sizeof(err)), GPUCMD_E_PROTOCOL);
	ck_assert_msg(strstr(err, "hello"), "error: %s", err);
	close(fd);
}
END_TEST

START_TEST(fds_sent_without_a_request_for_them_are_refused_and_closed)
{
	signal(SIGPIPE, SIG_IGN);
	int fd = raw_connect();
	uint8_t buf[256];
	size_t n = raw_hello(buf, sizeof(buf), GPUCMD_PROTOCOL_VERSION);
	int pass[2];
	ck_assert_int_eq(pipe(pass), 0);
	ck_assert_int_eq(gw_send_fds(fd, buf, n, pass, 2, 0), (ssize_t)n);
	close(pass[0]);
	n = raw_read_all(fd, buf, sizeof(buf));
	char err[256] = "";
	ck_assert_int_eq(raw_reply_error(buf, n, err, sizeof(err)), GPUCMD_E_PROTOCOL);
	ck_assert_msg(strstr(err, "file descriptors"), "error: %s", err);
	/* The daemon closed its copies: the pipe's read end is gone. */
	ck_assert_int_eq(write(pass[1], "x", 1), -1);
	close(pass[1]);
	close(fd);
}
END_TEST

/* The seeds' contract: fence N+1, reset waits on N, a plain commit drains
 * without a fence, a second commit is a no-op, reset while encoding too. */
START_TEST(five_fences_four_resets_count_like_the_seeds)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info add;
	gpucmd_buffer b;
	gpucmd_session s;
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &add), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 4096, 0, &b), 0);
	float one = 1.0f;
	ck_assert_int_eq(gpucmd_buffer_write(c, b, 0, &one, 4), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "fences", &s), 0);
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert(!st.has_event && !st.drained && st.fence_value == 0);
	/* each stage doubles element 0: x = x + x */
	struct gpucmd_binding bind[3] = {{b, 0, 0}, {b, 0, 0}, {b, 0, 0}};
	uint32_t n = 1;
	for (int i = 1; i <= 5; i++) {
		char label[32];
		snprintf(label, sizeof(label), "stage%d", i);
		ck_assert_int_eq(gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, 1, 1, 1), 0);
		ck_assert_int_eq(gpucmd_fence_stage(c, s, label), 0);
		ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
		ck_assert(st.has_event && st.fence_pending && st.drained);
		ck_assert_uint_eq(st.fence_value, (uint64_t)i);
		ck_assert_str_eq(st.last_label, label);
		if (i < 5)
			ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	}
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert_uint_eq(st.wait_count, 4);
	ck_assert_uint_eq(st.wait_value, 4);
	ck_assert_uint_eq(st.command_buffers, 5);
	ck_assert_uint_eq(st.dispatches, 5);
	/* drained: commit_and_wait submits nothing but waits for the work */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	float x;
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, &x, 4), 0);
	ck_assert_msg(x == 32.0f, "x = %g after five doublings", x);
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert_uint_eq(st.completed, 5);
	ck_assert_uint_eq(st.command_buffers, 5);
	/* the fifth fence is still pending: this reset waits on it */
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0); /* encoding: no-op */
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert_uint_eq(st.wait_count, 5);
	ck_assert_uint_eq(st.wait_value, 5);
	/* plain commit: no fence, and its reset adds no wait */
	ck_assert_int_eq(gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, 1, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_commit_stage(c, s), 0); /* second commit: no-op */
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert(!st.fence_pending && st.drained);
	ck_assert_uint_eq(st.command_buffers, 6);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert_uint_eq(st.wait_count, 5);
	ck_assert_uint_eq(st.fence_value, 5);
	ck_assert(!st.fence_pending);
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, &x, 4), 0);
	ck_assert_msg(x == 64.0f, "x = %g after six doublings", x);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(dispatch_after_commit_without_reset_is_an_error)
{
	gpucmd_client *c = connect_ok();
	struct job_kit j = job_kit_open(c, "add_f32", 4096, "x");
	struct gpucmd_kernel_info add = j.k;
	gpucmd_session s = j.s;
	struct gpucmd_binding bind[3] = {{j.b, 0, 0}, {j.b, 0, 0}, {j.b, 0, 0}};
	uint32_t n = 4;
	ck_assert_int_eq(gpucmd_commit_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, 1, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -EBUSY);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "reset_for_next_stage"));
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0); /* reported once */
	gpucmd_disconnect(c);
}
END_TEST

/* Freeing a buffer that committed work still uses is safe: the work holds
 * its own reference and the memory goes after it retires. */
START_TEST(buffer_freed_while_in_flight_lives_until_retired)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info fill;
	gpucmd_buffer b, keep;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_kernel_find(c, "fill_f32", &fill), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 4 << 20, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 4 << 20, 0, &keep), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "x", &s), 0);
	struct gpucmd_binding bind = {b, 0, 0}, bk = {keep, 0, 0};
	struct { uint32_t n; float v; } fp = {1u << 20, 2.0f};
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, 4096, 1, 1), 0);
	ck_assert_int_eq(gpucmd_dispatch(c, s, fill.id, &bk, 1, &fp, 8, 4096, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, b), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	float x[2];
	ck_assert_int_eq(gpucmd_buffer_read(c, keep, (4 << 20) - 8, x, 8), 0);
	ck_assert(x[0] == 2.0f && x[1] == 2.0f);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(large_writes_and_reads_are_chunked)
{
	gpucmd_client *c = connect_ok();
	size_t n = (9u << 20) + 12; /* over two frames */
	uint8_t *in = malloc(n), *out = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 31 + (i >> 13));
	gpucmd_buffer b;
	ck_assert_int_eq(gpucmd_buffer_create(c, n + 4, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_write(c, b, 4, in, n), 0);
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 4, out, n), 0);
	ck_assert(memcmp(in, out, n) == 0);
	free(in);
	free(out);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(client_leaks_no_fds)
{
	int before = count_fds();
	for (int i = 0; i < 20; i++)
		gpucmd_disconnect(connect_ok());
	ck_assert_ptr_null(gpucmd_connect("/nonexistent/socket"));
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

START_TEST(second_daemon_on_a_live_socket_refuses_to_start)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s/gpucmdd --socket %s 2>%s/second.log", getenv("GPUCMD_BUILD"),
		 test_daemon.socket, test_daemon.dir);
	int st = system(cmd);
	ck_assert_int_ne(WEXITSTATUS(st), 0);
	snprintf(cmd, sizeof(cmd), "grep -q 'already listening' %s/second.log", test_daemon.dir);
	ck_assert_int_eq(system(cmd), 0);
	gpucmd_client *c = connect_ok();
	ck_assert_int_eq(gpucmd_ping(c), 0);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(cli_selftest_info_and_kernels_work)
{
	char cmd[512];
	const char *b = getenv("GPUCMD_BUILD");
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s selftest >/dev/null", b, test_daemon.socket);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s info --json | grep -q '\"validation\":true'", b,
		 test_daemon.socket);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s kernels | grep -q 'add_f32'", b, test_daemon.socket);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s/none info 2>&1 | grep -q '%s/none'", b, test_daemon.dir,
		 test_daemon.dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s/none info 2>/dev/null", b, test_daemon.dir);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
}
END_TEST

/* A stale socket file (no daemon behind it) is replaced at start. */
START_TEST(stale_socket_is_replaced)
{
	int st = daemon_stop();
	ck_assert_int_eq(st, 0);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", test_daemon.socket);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd); /* the file stays, nobody listens */
	daemon_start(NULL);
	gpucmd_client *c = connect_ok();
	ck_assert_int_eq(gpucmd_ping(c), 0);
	gpucmd_disconnect(c);
}
END_TEST

TCase *fences_tcase(void);
TCase *status_tcase(void);
TCase *operator_tcase(void);
TCase *memory_tcase(void);
TCase *limits_tcase(void);
TCase *staging_tcase(void);
TCase *seeds_tcase(void);
TCase *shared_tcase(void);
TCase *shared_fallback_tcase(void);
TCase *sharing_tcase(void);
TCase *sharing_loop_poll_tcase(void);
TCase *sharing_limits_tcase(void);
TCase *priority_tcase(void);
TCase *priority_default_tcase(void);
TCase *priority_fair_tcase(void);
TCase *priority_polling_tcase(void);
TCase *priority_faults_tcase(void);
TCase *round_trips_tcase(void);
TCase *client_kernels_tcase(void);
TCase *kernel_features_tcase(void);
TCase *kernels_tcase(void);
TCase *kernels_pool_tcase(void);
TCase *cache_tcase(void);
TCase *hazards_tcase(void);
TCase *eager_tcase(void);
TCase *eager_limits_tcase(void);
TCase *graphs_tcase(void);
TCase *graphs_pool_tcase(void);
TCase *timing_tcase(void);
TCase *timing_config_tcase(void);
TCase *faults_tcase(void);
TCase *timeouts_tcase(void);
TCase *timeouts_backpressure_tcase(void);
TCase *gpu_faults_tcase(void);
TCase *isolation_tcase(void);
TCase *isolation_default_tcase(void);
TCase *isolation_tokens_tcase(void);
TCase *devices_tcase(void);
TCase *shards_tcase(void);
TCase *shards_own_tcase(void);

static TCase *skeleton_tcase(void)
{
	TCase *t = tcase_create("skeleton");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, add_f32_is_exact_for_every_size, 0, 3);
	tcase_add_loop_test(t, mul_f32_is_exact_for_every_size, 0, 3);
	tcase_add_loop_test(t, fill_f32_writes_every_element, 0, 3);
	tcase_add_test(t, two_clients_compute_at_once);
	tcase_add_test(t, disconnect_mid_session_leaves_others_working);
	tcase_add_test(t, unknown_kernel_is_named);
	tcase_add_test(t, wrong_binding_count_is_named);
	tcase_add_test(t, out_of_range_offset_is_named);
	tcase_add_test(t, zero_groups_is_refused);
	tcase_add_test(t, too_many_groups_is_refused);
	tcase_add_test(t, buffer_bounds_and_sizes_are_checked);
	tcase_add_test(t, handles_of_another_connection_cannot_be_named);
	tcase_add_test(t, oversize_frame_closes_only_that_connection);
	tcase_add_test(t, garbage_bytes_close_only_that_connection);
	tcase_add_test(t, a_client_in_a_loop_cannot_flood_the_log);
	tcase_add_test(t, version_mismatch_is_explained);
	tcase_add_test(t, request_before_hello_closes_the_connection);
	tcase_add_test(t, fds_sent_without_a_request_for_them_are_refused_and_closed);
	tcase_add_test(t, five_fences_four_resets_count_like_the_seeds);
	tcase_add_test(t, dispatch_after_commit_without_reset_is_an_error);
	tcase_add_test(t, buffer_freed_while_in_flight_lives_until_retired);
	tcase_add_test(t, large_writes_and_reads_are_chunked);
	tcase_add_test(t, client_leaks_no_fds);
	tcase_add_test(t, second_daemon_on_a_live_socket_refuses_to_start);
	tcase_add_test(t, cli_selftest_info_and_kernels_work);
	tcase_add_test(t, stale_socket_is_replaced);
	return t;
}

/* Every test case of the suite; the longest first, so that parallel
 * workers finish together. */
static TCase *(*const tcases[])(void) = {
	kernels_tcase,
	kernels_pool_tcase,
	timeouts_tcase,
	skeleton_tcase,
	client_kernels_tcase,
	status_tcase,
	timeouts_backpressure_tcase,
	fences_tcase,
	operator_tcase,
	memory_tcase,
	limits_tcase,
	staging_tcase,
	seeds_tcase,
	shared_tcase,
	shared_fallback_tcase,
	sharing_tcase,
	sharing_loop_poll_tcase,
	sharing_limits_tcase,
	priority_tcase,
	priority_default_tcase,
	priority_fair_tcase,
	priority_polling_tcase,
	priority_faults_tcase,
	round_trips_tcase,
	kernel_features_tcase,
	cache_tcase,
	hazards_tcase,
	eager_tcase,
	eager_limits_tcase,
	graphs_tcase,
	graphs_pool_tcase,
	timing_tcase,
	timing_config_tcase,
	faults_tcase,
	gpu_faults_tcase,
	isolation_tcase,
	isolation_default_tcase,
	isolation_tokens_tcase,
	devices_tcase,
	shards_tcase,
	shards_own_tcase,
};
#define N_TCASES (sizeof(tcases) / sizeof(tcases[0]))

/* Runs test case i alone, quietly; prints a line for it and one for each
 * failure. Returns the number of failed tests. */
static int run_one(size_t i)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	Suite *s = suite_create("daemon");
	suite_add_tcase(s, tcases[i]());
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_SILENT);
	int n = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	TestResult **tr = srunner_failures(sr);
	for (int k = 0; k < failed; k++)
		printf("%s:%d:%s:%s: %s\n", tr_lfile(tr[k]), tr_lno(tr[k]), tr_tcname(tr[k]),
		       tr_rtype(tr[k]) == CK_ERROR ? "E" : "F", tr_msg(tr[k]));
	free(tr);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TestResult **all = srunner_results(sr);
	printf("%-24s %3d tests, %d failed, %.1f s\n", n ? tr_tcname(all[0]) : "(none)", n, failed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	free(all);
	fflush(stdout);
	srunner_free(sr);
	return failed;
}

/*
 * Test cases run in GPUCMD_TEST_JOBS processes at once (default: one more
 * than the cores): most of a test's time is a daemon starting, waiting for
 * the GPU or for a timeout, so the suite takes a fraction of its
 * sequential time. Each worker takes the next case from a pipe; CK_RUN_CASE
 * (one case, Check's own output) runs sequentially as before.
 */
int main(void)
{
	if (getenv("CK_RUN_CASE")) {
		Suite *s = suite_create("daemon");
		for (size_t i = 0; i < N_TCASES; i++)
			suite_add_tcase(s, tcases[i]());
		SRunner *sr = srunner_create(s);
		srunner_run_all(sr, CK_NORMAL);
		int failed = srunner_ntests_failed(sr);
		srunner_free(sr);
		return failed ? 1 : 0;
	}
	const char *env = getenv("GPUCMD_TEST_JOBS");
	long jobs = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN) + 1;
	if (jobs < 1)
		jobs = 1;
	int queue[2];
	if (pipe(queue) < 0)
		return 2;
	for (size_t i = 0; i < N_TCASES; i++) {
		uint8_t b = (uint8_t)i;
		if (write(queue[1], &b, 1) != 1)
			return 2;
	}
	close(queue[1]);
	fflush(stdout);
	for (long w = 0; w < jobs; w++) {
		if (fork() != 0)
			continue;
		int failed = 0;
		uint8_t b;
		while (read(queue[0], &b, 1) == 1)
			failed += run_one(b);
		_exit(failed ? 1 : 0);
	}
	close(queue[0]);
	int st, bad = 0;
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	printf("%s: %zu test cases in %ld processes\n", bad ? "FAILED" : "passed", N_TCASES, jobs);
	return bad;
}
