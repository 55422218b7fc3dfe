/*
 * test_daemon_faults.c — hostile and failing clients against a real daemon:
 * clients killed with SIGKILL at every phase of their life, connections that
 * say nothing or stop mid-frame, thousands of connections and running out
 * of descriptors, guessed handles and tokens, and every size, offset, count
 * and group field pushed to its integer limits. After each, the daemon must
 * still serve, and its open fds, live buffers, sessions and accounted
 * memory must be back where they started.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"

/* ---- clients killed at every phase ------------------------------------------ */

enum phase {
	CONNECTING,       /* half a hello written */
	HANDSHAKE,        /* hello sent, reply not read */
	ENCODING,         /* dispatches streamed, nothing committed */
	FENCED,           /* fence committed, exported, next stage encoding */
	IN_FLIGHT,        /* a long stage committed */
	UPLOADING,        /* inside a 64 MiB gpucmd_buffer_write */
	UPLOAD_UNFINISHED, /* write chunks sent, the last one never */
	EXPORTED,         /* a buffer exported and imported by another process */
	SHARED,           /* shared-memory buffers in use by the GPU */
	N_PHASES
};

static const char *const phase_names[N_PHASES] = {"connecting", "handshake", "encoding", "fenced", "in flight",
						  "uploading", "upload unfinished", "exported", "shared"};

struct victim_report {
	gpucmd_token fence, buffer;
};

static void must_child(gpucmd_client *c, int r)
{
	if (r < 0) {
		fprintf(stderr, "victim: %s\n", gpucmd_last_error(c));
		_exit(2);
	}
}

/* The victim process: gets to phase p, reports on fd `tell`, then waits to
 * be killed (or, while uploading, is killed in the middle of it). */
static void victim(enum phase p, int tell)
{
	struct victim_report rep = {0};
	if (p == CONNECTING || p == HANDSHAKE || p == UPLOAD_UNFINISHED) {
		struct raw r;
		uint8_t buf[256];
		if (p == UPLOAD_UNFINISHED) {
			raw_open(&r);
			Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
			bc.size = 1 << 20;
			Gpucmd__Request req = GPUCMD__REQUEST__INIT;
			req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
			req.buffer_create = &bc;
			if (raw_call(&r, &req, NULL, 0) != 0)
				_exit(2);
			static uint8_t chunk[64 << 10];
			Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
			w.buffer = 1;
			w.data = (ProtobufCBinaryData){sizeof(chunk), chunk};
			req.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
			req.buffer_write = &w;
			for (int i = 0; i < 8; i++, w.offset += sizeof(chunk))
				raw_send(&r, &req);
		} else {
			r.fd = raw_connect();
			size_t n = raw_hello(buf, sizeof(buf), GPUCMD_PROTOCOL_VERSION);
			if (write(r.fd, buf, p == CONNECTING ? n / 2 : n) < 0)
				_exit(2);
		}
	} else {
		gpucmd_client *c = gpucmd_connect(test_daemon.socket);
		struct gpucmd_kernel_info fill;
		gpucmd_buffer b, sh = 0;
		gpucmd_session s;
		if (!c)
			_exit(2);
		must_child(c, gpucmd_kernel_find(c, "fill_f32", &fill));
		must_child(c, gpucmd_buffer_create(c, 4 << 20, 0, &b));
		must_child(c, gpucmd_session_open(c, phase_names[p], &s));
		if (p == SHARED) {
			void *map;
			must_child(c, gpucmd_buffer_create_shared(c, 4 << 20, &sh, &map, NULL));
		}
		struct gpucmd_binding bind = {p == SHARED ? sh : b, 0, 0};
		struct { uint32_t n; float v; } fp = {1u << 20, 2.0f};
		int rounds = p == IN_FLIGHT || p == SHARED ? 40 : 2;
		for (int i = 0; i < rounds; i++)
			must_child(c, gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, 4096, 1, 1));
		if (p == FENCED) {
			must_child(c, gpucmd_fence_stage(c, s, "fenced"));
			must_child(c, gpucmd_fence_export(c, s, &rep.fence));
			must_child(c, gpucmd_reset_for_next_stage(c, s));
			must_child(c, gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, 4096, 1, 1));
		} else if (p == IN_FLIGHT || p == SHARED) {
			must_child(c, gpucmd_commit_stage(c, s));
		} else if (p == EXPORTED) {
			uint32_t pattern[64];
			for (int i = 0; i < 64; i++)
				pattern[i] = 0x5a5a0000u + (uint32_t)i;
			must_child(c, gpucmd_buffer_write(c, b, 0, pattern, sizeof(pattern)));
			must_child(c, gpucmd_buffer_export(c, b, &rep.buffer));
		}
		must_child(c, gpucmd_flush(c));
		if (p == UPLOADING) {
			size_t size = 64u << 20;
			gpucmd_buffer big;
			void *data = calloc(1, size);
			must_child(c, gpucmd_buffer_create(c, size, 0, &big));
			if (write(tell, &rep, sizeof(rep)) < 0)
				_exit(2);
			for (;;)
				gpucmd_buffer_write(c, big, 0, data, size);
		}
	}
	if (write(tell, &rep, sizeof(rep)) < 0)
		_exit(2);
	for (;;)
		pause();
}

