/*
 * test_daemon_shared.c — shared-memory buffers (issue 10) against a real
 * gpucmdd: a sealed memfd the GPU uses in place (lavapipe imports host
 * memory), the copying fallback (--no-host-import), every bad descriptor a
 * client can send, and a client killed while the GPU uses its memory. The
 * daemon's own descriptors are counted before and after.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"

/* The daemon's descriptors once c is its only client (an earlier probe
 * connection may still be closing). */
static int baseline_fds(gpucmd_client *c)
{
	struct gpucmd_info info;
	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(gpucmd_info(c, &info), 0);
		if (info.clients == 1)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(info.clients, 1);
	return daemon_fd_count();
}

/* The daemon's descriptor count settles back to `want` (closing is done
 * from the loop, a moment after the client's last reply). */
static void expect_daemon_fds(int want)
{
	int n = daemon_fd_count();
	for (int i = 0; i < 200 && n != want; i++) {
		usleep(10000);
		n = daemon_fd_count();
	}
	ck_assert_msg(n == want, "gpucmdd has %d fds, had %d before", n, want);
}

/* Device-local buffer <- shared -> back, size bytes, checked. */
static void round_trip(gpucmd_client *c, size_t size, bool want_zero_copy)
{
	gpucmd_buffer sh, dev;
	uint32_t *map;
	bool zero_copy;
	ck_assert_msg(gpucmd_buffer_create_shared(c, size, &sh, (void **)&map, &zero_copy) == 0, "%s",
		      gpucmd_last_error(c));
	ck_assert_int_eq(zero_copy, want_zero_copy);
	ck_assert_int_eq(gpucmd_buffer_create(c, size, 0, &dev), 0);
	for (size_t i = 0; i < size / 4; i++)
		map[i] = (uint32_t)(i * 2654435761u);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(c, "shared", &s), 0);
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, sh, 0, dev, 0, size), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	memset(map, 0, size);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, dev, 0, sh, 0, size), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	/* One assertion for all words: each ck_assert is a write to Check's
	 * pipe, which over 16 M words cost half a minute. */
	size_t bad = 0;
	while (bad < size / 4 && map[bad] == (uint32_t)(bad * 2654435761u))
		bad++;
	ck_assert_msg(bad == size / 4, "word %zu = %u", bad, bad < size / 4 ? map[bad] : 0);
	uint32_t last;
	ck_assert_int_eq(gpucmd_buffer_read(c, dev, size - 4, &last, 4), 0);
	ck_assert_uint_eq(last, (uint32_t)((size / 4 - 1) * 2654435761u));
	ck_assert_int_eq(gpucmd_session_close(c, s), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, sh), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, dev), 0);
}

/* A kernel reads and writes shared buffers directly; inline writes and
 * reads of a shared buffer see the same memory as the mapping. */
static void kernel_on_shared(gpucmd_client *c)
{
	enum { N = 5000 };
	gpucmd_buffer a, out;
	float *pa, *po;
	ck_assert_int_eq(gpucmd_buffer_create_shared(c, N * 4, &a, (void **)&pa, NULL), 0);
	ck_assert_int_eq(gpucmd_buffer_create_shared(c, N * 4, &out, (void **)&po, NULL), 0);
	for (int i = 0; i < N; i++)
		pa[i] = (float)i * 0.5f;
	float seven = 7.0f;
	ck_assert_int_eq(gpucmd_buffer_write(c, a, 4, &seven, 4), 0);
	ck_assert(pa[1] == 7.0f);
	struct gpucmd_kernel_info add;
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &add), 0);
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(c, "k", &s), 0);
	struct gpucmd_binding b[3] = {{a, 0, 0}, {a, 0, 0}, {out, 0, 0}};
	uint32_t n = N;
	ck_assert_int_eq(gpucmd_dispatch(c, s, add.id, b, 3, &n, 4, (N + 255) / 256, 1, 1), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	for (int i = 0; i < N; i++)
		ck_assert_msg(po[i] == pa[i] + pa[i], "out[%d] = %g", i, po[i]);
	float back;
	ck_assert_int_eq(gpucmd_buffer_read(c, out, 4, &back, 4), 0);
	ck_assert(back == 14.0f);
}

START_TEST(shared_memory_round_trip_is_zero_copy)
{
	gpucmd_client *c = connect_ok();
	int fds0 = baseline_fds(c);
	round_trip(c, 64u << 20, true);
	kernel_on_shared(c);
	gpucmd_disconnect(c);
	expect_daemon_fds(fds0 - 1); /* the connection itself is gone too */
}
END_TEST

START_TEST(shared_memory_falls_back_to_copies)
{
	daemon_start((const char *const[]){"--no-host-import", NULL});
	gpucmd_client *c = connect_ok();
	round_trip(c, (8u << 20) + 4096, false);
	kernel_on_shared(c);
	gpucmd_disconnect(c);
}
END_TEST

