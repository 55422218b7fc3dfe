/*
 * test_daemon_memory.c — buffers as issue 5 defines them, against a real
 * gpucmdd: suballocation beyond maxMemoryAllocationCount, reuse and return
 * of blocks, copy and fill in a stage, range checks, the device budget,
 * per-client and per-uid limits, and the staging path of discrete GPUs
 * (forced on lavapipe with --force-staging).
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

static struct gpucmd_memory_report report(gpucmd_client *c)
{
	struct gpucmd_memory_report m;
	ck_assert_msg(gpucmd_memory_report(c, &m) == 0, "memory report: %s", gpucmd_last_error(c));
	free(m.clients);
	m.clients = NULL;
	return m;
}

/* The streamed request before commit_and_wait failed with `code` and a
 * message holding `needle`; the session goes on afterwards. */
static void expect_stage_error(gpucmd_client *c, gpucmd_session s, int code, const char *needle)
{
	int r = gpucmd_commit_and_wait(c, s);
	ck_assert_msg(r == code, "commit_and_wait returned %d, expected %d (%s)", r, code, gpucmd_last_error(c));
	ck_assert_msg(strstr(gpucmd_last_error(c), needle), "error '%s' does not mention '%s'", gpucmd_last_error(c),
		      needle);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
}

START_TEST(thousands_of_small_buffers_share_few_allocations)
{
	gpucmd_client *c = connect_ok();
	enum { N = 5000 };
	static gpucmd_buffer b[N];
	for (uint32_t i = 0; i < N; i++) {
		ck_assert_msg(gpucmd_buffer_create(c, 256, 0, &b[i]) == 0, "buffer %u: %s", i, gpucmd_last_error(c));
		ck_assert_int_eq(gpucmd_buffer_write(c, b[i], 0, &i, 4), 0);
	}
	struct gpucmd_memory_report m = report(c);
	ck_assert_uint_eq(m.live_buffers, N);
	ck_assert_uint_eq(m.self.buffers, N);
	ck_assert_uint_eq(m.self.bytes, N * 256);
	ck_assert_msg(m.device_allocations < 8, "%u device allocations for %d small buffers", m.device_allocations, N);
	/* Every buffer is its own memory: a GPU fill of one touches no other. */
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(c, "fill", &s), 0);
	for (uint32_t i = 0; i < N; i += 7)
		ck_assert_int_eq(gpucmd_buffer_fill(c, s, b[i], 4, 0, 0xffffffffu), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	for (uint32_t i = 0; i < N; i += 1) {
		uint32_t v[2];
		ck_assert_int_eq(gpucmd_buffer_read(c, b[i], 0, v, 8), 0);
		ck_assert_msg(v[0] == i && v[1] == (i % 7 ? 0 : 0xffffffffu), "buffer %u holds %u %x", i, v[0], v[1]);
	}
	for (uint32_t i = 0; i < N; i++)
		ck_assert_int_eq(gpucmd_buffer_free(c, b[i]), 0);
	m = report(c);
	ck_assert_uint_eq(m.live_buffers, 0);
	ck_assert_uint_eq(m.self.bytes, 0);
	ck_assert_msg(m.device_allocations <= 1, "%u device allocations left (one spare block may stay)",
		      m.device_allocations);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(freed_space_is_reused_and_empty_blocks_returned)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b[6], big;
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(gpucmd_buffer_create(c, 20 << 20, 0, &b[i]), 0);
	struct gpucmd_memory_report m = report(c);
	uint32_t blocks = m.device_allocations;
	ck_assert_msg(blocks >= 2 && blocks <= 3, "%u allocations for six 20 MiB buffers", blocks);
	/* A buffer over half a block gets its own allocation. */
	ck_assert_int_eq(gpucmd_buffer_create(c, 48 << 20, 0, &big), 0);
	ck_assert_uint_eq(report(c).device_allocations, blocks + 1);
	ck_assert_int_eq(gpucmd_buffer_free(c, big), 0);
	m = report(c);
	ck_assert_uint_eq(m.kept_allocations, 1); /* kept for the next 48 MiB buffer */
	ck_assert_uint_eq(m.device_allocations, blocks + 1);
	/* Freed space is reused without new memory. */
	ck_assert_int_eq(gpucmd_buffer_free(c, b[1]), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 20 << 20, 0, &b[1]), 0);
	ck_assert_uint_eq(report(c).device_allocations, blocks + 1);
	/* Reused memory is handed out cleared. */
	uint8_t junk[4096], back[4096], zero[4096] = {0};
	memset(junk, 0xa5, sizeof(junk));
	ck_assert_int_eq(gpucmd_buffer_write(c, b[1], 0, junk, sizeof(junk)), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, b[1]), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 4096, 0, &b[1]), 0);
	ck_assert_int_eq(gpucmd_buffer_read(c, b[1], 0, back, sizeof(back)), 0);
	ck_assert(memcmp(back, zero, sizeof(zero)) == 0);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(gpucmd_buffer_free(c, b[i]), 0);
	m = report(c);
	ck_assert_uint_le(m.device_allocations, 1 + m.kept_allocations);
	gpucmd_disconnect(c);
}
END_TEST