START_TEST(client_killed_at_every_phase_leaves_nothing_behind)
{
	enum phase p = (enum phase)_i;
	int base = daemon_base_fds();
	gpucmd_client *peer = connect_ok();
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		victim(p, pfd[1]);
	}
	close(pfd[1]);
	struct victim_report rep;
	ck_assert_msg(read(pfd[0], &rep, sizeof(rep)) == sizeof(rep), "victim did not reach phase '%s'",
		      phase_names[p]);
	close(pfd[0]);
	gpucmd_buffer imported = 0;
	if (p == EXPORTED)
		ck_assert_int_eq(gpucmd_buffer_import(peer, &rep.buffer, &imported), 0);
	if (p == UPLOADING)
		usleep(20000); /* well inside the upload */
	kill(pid, SIGKILL);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "victim exited by itself (status %d)", st);

	if (p == FENCED) {
		/* Committed work still completes; the token died with its owner. */
		int r = gpucmd_fence_wait(peer, &rep.fence, 1, 10000);
		ck_assert_msg(r == 0 || r == -ENOENT || r == GPUCMD_E_FENCE_ABANDONED, "fence wait: %d %s", r,
			      gpucmd_last_error(peer));
	}
	if (p == EXPORTED) {
		/* The importer's handle keeps the buffer and its bytes. */
		uint32_t got[64];
		ck_assert_int_eq(gpucmd_buffer_read(peer, imported, 0, got, sizeof(got)), 0);
		for (int i = 0; i < 64; i++)
			ck_assert_uint_eq(got[i], 0x5a5a0000u + (uint32_t)i);
		ck_assert_int_eq(gpucmd_buffer_free(peer, imported), 0);
	}
	ck_assert_int_eq(gpucmd_ping(peer), 0);
	gpucmd_disconnect(peer);
	expect_baseline(base);
}
END_TEST

/* ---- silence, partial frames, many connections ---------------------------- */

START_TEST(silent_and_half_sent_connections_block_nobody)
{
	int base = daemon_base_fds();
	int silent = raw_connect();
	int partial = raw_connect();
	uint8_t buf[256];
	size_t n = raw_hello(buf, sizeof(buf), GPUCMD_PROTOCOL_VERSION);
	ck_assert_int_eq(write(partial, buf, n), (ssize_t)n);
	uint32_t len = 1000; /* a header announcing 1000 bytes, then 10 of them */
	memcpy(buf, &len, 4);
	memset(buf + 4, 0x08, 10);
	ck_assert_int_eq(write(partial, buf, 14), 14);
	gpucmd_client *c = connect_ok();
	float a[64], b[64], out[64];
	random_floats(a, 64, 3);
	random_floats(b, 64, 4);
	ck_assert_int_eq(run_binary_kernel(c, "mul_f32", a, b, out, 64), 0);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	ck_assert_uint_eq(info.clients, 3);
	gpucmd_disconnect(c);
	close(silent);
	close(partial);
	expect_baseline(base);
}
END_TEST

/* As many connections as the limits allow (2000 when they do) are all
 * served at once, then all closed. */