/* [hello][buffer_create_shared size] sent with `fds`; the first error reply. */
static int send_create(uint64_t size, const int *fds, int n_fds, char *err, size_t errlen)
{
	int s = raw_connect();
	ck_assert_int_ge(s, 0);
	uint8_t out[512];
	size_t len = raw_hello(out, sizeof(out), GPUCMD_PROTOCOL_VERSION);
	Gpucmd__BufferCreateShared bs = GPUCMD__BUFFER_CREATE_SHARED__INIT;
	bs.size = size;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.id = 2;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED;
	req.buffer_create_shared = &bs;
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_pack(&b, &req.base, GW_DEFAULT_MAX_FRAME), 0);
	memcpy(out + len, b.data, b.len);
	len += b.len;
	gw_buf_finish(&b);
	if (n_fds)
		ck_assert_int_eq(gw_send_fds(s, out, len, fds, (uint32_t)n_fds, MSG_NOSIGNAL), (ssize_t)len);
	else
		ck_assert_int_eq(send(s, out, len, MSG_NOSIGNAL), (ssize_t)len);
	shutdown(s, SHUT_WR);
	static uint8_t in[1 << 16];
	size_t got = raw_read_all(s, in, sizeof(in));
	close(s);
	return raw_reply_error(in, got, err, errlen);
}

static int memfd(size_t size, int seals)
{
	int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (seals)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

START_TEST(bad_descriptors_are_refused_and_closed)
{
	gpucmd_client *c = connect_ok();
	int fds0 = baseline_fds(c), mine0 = count_fds();
	char err[256];
	const int sealed = F_SEAL_SHRINK | F_SEAL_GROW;
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int good = memfd(1 << 20, sealed), loose = memfd(1 << 20, 0), small = memfd(4096, sealed);
	int ro = memfd(1 << 20, sealed | F_SEAL_WRITE);
	struct { const int *fds; int n; uint64_t size; int code; const char *needle; } cases[] = {
		{NULL, 0, 4096, -EBADF, "came without a memfd"},
		{&p[0], 1, 4096, -EBADF, "not a memfd"},
		{&loose, 1, 4096, -EPERM, "not sealed against shrinking and growing"},
		{&small, 1, 1 << 20, -EINVAL, "the memfd holds 4096 bytes"},
		{&ro, 1, 4096, -EPERM, "sealed against writing"},
		{&good, 1, 0, -EINVAL, "zero or too large"},
		{(int[]){good, good, good, good, good}, 5, 4096, GPUCMD_E_PROTOCOL, "too many file descriptors"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = send_create(cases[i].size, cases[i].fds, cases[i].n, err, sizeof(err));
		ck_assert_msg(r == cases[i].code, "case %zu: status %d, expected %d (%s)", i, r, cases[i].code, err);
		ck_assert_msg(strstr(err, cases[i].needle), "case %zu: '%s' does not say '%s'", i, err, cases[i].needle);
		expect_daemon_fds(fds0);
	}
	/* the good memfd works, and the daemon still serves */
	ck_assert_int_eq(send_create(1 << 20, &good, 1, err, sizeof(err)), 1);
	expect_daemon_fds(fds0);
	close(p[0]), close(p[1]), close(good), close(loose), close(small), close(ro);
	ck_assert_int_eq(count_fds(), mine0);
	round_trip(c, 1 << 20, true);
	gpucmd_disconnect(c);
}
END_TEST

/* Killed while the GPU copies to and from its shared memory: the daemon's
 * own mapping keeps the memory alive until the work retires. */
START_TEST(client_killed_during_a_shared_transfer)
{
	gpucmd_client *c = connect_ok();
	int fds0 = baseline_fds(c);
	pid_t pid = fork();
	if (pid == 0) {
		gpucmd_client *k = gpucmd_connect(test_daemon.socket);
		gpucmd_buffer sh, dev;
		void *map;
		gpucmd_session s;
		size_t size = 32u << 20;
		if (!k || gpucmd_buffer_create_shared(k, size, &sh, &map, NULL) || gpucmd_buffer_create(k, size, 0, &dev) ||
		    gpucmd_session_open(k, "doomed", &s))
			_exit(1);
		for (int i = 0; i < 8; i++) {
			gpucmd_buffer_copy(k, s, sh, 0, dev, 0, size);
			gpucmd_buffer_copy(k, s, dev, 0, sh, 0, size);
		}
		gpucmd_commit_stage(k, s);
		gpucmd_flush(k);
		kill(getpid(), SIGKILL);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	struct gpucmd_info info;
	for (int i = 0; i < (under_tsan() ? 3000 : 500); i++) {
		ck_assert_int_eq(gpucmd_info(c, &info), 0);
		if (info.live_buffers == 0 && info.clients == 1)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(info.live_buffers, 0);
	expect_daemon_fds(fds0);
	round_trip(c, 1 << 20, true);
	gpucmd_disconnect(c);
}
END_TEST

TCase *shared_tcase(void)
{
	TCase *t = tcase_create("shared");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, shared_memory_round_trip_is_zero_copy);
	tcase_add_test(t, bad_descriptors_are_refused_and_closed);
	tcase_add_test(t, client_killed_during_a_shared_transfer);
	return t;
}

TCase *shared_fallback_tcase(void)
{
	TCase *t = tcase_create("shared-fallback");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, shared_memory_falls_back_to_copies);
	return t;
}