/* Large buffers have allocations of their own, which gpucmdd keeps when
 * they are freed (device/memory.h: the NVIDIA driver stalls every client
 * for 24 ms a GiB it allocates or frees): the next buffer of the same size,
 * of any client, gets one, cleared; other sizes do not; and once no client
 * is connected the device gets them back. */
START_TEST(freed_large_allocations_are_kept_reused_cleared_and_given_back)
{
	enum { BIG = 48 << 20, PAGE = 4096 };
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	gpucmd_buffer x, y, z;
	uint8_t junk[PAGE], back[PAGE], zero[PAGE] = {0};
	memset(junk, 0xa5, sizeof(junk));
	struct gpucmd_memory_report m0 = report(a);
	ck_assert_int_eq(gpucmd_buffer_create(a, BIG, 0, &x), 0);
	ck_assert_int_eq(gpucmd_buffer_write(a, x, 0, junk, PAGE), 0);
	ck_assert_int_eq(gpucmd_buffer_write(a, x, BIG - PAGE, junk, PAGE), 0);
	ck_assert_int_eq(gpucmd_buffer_free(a, x), 0);
	struct gpucmd_memory_report m = report(b);
	ck_assert_uint_eq(m.kept_allocations, m0.kept_allocations + 1);
	ck_assert_uint_ge(m.kept_bytes, m0.kept_bytes + BIG);
	ck_assert_uint_eq(m.device_allocations, m0.device_allocations + 1);

	ck_assert_int_eq(gpucmd_buffer_create(b, BIG, 0, &y), 0);
	m = report(b);
	ck_assert_uint_eq(m.reused_allocations, m0.reused_allocations + 1);
	ck_assert_uint_eq(m.kept_allocations, m0.kept_allocations);
	ck_assert_uint_eq(m.device_allocations, m0.device_allocations + 1);
	ck_assert_int_eq(gpucmd_buffer_read(b, y, 0, back, PAGE), 0);
	ck_assert_msg(!memcmp(back, zero, PAGE), "a reused allocation showed another client's data at its start");
	ck_assert_int_eq(gpucmd_buffer_read(b, y, BIG - PAGE, back, PAGE), 0);
	ck_assert_msg(!memcmp(back, zero, PAGE), "a reused allocation showed another client's data at its end");

	ck_assert_int_eq(gpucmd_buffer_free(b, y), 0);
	ck_assert_int_eq(gpucmd_buffer_create(b, BIG - (4 << 20), 0, &z), 0); /* another size: a new allocation */
	m = report(b);
	ck_assert_uint_eq(m.reused_allocations, m0.reused_allocations + 1);
	ck_assert_uint_eq(m.kept_allocations, m0.kept_allocations + 1);
	ck_assert_uint_eq(m.device_allocations, m0.device_allocations + 2);
	ck_assert_int_eq(gpucmd_buffer_free(b, z), 0);
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);

	/* The last client left: the device gets the kept memory back. */
	ck_assert(log_wait("kept allocations (", 10000));
	gpucmd_client *c = connect_ok();
	m = report(c);
	ck_assert_uint_eq(m.kept_allocations, 0);
	ck_assert_uint_eq(m.device_allocations, m0.device_allocations - m0.kept_allocations);
	gpucmd_disconnect(c);
}
END_TEST