START_TEST(two_thousand_connections_are_served_then_released)
{
	raise_fd_limit();
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int want = rl.rlim_cur > 2200 ? 2000 : (int)rl.rlim_cur - 200;
	int base = daemon_base_fds();
	gpucmd_client **cs = calloc((size_t)want, sizeof(*cs));
	int served = 0;
	char first_error[256] = "";
	for (int i = 0; i < want; i++) {
		cs[i] = gpucmd_connect(test_daemon.socket);
		if (cs[i])
			served++;
		else if (!first_error[0])
			snprintf(first_error, sizeof(first_error), "%s", gpucmd_last_error(NULL));
	}
	ck_assert_msg(served == want, "%d of %d connections served; first refusal: %s", served, want, first_error);
	/* Every one of them still answers. */
	for (int i = 0; i < want; i += 97)
		ck_assert_int_eq(gpucmd_ping(cs[i]), 0);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(cs[want - 1], &info), 0);
	ck_assert_uint_eq(info.clients, (unsigned)want);
	for (int i = 0; i < want; i++)
		gpucmd_disconnect(cs[i]);
	free(cs);
	expect_baseline(base);
}
END_TEST

/* With its descriptors nearly spent, the daemon refuses new connections
 * with a reply that says why, keeps serving the ones it has, and serves new
 * ones again once descriptors are free. */
START_TEST(connections_past_the_fd_limit_are_refused_with_a_reason)
{
	raise_fd_limit();
	int base = daemon_base_fds();
	struct rlimit old;
	ck_assert_int_eq(prlimit(test_daemon.pid, RLIMIT_NOFILE, NULL, &old), 0);
	/* Only the soft limit: an unprivileged process cannot raise the hard
	 * one back. */
	struct rlimit low = {(rlim_t)base + 40, old.rlim_max};
	ck_assert_int_eq(prlimit(test_daemon.pid, RLIMIT_NOFILE, &low, NULL), 0);
	enum { N = 120 };
	gpucmd_client *cs[N];
	int served = 0, refused = 0;
	for (int i = 0; i < N; i++) {
		cs[i] = gpucmd_connect(test_daemon.socket);
		if (cs[i]) {
			served++;
			continue;
		}
		refused++;
		ck_assert_msg(strstr(gpucmd_last_error(NULL), "file descriptors"), "refusal says: %s",
			      gpucmd_last_error(NULL));
	}
	ck_assert_int_gt(served, 10);
	ck_assert_int_gt(refused, 0);
	for (int i = 0; i < N; i++)
		if (cs[i])
			ck_assert_int_eq(gpucmd_ping(cs[i]), 0);
	for (int i = 0; i < N; i++)
		gpucmd_disconnect(cs[i]);
	ck_assert_int_eq(prlimit(test_daemon.pid, RLIMIT_NOFILE, &old, NULL), 0);
	expect_baseline(base);
}
END_TEST

/* ---- guessing ------------------------------------------------------------ */

/* A second connection names handles it was never given, and random tokens:
 * every one is an error, and the owner's objects are untouched. */