/* Copy and fill are commands of the stage, ordered with its dispatches. */
START_TEST(copy_and_fill_run_in_stage_order)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_kernel_info add;
	gpucmd_buffer a, b, out;
	gpucmd_session s;
	enum { N = 3000 };
	ck_assert_int_eq(gpucmd_kernel_find(c, "add_f32", &add), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, N * 4, GPUCMD_BUFFER_HOST_VISIBLE, &out), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "copyfill", &s), 0);
	float two = 2.0f, half = 0.5f;
	uint32_t two_bits, half_bits, n = N;
	memcpy(&two_bits, &two, 4);
	memcpy(&half_bits, &half, 4);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, a, 0, 0, two_bits), 0);            /* a = 2 */
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, a, 400, 800, half_bits), 0);       /* a[100..300) = 0.5 */
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, a, 0, b, 0, N * 4), 0);            /* b = a */
	struct gpucmd_binding bind[3] = {{a, 0, 0}, {b, 0, 0}, {out, 0, 0}};
	ck_assert_int_eq(gpucmd_dispatch(c, s, add.id, bind, 3, &n, 4, (N + 255) / 256, 1, 1), 0);
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, out, 0, a, 4, 8), 0);              /* a[1..3) = out[0..2) */
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	static float o[N], av[4];
	ck_assert_int_eq(gpucmd_buffer_read(c, out, 0, o, sizeof(o)), 0);
	for (int i = 0; i < N; i++) {
		float want = i >= 100 && i < 300 ? 1.0f : 4.0f;
		ck_assert_msg(o[i] == want, "out[%d] = %g, expected %g", i, o[i], want);
	}
	ck_assert_int_eq(gpucmd_buffer_read(c, a, 0, av, sizeof(av)), 0);
	ck_assert(av[0] == 2.0f && av[1] == 4.0f && av[2] == 4.0f && av[3] == 2.0f);
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_session_query(c, s, &st), 0);
	ck_assert_uint_eq(st.dispatches, 1);
	/* Each command reads or overwrites what the one before it wrote. */
	ck_assert_uint_eq(st.barriers, 4);
	ck_assert_uint_eq(st.barriers_elided, 0);
	ck_assert_uint_eq(st.concurrent_groups, 5);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(bad_copies_fills_and_sizes_are_named)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a, b;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, 4096, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 1024, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "bad", &s), 0);
	gpucmd_buffer_copy(c, s, a, 0, b, 0, 2048);
	expect_stage_error(c, s, -ERANGE, "destination offset 0 + 2048 bytes exceeds buffer size 1024");
	gpucmd_buffer_copy(c, s, a, UINT64_MAX - 2, b, 0, 8);
	expect_stage_error(c, s, -ERANGE, "source offset");
	gpucmd_buffer_copy(c, s, a, 0, a, 100, 200);
	expect_stage_error(c, s, -EINVAL, "overlap");
	gpucmd_buffer_copy(c, s, a, 0, b, 0, 0);
	expect_stage_error(c, s, -EINVAL, "size must not be zero");
	gpucmd_buffer_copy(c, s, a, 0, 999, 0, 4);
	expect_stage_error(c, s, -ENOENT, "destination names no buffer 999");
	gpucmd_buffer_fill(c, s, a, 2, 4, 0);
	expect_stage_error(c, s, -EINVAL, "multiples of 4");
	gpucmd_buffer_fill(c, s, b, 1024, 0, 0);
	expect_stage_error(c, s, -ERANGE, "empty or exceeds");
	gpucmd_buffer_fill(c, s, b, UINT64_MAX - 3, 8, 0);
	expect_stage_error(c, s, -ERANGE, "exceeds buffer size 1024");
	gpucmd_buffer x;
	ck_assert_int_eq(gpucmd_buffer_create(c, 16, 0x80, &x), -EINVAL);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "unknown flags 0x80"));
	ck_assert_int_eq(gpucmd_buffer_create(c, 0, 0, &x), -EINVAL);
	/* the session still works after every refusal */
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, a, 0, b, 0, 1024), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	gpucmd_disconnect(c);
}
END_TEST

/* More than the heap: refused by the budget before the device is asked,
 * and the daemon keeps serving. */
START_TEST(allocation_beyond_the_budget_is_an_error_not_a_crash)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_info info;
	ck_assert_int_eq(gpucmd_info(c, &info), 0);
	uint64_t heap = 0;
	for (uint32_t i = 0; i < info.n_heaps; i++)
		if (info.heaps[i].device_local && info.heaps[i].budget > heap)
			heap = info.heaps[i].budget;
	gpucmd_buffer b;
	uint64_t size = heap + (64u << 20);
	int r = gpucmd_buffer_create(c, size, 0, &b);
	if (size > info.max_buffer_size) {
		ck_assert_int_eq(r, -E2BIG);
		ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "maxBufferSize"));
	} else {
		ck_assert_int_eq(r, -ENOSPC);
		ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "device budget"));
	}
	float out[4], v = 1.5f;
	ck_assert_int_eq(run_binary_kernel(c, "fill_f32", &v, NULL, out, 4), 0);
	ck_assert(out[3] == 1.5f);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(memory_report_shows_only_the_users_own_clients)
{
	gpucmd_client *c1 = connect_ok(), *c2 = connect_ok();
	gpucmd_buffer b;
	ck_assert_int_eq(gpucmd_buffer_create(c1, 1000, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c2, 3000, 0, &b), 0);
	struct gpucmd_memory_report m;
	ck_assert_int_eq(gpucmd_memory_report(c1, &m), 0);
	ck_assert_uint_eq(m.self.bytes, 1000);
	ck_assert_uint_eq(m.user.bytes, 4000);
	ck_assert_uint_eq(m.user.uid, getuid());
	ck_assert_uint_eq(m.n_clients, 2);
	uint64_t sum = 0;
	for (size_t i = 0; i < m.n_clients; i++) {
		ck_assert_int_eq(m.clients[i].pid, getpid());
		sum += m.clients[i].bytes;
	}
	ck_assert_uint_eq(sum, 4000);
	ck_assert_uint_eq(m.resident_buffers, 2);
	free(m.clients);
	gpucmd_disconnect(c1);
	gpucmd_disconnect(c2);
}
END_TEST

TCase *memory_tcase(void)
{
	TCase *t = tcase_create("memory");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, thousands_of_small_buffers_share_few_allocations);
	tcase_add_test(t, freed_space_is_reused_and_empty_blocks_returned);
	tcase_add_test(t, freed_large_allocations_are_kept_reused_cleared_and_given_back);
	tcase_add_test(t, copy_and_fill_run_in_stage_order);
	tcase_add_test(t, bad_copies_fills_and_sizes_are_named);
	tcase_add_test(t, allocation_beyond_the_budget_is_an_error_not_a_crash);
	tcase_add_test(t, memory_report_shows_only_the_users_own_clients);
	return t;
}

/* ---- limits: each test starts its daemon with the limit it checks ---- */

START_TEST(per_client_limit_is_enforced_and_named)
{
	daemon_start((const char *const[]){"--max-memory-per-client", "1M", NULL});
	gpucmd_client *c = connect_ok(), *other = connect_ok();
	gpucmd_buffer a, b, x;
	ck_assert_int_eq(gpucmd_buffer_create(c, 512 << 10, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 512 << 10, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 1, 0, &x), -EDQUOT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "max_memory_per_client = 1048576"), "%s", gpucmd_last_error(c));
	/* another client has its own allowance; freeing gives room back */
	ck_assert_int_eq(gpucmd_buffer_create(other, 1 << 20, 0, &x), 0);
	ck_assert_int_eq(gpucmd_buffer_free(c, a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 512 << 10, 0, &a), 0);
	struct gpucmd_memory_report m;
	ck_assert_int_eq(gpucmd_memory_report(c, &m), 0);
	ck_assert_uint_eq(m.self.limit, 1 << 20);
	ck_assert_uint_eq(m.self.peak, 1 << 20);
	free(m.clients);
	gpucmd_disconnect(c);
	gpucmd_disconnect(other);
}
END_TEST