START_TEST(guessed_handles_and_tokens_are_always_errors)
{
	int base = daemon_base_fds();
	gpucmd_client *owner = connect_ok(), *thief = connect_ok();
	gpucmd_buffer ob[8];
	gpucmd_session os[4];
	uint32_t pattern[16];
	for (int i = 0; i < 16; i++)
		pattern[i] = 0xc0de0000u + (uint32_t)i;
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(gpucmd_buffer_create(owner, sizeof(pattern), 0, &ob[i]), 0);
		ck_assert_int_eq(gpucmd_buffer_write(owner, ob[i], 0, pattern, sizeof(pattern)), 0);
	}
	gpucmd_token real;
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(gpucmd_session_open(owner, "owned", &os[i]), 0);
	ck_assert_int_eq(gpucmd_fence_export(owner, os[0], &real), 0);
	gpucmd_session mine;
	struct gpucmd_kernel_info fill;
	ck_assert_int_eq(gpucmd_session_open(thief, "thief", &mine), 0);
	ck_assert_int_eq(gpucmd_kernel_find(thief, "fill_f32", &fill), 0);
	unsigned seed = 12345;
	int loops = 300;
	for (int i = 0; i < loops; i++) {
		/* Small numbers first (the owner's real handles), then anything. */
		seed = seed * 1103515245u + 12345u;
		uint32_t h = i < 40 ? (uint32_t)i : seed;
		if (h == mine)
			continue;
		uint32_t got[16];
		ck_assert_int_eq(gpucmd_buffer_read(thief, h, 0, got, sizeof(got)), -ENOENT);
		ck_assert_int_eq(gpucmd_buffer_write(thief, h, 0, got, sizeof(got)), -ENOENT);
		ck_assert_int_eq(gpucmd_buffer_free(thief, h), -ENOENT);
		gpucmd_token t;
		ck_assert_int_eq(gpucmd_buffer_export(thief, h, &t), -ENOENT);
		ck_assert_int_eq(gpucmd_fence_export(thief, h, &t), -ENOENT);
		struct gpucmd_session_state st;
		ck_assert_int_eq(gpucmd_session_query(thief, h, &st), -ENOENT);
		/* A random 128-bit token, and the real one with one bit flipped. */
		for (size_t k = 0; k < sizeof(t.bytes); k++) {
			seed = seed * 1103515245u + 12345u;
			t.bytes[k] = (uint8_t)(seed >> 16);
		}
		if (i & 1) {
			t = real;
			t.bytes[(i / 2) % 16] ^= (uint8_t)(1u << (i % 8));
		}
		gpucmd_buffer imp;
		int efd;
		ck_assert_int_eq(gpucmd_buffer_import(thief, &t, &imp), -ENOENT);
		ck_assert_int_eq(gpucmd_fence_wait(thief, &t, 1, 0), -ENOENT);
		ck_assert_int_eq(gpucmd_fence_fd(thief, &t, 1, &efd), -ENOENT);
		/* Streamed: a dispatch binding the guessed buffer into the
		 * thief's own session, and a wait on the guessed fence. */
		struct gpucmd_binding bind = {h, 0, 0};
		struct { uint32_t n; float v; } fp = {16, 1.0f};
		ck_assert_int_eq(gpucmd_dispatch(thief, mine, fill.id, &bind, 1, &fp, 8, 1, 1, 1), 0);
		ck_assert_int_eq(gpucmd_commit_and_wait(thief, mine), -ENOENT);
		ck_assert_int_eq(gpucmd_reset_for_next_stage(thief, mine), 0);
		ck_assert_int_eq(gpucmd_wait_fence(thief, mine, &t, 1), 0);
		ck_assert_int_eq(gpucmd_commit_and_wait(thief, mine), -ENOENT);
		ck_assert_int_eq(gpucmd_reset_for_next_stage(thief, mine), 0);
	}
	for (int i = 0; i < 8; i++) {
		uint32_t got[16];
		ck_assert_int_eq(gpucmd_buffer_read(owner, ob[i], 0, got, sizeof(got)), 0);
		ck_assert_mem_eq(got, pattern, sizeof(got));
	}
	gpucmd_disconnect(thief);
	gpucmd_disconnect(owner);
	expect_baseline(base);
}
END_TEST

/* ---- integer limits in every field -------------------------------------- */

#define MAX64 UINT64_MAX
#define MAX32 UINT32_MAX

static void expect_fail(gpucmd_client *c, int r, const char *what)
{
	ck_assert_msg(r < 0, "%s was accepted", what);
	ck_assert_msg(gpucmd_last_error(c)[0], "%s: no error text", what);
}

/* A streamed request the daemon must refuse at the next commit_and_wait. */
static void expect_stage_fail(gpucmd_client *c, gpucmd_session s, int r, const char *what)
{
	ck_assert_int_eq(r, 0);
	expect_fail(c, gpucmd_commit_and_wait(c, s), what);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
}