START_TEST(per_uid_limit_counts_every_connection_of_the_user)
{
	daemon_start((const char *const[]){"--max-memory-per-uid", "1M", NULL});
	gpucmd_client *c1 = connect_ok(), *c2 = connect_ok();
	gpucmd_buffer a, b;
	ck_assert_int_eq(gpucmd_buffer_create(c1, 768 << 10, 0, &a), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c2, 512 << 10, 0, &b), -EDQUOT);
	ck_assert_msg(strstr(gpucmd_last_error(c2), "max_memory_per_uid = 1048576"), "%s", gpucmd_last_error(c2));
	/* the user's memory comes back when the other connection goes */
	gpucmd_disconnect(c1);
	int r = -1;
	for (int i = 0; i < 200 && r != 0; i++) {
		r = gpucmd_buffer_create(c2, 512 << 10, 0, &b);
		if (r)
			usleep(10000);
	}
	ck_assert_int_eq(r, 0);
	gpucmd_disconnect(c2);
}
END_TEST

TCase *limits_tcase(void)
{
	TCase *t = tcase_create("limits");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, per_client_limit_is_enforced_and_named);
	tcase_add_test(t, per_uid_limit_counts_every_connection_of_the_user);
	return t;
}

/* ---- the discrete-GPU path: every device-local buffer is staged ---- */

static void staged_setup(void)
{
	daemon_start((const char *const[]){"--force-staging", NULL});
}

START_TEST(staged_buffers_compute_exactly)
{
	gpucmd_client *c = connect_ok();
	enum { N = 100003 };
	static float a[N], b[N], out[N];
	random_floats(a, N, 11);
	random_floats(b, N, 12);
	ck_assert_msg(run_binary_kernel(c, "add_f32", a, b, out, N) == 0, "%s", gpucmd_last_error(c));
	for (int i = 0; i < N; i++)
		ck_assert_msg(out[i] == a[i] + b[i], "out[%d] = %g", i, out[i]);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(staged_writes_and_reads_of_any_size_round_trip)
{
	gpucmd_client *c = connect_ok();
	size_t n = (70u << 20) + 3; /* beyond the staging flush, odd length */
	uint8_t *in = malloc(n), *back = malloc(n);
	for (size_t i = 0; i < n; i++)
		in[i] = (uint8_t)(i * 131 + (i >> 11));
	gpucmd_buffer b, fresh;
	ck_assert_int_eq(gpucmd_buffer_create(c, n + 1, 0, &b), 0);
	ck_assert_int_eq(gpucmd_buffer_write(c, b, 1, in, n), 0);
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 1, back, n), 0);
	ck_assert(memcmp(in, back, n) == 0);
	uint8_t first;
	ck_assert_int_eq(gpucmd_buffer_read(c, b, 0, &first, 1), 0);
	ck_assert_uint_eq(first, 0);
	/* freed and reused device memory comes back cleared on the GPU */
	ck_assert_int_eq(gpucmd_buffer_free(c, b), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 4099, 0, &fresh), 0);
	ck_assert_int_eq(gpucmd_buffer_read(c, fresh, 0, back, 4099), 0);
	for (int i = 0; i < 4099; i++)
		ck_assert_msg(back[i] == 0, "fresh[%d] = %u", i, back[i]);
	free(in);
	free(back);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(disconnect_with_staged_work_in_flight_is_clean)
{
	pid_t pid = fork();
	if (pid == 0) {
		gpucmd_client *c = gpucmd_connect(test_daemon.socket);
		static uint8_t data[8u << 20];
		gpucmd_buffer b, b2;
		gpucmd_session s;
		struct gpucmd_kernel_info fill;
		if (!c || gpucmd_buffer_create(c, sizeof(data), 0, &b) || gpucmd_buffer_create(c, 4 << 20, 0, &b2) ||
		    gpucmd_kernel_find(c, "fill_f32", &fill) || gpucmd_session_open(c, "x", &s))
			_exit(1);
		struct gpucmd_binding bind = {b2, 0, 0};
		struct { uint32_t n; float v; } fp = {1u << 20, 1.0f};
		for (int i = 0; i < 10; i++)
			gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, 4096, 1, 1);
		gpucmd_commit_stage(c, s);
		gpucmd_buffer_write(c, b, 0, data, sizeof(data));
		gpucmd_buffer_copy(c, s, b, 0, b, 4 << 20, 4 << 20); /* refused later: committed stage */
		_exit(gpucmd_flush(c) == 0 ? 0 : 2); /* no disconnect: the process just ends */
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	gpucmd_client *c = connect_ok();
	struct gpucmd_memory_report m = report(c);
	for (int i = 0; i < 500 && m.live_buffers; i++) {
		usleep(10000);
		m = report(c);
	}
	ck_assert_uint_eq(m.live_buffers, 0);
	ck_assert_uint_eq(m.user.bytes, 0);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(staged_copy_fill_and_host_visible_buffers_agree)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer dev, host;
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_buffer_create(c, 1 << 16, 0, &dev), 0);
	ck_assert_int_eq(gpucmd_buffer_create(c, 1 << 16, GPUCMD_BUFFER_HOST_VISIBLE, &host), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "s", &s), 0);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, dev, 0, 0, 0x01020304u), 0);
	ck_assert_int_eq(gpucmd_buffer_copy(c, s, dev, 0, host, 0, 1 << 16), 0);
	ck_assert_int_eq(gpucmd_buffer_fill(c, s, host, 8, 8, 0xdeadbeefu), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), 0);
	uint32_t d[4], h[4];
	ck_assert_int_eq(gpucmd_buffer_read(c, dev, 0, d, sizeof(d)), 0);
	ck_assert_int_eq(gpucmd_buffer_read(c, host, 0, h, sizeof(h)), 0);
	ck_assert(d[0] == 0x01020304u && d[3] == 0x01020304u);
	ck_assert(h[0] == 0x01020304u && h[1] == 0x01020304u && h[2] == 0xdeadbeefu && h[3] == 0xdeadbeefu);
	gpucmd_disconnect(c);
}
END_TEST