START_TEST(integer_limits_in_every_field_are_refused_through_the_library)
{
	int base = daemon_base_fds();
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b, b2;
	gpucmd_session s;
	uint8_t data[64] = {0};
	const uint64_t size = 4096;
	static const uint64_t huge[] = {MAX64, MAX64 - 3, 1ull << 63, (1ull << 32) + 4, MAX32, 4097};
	ck_assert_int_eq(gpucmd_buffer_create(c, size, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, size, 0, &b2), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "limits", &s), 0);
	struct gpucmd_kernel_info add, fill;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &add), 0);
	ck_assert_int_eq(gpucmd_kernel_find(c, "fill_f32", &fill), 0);
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	gpucmd_buffer too_big;
	expect_fail(c, gpucmd_buffer_create(c, info.max_buffer_size + 1, 0, &too_big), "buffer_create past maxBufferSize");
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		uint64_t h = huge[i];
		gpucmd_buffer nb;
		if (h > info.max_buffer_size)
			expect_fail(c, gpucmd_buffer_create(c, h, 0, &nb), "buffer_create size");
		expect_fail(c, gpucmd_buffer_write(c, b, h, data, 4), "buffer_write offset");
		expect_fail(c, gpucmd_buffer_read(c, b, h, data, 4), "buffer_read offset");
		/* offset + size wraps around */
		struct gpucmd_binding bind[3] = {{b, h, 0}, {b, 0, 0}, {b, 0, 0}};
		uint32_t n = 16;
		expect_stage_fail(c, s, gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, 1, 1, 1), "binding offset");
		bind[0] = (struct gpucmd_binding){b, 256, h};
		expect_stage_fail(c, s, gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, 1, 1, 1), "binding size");
		expect_stage_fail(c, s, gpucmd_buffer_copy(c, s, b, h, b2, 0, 16), "copy src_offset");
		expect_stage_fail(c, s, gpucmd_buffer_copy(c, s, b, 0, b2, h, 16), "copy dst_offset");
		expect_stage_fail(c, s, gpucmd_buffer_copy(c, s, b, 16, b2, 0, h), "copy size");
		expect_stage_fail(c, s, gpucmd_buffer_copy(c, s, b, h & ~3ull, b2, 0, h), "copy offset + size");
		expect_stage_fail(c, s, gpucmd_buffer_fill(c, s, b, h & ~3ull, 4, 1), "fill offset");
		expect_stage_fail(c, s, gpucmd_buffer_fill(c, s, b, 4, h & ~3ull, 1), "fill size");
		if (h > (1ull << 48)) {
			gpucmd_buffer sh;
			void *map;
			expect_fail(c, gpucmd_buffer_create_shared(c, h, &sh, &map, NULL), "shared size");
		}
	}
	/* Group counts: each at the maximum, and a product that overflows 32 bits. */
	struct gpucmd_binding one = {b, 0, 0};
	struct { uint32_t n; float v; } fp = {16, 1.0f};
	static const uint32_t groups[][3] = {{MAX32, 1, 1}, {1, MAX32, 1}, {1, 1, MAX32}, {0, 1, 1},
					     {1, 0, 1},     {1, 1, 0},     {65536, 65536, 2}};
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		expect_stage_fail(c, s,
				  gpucmd_dispatch(c, s, fill.id, &one, 1, &fp, 8, groups[i][0], groups[i][1], groups[i][2]),
				  "group count");
	/* Push constants past the kernel's size, and the kernel id at its limits. */
	static uint8_t push[4096];
	expect_stage_fail(c, s, gpucmd_dispatch(c, s, fill.id, &one, 1, push, sizeof(push), 1, 1, 1), "push size");
	expect_stage_fail(c, s, gpucmd_dispatch(c, s, MAX32, &one, 1, &fp, 8, 1, 1, 1), "kernel id");
	expect_stage_fail(c, s, gpucmd_dispatch(c, s, 0, &one, 1, &fp, 8, 1, 1, 1), "kernel id 0");
	/* Fence values at the limit: a host wait reports at once, a stage
	 * that would wait forever is refused or abandoned, never hangs. */
	gpucmd_token t;
	ck_assert_int_eq(gpucmd_fence_export(c, s, &t), 0);
	expect_fail(c, gpucmd_fence_wait(c, &t, MAX64, 0), "fence_wait value");
	int efd = -1;
	int r = gpucmd_fence_fd(c, &t, MAX64, &efd);
	if (r == 0)
		close(efd);
	/* Another session's stage waiting on the largest value can never run;
	 * it is held, not submitted, and freed when the fence's session goes.
	 * (Its buffer stays busy until then: a read of it would wait.) */
	gpucmd_session s2;
	gpucmd_buffer pinned;
	ck_assert_int_eq(gpucmd_buffer_create(c, size, 0, &pinned), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "waits forever", &s2), 0);
	ck_assert_int_eq(gpucmd_wait_fence(c, s2, &t, MAX64), 0);
	struct gpucmd_binding pin = {pinned, 0, 0};
	ck_assert_int_eq(gpucmd_dispatch(c, s2, fill.id, &pin, 1, &fp, 8, 1, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_stage(c, s2), 0);
	ck_assert_int_eq(gpucmd_session_close(c, s2), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, pinned), 0);
	/* The connection still works, and the buffers hold what they held. */
	ck_assert_int_eq(gpucmd_buffer_read(c, b, size - 4, data, 4), 0);
	ck_assert_int_eq(gpucmd_ping(c), 0);
	gpucmd_disconnect(c);
	expect_baseline(base);
}
END_TEST

/* What the library itself refuses to send, as raw frames. */
START_TEST(integer_limits_in_raw_frames_are_refused)
{
	int base = daemon_base_fds();
	struct raw r;
	raw_open(&r);
	char err[256];
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = 4096;
	bc.flags = MAX32; /* unknown flag bits */
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	req.buffer_create = &bc;
	ck_assert_int_lt(raw_call(&r, &req, err, sizeof(err)), 0);
	bc.flags = 0;
	ck_assert_int_eq(raw_call(&r, &req, err, sizeof(err)), 0); /* buffer 1 */

	Gpucmd__BufferRead rd = GPUCMD__BUFFER_READ__INIT;
	rd.buffer = 1;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_READ;
	req.buffer_read = &rd;
	static const uint64_t sizes[] = {MAX64, MAX64 - 4095, 1ull << 32, 4097, 0};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		rd.size = sizes[i];
		rd.offset = sizes[i] ? 0 : MAX64;
		ck_assert_msg(raw_call(&r, &req, err, sizeof(err)) < 0, "read of %llu accepted",
			      (unsigned long long)sizes[i]);
		rd.offset = 1;
		rd.size = sizes[i] ? sizes[i] : MAX64;
		ck_assert_int_lt(raw_call(&r, &req, err, sizeof(err)), 0);
	}
	/* A write chunk that is not the last: refused at the next round trip. */
	uint8_t bytes[8] = {0};
	Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
	w.buffer = 1;
	w.offset = MAX64 - 3;
	w.data = (ProtobufCBinaryData){sizeof(bytes), bytes};
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
	req.buffer_write = &w;
	ck_assert_int_lt(raw_streamed(&r, &req, err, sizeof(err)), 0);

	/* A dispatch with far more bindings than any kernel takes. */
	Gpucmd__SessionOpen so = GPUCMD__SESSION_OPEN__INIT;
	static char label[100000];
	memset(label, 'x', sizeof(label) - 1);
	so.label = label; /* a label far longer than any log line */
	req.body_case = GPUCMD__REQUEST__BODY_SESSION_OPEN;
	req.session_open = &so;
	ck_assert_int_eq(raw_call(&r, &req, err, sizeof(err)), 0); /* session 1 */
	enum { NB = 5000 };
	Gpucmd__Binding *bp[NB], bind[NB];
	for (int i = 0; i < NB; i++) {
		gpucmd__binding__init(&bind[i]);
		bind[i].buffer = 1;
		bp[i] = &bind[i];
	}
	Gpucmd__Dispatch dp = GPUCMD__DISPATCH__INIT;
	dp.session = 1;
	dp.kernel = 1;
	dp.n_bindings = NB;
	dp.bindings = bp;
	dp.groups_x = dp.groups_y = dp.groups_z = 1;
	req.body_case = GPUCMD__REQUEST__BODY_DISPATCH;
	req.dispatch = &dp;
	raw_send(&r, &req);
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = 1;
	cm.mode = GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	req.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	req.commit = &cm;
	ck_assert_int_lt(raw_call(&r, &req, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "5000"), "error does not name the count: %s", err);
	cm.mode = (Gpucmd__CommitMode)77; /* an enum value that does not exist */
	ck_assert_int_lt(raw_streamed(&r, &req, err, sizeof(err)), 0);
	/* A shared buffer whose size does not match its memfd. */
	Gpucmd__BufferCreateShared bs = GPUCMD__BUFFER_CREATE_SHARED__INIT;
	bs.size = MAX64;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED;
	req.buffer_create_shared = &bs;
	ck_assert_int_lt(raw_call(&r, &req, err, sizeof(err)), 0); /* no memfd came */
	/* A request with no body at all. */
	Gpucmd__Request empty = GPUCMD__REQUEST__INIT;
	ck_assert_int_lt(raw_call(&r, &empty, err, sizeof(err)), 0);
	raw_close(&r);
	expect_baseline(base);
}
END_TEST

TCase *faults_tcase(void)
{
	TCase *t = tcase_create("faults");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 240);
	tcase_add_loop_test(t, client_killed_at_every_phase_leaves_nothing_behind, 0, N_PHASES);
	tcase_add_test(t, silent_and_half_sent_connections_block_nobody);
	tcase_add_test(t, two_thousand_connections_are_served_then_released);
	tcase_add_test(t, connections_past_the_fd_limit_are_refused_with_a_reason);
	tcase_add_test(t, guessed_handles_and_tokens_are_always_errors);
	tcase_add_test(t, integer_limits_in_every_field_are_refused_through_the_library);
	tcase_add_test(t, integer_limits_in_raw_frames_are_refused);
	return t;
}