/* A raw connection with session 1 and buffers 1..n of the given sizes. */
static void raw_with_buffers(struct raw *r, const uint64_t *sizes, int n)
{
	raw_open(r);
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	Gpucmd__SessionOpen so = GPUCMD__SESSION_OPEN__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_SESSION_OPEN;
	req.session_open = &so;
	ck_assert_int_eq(raw_call(r, &req, NULL, 0), 0);
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	req.buffer_create = &bc;
	for (int i = 0; i < n; i++) {
		bc.size = sizes[i];
		ck_assert_int_eq(raw_call(r, &req, NULL, 0), 0);
	}
}

/* A buffer in memory the host cannot map is cleared on the GPU before its
 * handle is given; the handle is predictable, and a copy naming it read in
 * the same turn as the create once ran in another session, unordered with
 * the clear: the previous owner's bytes. Now no handle names the buffer
 * before the clear has run, so that copy fails naming the handle. */
START_TEST(a_buffer_has_no_handle_until_it_is_cleared)
{
	int base = daemon_base_fds();
	struct raw r;
	raw_with_buffers(&r, (const uint64_t[]){1 << 20}, 1); /* buffer 1, the copy's destination */
	/* One write: the create of buffer 2, a copy from it, a commit_and_wait. */
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = 1 << 20;
	Gpucmd__BufferCopy cp = GPUCMD__BUFFER_COPY__INIT;
	cp.session = 1;
	cp.src = 2;
	cp.dst = 1;
	cp.size = 1 << 20;
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = 1;
	cm.mode = GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	Gpucmd__Request create = GPUCMD__REQUEST__INIT, copy = create, commit = create;
	create.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	create.buffer_create = &bc;
	copy.body_case = GPUCMD__REQUEST__BODY_BUFFER_COPY;
	copy.buffer_copy = &cp;
	commit.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	commit.commit = &cm;
	raw_send_batch(&r, (Gpucmd__Request *const[]){&create, &copy, &commit}, 3);
	char err[256];
	ck_assert_int_eq(raw_wait(&r, create.id, NULL, 0), 0);
	int st = raw_wait(&r, commit.id, err, sizeof(err));
	ck_assert_msg(st == -ENOENT && strstr(err, "2"), "the copy from the buffer being cleared: %d '%s'", st, err);
	raw_close(&r);
	expect_baseline(base);
}
END_TEST

/* Staged reads and writes, and clears, are command buffers with staging
 * memory and a reply owed: they went to the GPU whatever the client had in
 * flight, so a client could queue as many as it sent. Now they wait with
 * its commits behind max_inflight_per_client (4). */
START_TEST(transfers_count_against_the_in_flight_limit)
{
	struct raw r;
	enum { BIG = 4, SMALL = 32 };
	uint64_t sizes[BIG + SMALL];
	for (int i = 0; i < BIG + SMALL; i++)
		sizes[i] = i < BIG ? 96u << 20 : 4096; /* buffers 1..4 big, 5..36 small */
	raw_with_buffers(&r, sizes, BIG + SMALL);
	/* One write: four stages filling the big ones (the limit's worth of
	 * work in flight), then a read of each small one. */
	Gpucmd__Request reqs[BIG * 3 + SMALL];
	Gpucmd__BufferFill fill[BIG];
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	Gpucmd__ResetStage rs = GPUCMD__RESET_STAGE__INIT;
	Gpucmd__BufferRead rd[SMALL];
	cm.session = rs.session = 1;
	Gpucmd__Request *all[BIG * 3 + SMALL];
	int n = 0;
	for (int i = 0; i < BIG; i++) {
		fill[i] = (Gpucmd__BufferFill)GPUCMD__BUFFER_FILL__INIT;
		fill[i].session = 1;
		fill[i].buffer = (uint32_t)i + 1;
		fill[i].value = 7;
		reqs[n] = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
		reqs[n].body_case = GPUCMD__REQUEST__BODY_BUFFER_FILL;
		reqs[n++].buffer_fill = &fill[i];
		reqs[n] = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
		reqs[n].body_case = GPUCMD__REQUEST__BODY_COMMIT;
		reqs[n++].commit = &cm;
		reqs[n] = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
		reqs[n].body_case = GPUCMD__REQUEST__BODY_RESET_STAGE;
		reqs[n++].reset_stage = &rs;
	}
	for (int i = 0; i < SMALL; i++) {
		rd[i] = (Gpucmd__BufferRead)GPUCMD__BUFFER_READ__INIT;
		rd[i].buffer = (uint32_t)(BIG + 1 + i);
		rd[i].size = 4096;
		reqs[n] = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
		reqs[n].body_case = GPUCMD__REQUEST__BODY_BUFFER_READ;
		reqs[n++].buffer_read = &rd[i];
	}
	for (int i = 0; i < n; i++)
		all[i] = &reqs[i];
	raw_send_batch(&r, all, (size_t)n);
	/* Another client looks while the fills run: never more than four. */
	gpucmd_client *watcher = connect_ok();
	uint32_t most = 0;
	for (int look = 0; look < 20; look++) {
		struct gpucmd_status st;
		must(watcher, gpucmd_status(watcher, &st), "status");
		for (size_t i = 0; i < st.n_clients; i++)
			if (st.client_list[i].in_flight > most)
				most = st.client_list[i].in_flight;
		gpucmd_status_free(&st);
	}
	for (int i = 0; i < SMALL; i++)
		ck_assert_int_eq(raw_wait(&r, reqs[BIG * 3 + i].id, NULL, 0), 0);
	ck_assert_msg(most <= 4, "%u command buffers of one client in flight, over max_inflight_per_client 4", most);
	gpucmd_disconnect(watcher);
	raw_close(&r);
}
END_TEST

TCase *staging_tcase(void)
{
	TCase *t = tcase_create("staging");
	tcase_add_checked_fixture(t, staged_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, staged_buffers_compute_exactly);
	tcase_add_test(t, staged_writes_and_reads_of_any_size_round_trip);
	tcase_add_test(t, disconnect_with_staged_work_in_flight_is_clean);
	tcase_add_test(t, staged_copy_fill_and_host_visible_buffers_agree);
	tcase_add_test(t, a_buffer_has_no_handle_until_it_is_cleared);
	tcase_add_test(t, transfers_count_against_the_in_flight_limit);
	return t;
}
