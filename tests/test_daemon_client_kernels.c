/*
 * test_daemon_client_kernels.c — kernels from a client's own SPIR-V: they
 * run, they are private to their connection and shared by content, hostile
 * modules come back as errors naming the problem while the daemon carries
 * on, an out-of-bounds kernel cannot touch other memory, and a kernel's
 * pipeline outlives its connection while submitted work uses it.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* negate over n floats with kernel k on c; checks every element. */
static void run_negate(gpucmd_client *c, gpucmd_kernel k, uint32_t n)
{
	float *in = malloc(n * 4), *out = malloc(n * 4);
	random_floats(in, n, n);
	gpucmd_buffer bi, bo;
	gpucmd_session s;
	must(c, gpucmd_buffer_create(c, n * 4, 0, &bi), "create");
	must(c, gpucmd_buffer_create(c, n * 4, 0, &bo), "create");
	must(c, gpucmd_buffer_write(c, bi, 0, in, n * 4), "write");
	must(c, gpucmd_session_open(c, "negate", &s), "open");
	struct gpucmd_binding bind[2] = {{bi, 0, 0}, {bo, 0, 0}};
	must(c, gpucmd_dispatch(c, s, k, bind, 2, &n, 4, (n + 63) / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, bo, 0, out, n * 4), "read");
	for (uint32_t i = 0; i < n; i++)
		ck_assert_msg(out[i] == -in[i], "negate[%u] = %g, expected %g", i, out[i], -in[i]);
	gpucmd_session_close(c, s);
	gpucmd_buffer_free(c, bi);
	gpucmd_buffer_free(c, bo);
	free(in);
	free(out);
}

START_TEST(client_kernel_is_reflected_runs_and_is_listed)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info k, found;
	must(c, gpucmd_kernel_register(c, "negate", spv, len, &k), "register");
	ck_assert(k.client);
	ck_assert_uint_gt(k.id, 0xffff);
	ck_assert_uint_eq(k.n_bindings, 2);
	ck_assert(k.bindings[0].read_only && k.bindings[1].write_only);
	ck_assert_uint_eq(k.push_size, 4);
	ck_assert_uint_eq(k.local_size[0], 64);
	ck_assert_str_eq(k.entry_point, "main");
	run_negate(c, k.id, 1000);
	run_negate(c, k.id, 1);
	must(c, gpucmd_kernel_find(c, "negate", &found), "find");
	ck_assert_uint_eq(found.id, k.id);
	struct gpucmd_kernel_info *list;
	size_t n;
	must(c, gpucmd_kernel_list(c, &list, &n), "list");
	ck_assert_str_eq(list[n - 1].name, "negate");
	ck_assert(list[n - 1].client && !list[0].client);
	free(list);
	/* The same bytes under the same name: the same kernel again. */
	must(c, gpucmd_kernel_register(c, "negate", spv, len, &found), "register again");
	ck_assert_uint_eq(found.id, k.id);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(client_kernels_are_private_to_their_connection)
{
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	size_t len, len2;
	uint8_t *spv = read_spv("negate", &len), *other = read_spv("oob", &len2);
	struct gpucmd_kernel_info k, kb;
	must(a, gpucmd_kernel_register(a, "negate", spv, len, &k), "register");
	ck_assert_int_eq(gpucmd_kernel_find(b, "negate", &kb), -ENOENT);
	/* b naming a's kernel id reaches nothing */
	gpucmd_buffer buf;
	gpucmd_session s;
	must(b, gpucmd_buffer_create(b, 256, 0, &buf), "create");
	must(b, gpucmd_session_open(b, "thief", &s), "open");
	struct gpucmd_binding bind[2] = {{buf, 0, 0}, {buf, 0, 0}};
	uint32_t n = 4;
	must(b, gpucmd_dispatch(b, s, k.id, bind, 2, &n, 4, 1, 1, 1), "dispatch");
	ck_assert_int_eq(gpucmd_commit_and_wait(b, s), -ENOENT);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(b), "no kernel with id"));
	/* b may register the same bytes (compiled once) under its own name */
	must(b, gpucmd_kernel_register(b, "neg2", spv, len, &kb), "register shared");
	run_negate(b, kb.id, 300);
	/* names: a standard one, or another module under a taken name */
	ck_assert_int_eq(gpucmd_kernel_register(a, "add_f32", spv, len, NULL), -EEXIST);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(a), "a standard kernel"));
	ck_assert_int_eq(gpucmd_kernel_register(a, "negate", other, len2, NULL), -EEXIST);
	ck_assert_int_eq(gpucmd_kernel_register(a, "bad name", spv, len, NULL), -EINVAL);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(a), "1..63 characters"));
	run_negate(a, k.id, 100);
	free(spv);
	free(other);
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);
}
END_TEST

/* One hostile module per case: the error code and words that must appear. */
static const struct {
	const char *what;   /* test module name, or a generated case */
	int code;
	const char *needle;
} hostile[] = {
	{"empty", -EINVAL, "not a SPIR-V module"},
	{"seven-bytes", -EINVAL, "whole number of 32-bit words"},
	{"wrong-magic", -EINVAL, "magic number"},
	{"garbage", -EINVAL, "invalid SPIR-V"},
	{"truncated", -EINVAL, "invalid SPIR-V"},
	{"too-big", -E2BIG, "at most 1048576"},
	{"vertex", -EINVAL, "no compute entry point"},
	{"image", -EINVAL, "only storage and uniform buffers"},
	{"alias_conflict", -EINVAL, "binding 0 is declared both as a uniform buffer and as a storage buffer"},
	{"array_dynamic", -EINVAL, "binding 0 is an array of buffers used other than at a constant index"},
	{"huge_workgroup", -E2BIG, "maxComputeWorkGroup"},
	{"set1", -EINVAL, "set 1 binding 0: gpucmd binds set 0 only"},
	{"big_push", -E2BIG, "256 bytes of push constants exceed this device's maxPushConstantsSize of 128 bytes"},
	{"big_binding", -E2BIG, "storage buffer at binding 5000: binding numbers go up to 1023"},
	{"many_buffers", -E2BIG, "more than 16 buffers (counting each array element) up to binding 2"},
	{"wrapping_array", -E2BIG, "binding 1 is an array of 4294967295 buffers, over the 16 gpucmd binds"},
	{"spec_shuffle_scalars", -EINVAL, "OpSpecConstantOp VectorShuffle without the types it takes (two vectors"},
	{"device_address", -EINVAL, "capability PhysicalStorageBufferAddresses is refused: buffer device addresses would bypass bounds checks"},
	{"atomic_float64", -EINVAL, "capability AtomicFloat64AddEXT is not enabled on this device"},
	{"rtz32", -EINVAL, "execution mode RoundingModeRTZ for 32-bit floats: this device does not support it"},
	{"local-size-not-constant", -EINVAL, "LocalSizeId operands"},
	{"huge_shared", -E2BIG, "262144 bytes of workgroup (shared) memory exceed maxComputeSharedMemorySize"},
};

/* negate with its LocalSizeId's z operand naming a type instead of a
 * constant: the validator passes it, SPIRV-Cross would throw on it (found
 * by fuzz_spirv). */
static void break_local_size_id(uint32_t *w, size_t n)
{
	uint32_t *mode = NULL, void_type = 0;
	for (size_t i = 5; i < n && (w[i] >> 16); i += w[i] >> 16) {
		if ((w[i] & 0xffff) == 331 && (w[i] >> 16) == 6) /* OpExecutionModeId */
			mode = &w[i];
		if ((w[i] & 0xffff) == 19) /* OpTypeVoid */
			void_type = w[i + 1];
	}
	ck_assert(mode && void_type);
	mode[5] = void_type;
}

START_TEST(hostile_spirv_is_refused_with_the_reason)
{
	gpucmd_client *c = connect_ok();
	const char *what = hostile[_i].what;
	size_t len = 0;
	uint8_t *spv;
	if (!strcmp(what, "empty") || !strcmp(what, "seven-bytes") || !strcmp(what, "too-big")) {
		len = !strcmp(what, "empty") ? 0 : !strcmp(what, "seven-bytes") ? 7 : (1u << 20) + 4;
		spv = calloc(1, len + 4);
		uint32_t magic = 0x07230203;
		memcpy(spv, &magic, 4);
	} else if (!strcmp(what, "wrong-magic") || !strcmp(what, "garbage") || !strcmp(what, "truncated")) {
		spv = read_spv("negate", &len);
		if (!strcmp(what, "truncated")) {
			len = len / 2 & ~3u;
		} else {
			for (size_t i = !strcmp(what, "garbage") ? 20 : 0; i < len; i++)
				spv[i] = (uint8_t)(i * 131 + 7);
		}
	} else if (!strcmp(what, "local-size-not-constant")) {
		spv = read_spv("negate", &len);
		break_local_size_id((uint32_t *)spv, len / 4);
	} else {
		spv = read_spv(what, &len);
	}
	int r = gpucmd_kernel_register(c, what, spv, len, NULL);
	ck_assert_msg(r == hostile[_i].code, "%s: %d (%s), expected %d", what, r, gpucmd_last_error(c), hostile[_i].code);
	ck_assert_msg(strstr(gpucmd_last_error(c), hostile[_i].needle), "%s: error '%s' does not mention '%s'", what,
		      gpucmd_last_error(c), hostile[_i].needle);
	ck_assert_msg(strstr(gpucmd_last_error(c), what), "error '%s' does not name the kernel", gpucmd_last_error(c));
	/* The connection and the daemon carry on. */
	must(c, gpucmd_ping(c), "ping");
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* Every word of a valid module changed in turn: whatever comes of each, an
 * answer, never a crash or a validation message. */
START_TEST(mutated_modules_never_crash_the_daemon)
{
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	uint32_t *w = (uint32_t *)spv;
	size_t n = len / 4;
	gpucmd_client *c = connect_ok();
	int accepted = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t keep = w[i];
		w[i] ^= 0x5a5a5a5a ^ (uint32_t)i;
		char name[32];
		snprintf(name, sizeof(name), "m%zu", i);
		int r = gpucmd_kernel_register(c, name, spv, len, NULL);
		ck_assert_msg(r == 0 || r == -EINVAL || r == -E2BIG, "word %zu: %d %s", i, r, gpucmd_last_error(c));
		if (r == 0 && ++accepted % 60 == 0) {
			gpucmd_disconnect(c);
			c = connect_ok();
		}
		w[i] = keep;
	}
	must(c, gpucmd_ping(c), "ping");
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(kernels_per_connection_are_limited)
{
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	gpucmd_client *c = connect_ok();
	uint32_t *w = (uint32_t *)spv;
	/* Raising the id bound in the header keeps the module valid and
	 * makes its bytes, and so its program, distinct. */
	for (int i = 0; i < 64; i++) {
		char name[16];
		snprintf(name, sizeof(name), "k%d", i);
		w[3] += 1;
		must(c, gpucmd_kernel_register(c, name, spv, len, NULL), name);
	}
	w[3] += 1;
	ck_assert_int_eq(gpucmd_kernel_register(c, "one-more", spv, len, NULL), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "holds 64 kernels, the most max_kernels_per_client allows"), "%s",
		      gpucmd_last_error(c));
	/* Unregistering one makes room. */
	struct gpucmd_kernel_info k0;
	must(c, gpucmd_kernel_find(c, "k0", &k0), "find");
	must(c, gpucmd_kernel_unregister(c, k0.id), "unregister");
	must(c, gpucmd_kernel_register(c, "one-more", spv, len, NULL), "register after unregister");
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(out_of_bounds_kernel_cannot_touch_other_buffers)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("oob", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "oob", spv, len, &k), "register");
	enum { WORDS = 4096 };
	uint32_t *pattern = malloc(WORDS * 4), *got = malloc(WORDS * 4);
	for (uint32_t i = 0; i < WORDS; i++)
		pattern[i] = 0x1000 + i;
	gpucmd_buffer victim, before, after;
	must(c, gpucmd_buffer_create(c, WORDS * 4, 0, &before), "create");
	must(c, gpucmd_buffer_create(c, WORDS * 4, 0, &victim), "create");
	must(c, gpucmd_buffer_create(c, WORDS * 4, 0, &after), "create");
	must(c, gpucmd_buffer_write(c, before, 0, pattern, WORDS * 4), "write");
	must(c, gpucmd_buffer_write(c, victim, 0, pattern, WORDS * 4), "write");
	must(c, gpucmd_buffer_write(c, after, 0, pattern, WORDS * 4), "write");
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "oob", &s), "open");
	/* 64 words bound at offset 256; the kernel writes 16 times as many. */
	struct gpucmd_binding bind = {victim, 256, 256};
	uint32_t n = 16 * 64 * 4;
	must(c, gpucmd_dispatch(c, s, k.id, &bind, 1, &n, 4, n / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	must(c, gpucmd_buffer_read(c, before, 0, got, WORDS * 4), "read");
	ck_assert_msg(memcmp(got, pattern, WORDS * 4) == 0, "the buffer made before the victim changed");
	must(c, gpucmd_buffer_read(c, after, 0, got, WORDS * 4), "read");
	ck_assert_msg(memcmp(got, pattern, WORDS * 4) == 0, "the buffer made after the victim changed");
	must(c, gpucmd_buffer_read(c, victim, 0, got, WORDS * 4), "read");
	for (uint32_t i = 64; i < 128; i++)
		ck_assert_uint_eq(got[i], 0xdead);
	/* robustBufferAccess2 keeps even the rest of the victim intact. */
	if (daemon_log_contains("robustBufferAccess2"))
		for (uint32_t i = 0; i < WORDS; i++)
			ck_assert_msg(i >= 64 && i < 128 ? got[i] == 0xdead : got[i] == pattern[i],
				      "victim word %u outside the bound range is 0x%x", i, got[i]);
	must(c, gpucmd_ping(c), "ping");
	free(pattern);
	free(got);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

/* The client goes away with work in flight on its kernel: the pipeline
 * must live until that work retired (the validation layer would report a
 * pipeline destroyed while in use, and the daemon exit 3). */
START_TEST(client_kernel_outlives_its_connection_while_in_flight)
{
	gpucmd_client *gone = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info k;
	must(gone, gpucmd_kernel_register(gone, "negate", spv, len, &k), "register");
	gpucmd_buffer b;
	gpucmd_session s;
	must(gone, gpucmd_buffer_create(gone, 4 << 20, 0, &b), "create");
	must(gone, gpucmd_session_open(gone, "gone", &s), "open");
	struct gpucmd_binding bind[2] = {{b, 0, 0}, {b, 0, 0}};
	uint32_t n = 1u << 20;
	for (int i = 0; i < 30; i++)
		must(gone, gpucmd_dispatch(gone, s, k.id, bind, 2, &n, 4, n / 64, 1, 1), "dispatch");
	must(gone, gpucmd_commit_stage(gone, s), "commit");
	gpucmd_disconnect(gone);
	/* Another client registers the same bytes meanwhile and works. */
	gpucmd_client *c = connect_ok();
	must(c, gpucmd_kernel_register(c, "negate", spv, len, &k), "register");
	run_negate(c, k.id, 5000);
	struct gpucmd_info info;
	for (int i = 0; i < 500; i++) {
		must(c, gpucmd_info(c, &info), "info");
		if (info.live_sessions == 0)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(info.live_sessions, 0);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(unregister_drops_the_kernel_but_not_work_in_flight)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	struct gpucmd_kernel_info k, again;
	must(c, gpucmd_kernel_register(c, "negate", spv, len, &k), "register");
	gpucmd_buffer b;
	gpucmd_session s;
	must(c, gpucmd_buffer_create(c, 4 << 20, 0, &b), "create");
	must(c, gpucmd_session_open(c, "unregister", &s), "open");
	struct gpucmd_binding bind[2] = {{b, 0, 0}, {b, 0, 0}};
	uint32_t n = 1u << 20;
	for (int i = 0; i < 20; i++)
		must(c, gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, n / 64, 1, 1), "dispatch");
	must(c, gpucmd_commit_stage(c, s), "commit");
	must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
	must(c, gpucmd_commit_and_wait(c, s), "the stage in flight completes");
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, 1, 1, 1), "dispatch");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ENOENT);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "no kernel with id"));
	ck_assert_int_eq(gpucmd_kernel_unregister(c, k.id), -ENOENT);
	ck_assert_int_eq(gpucmd_kernel_unregister(c, 1), -EPERM);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "standard kernels cannot be unregistered"));
	ck_assert_int_eq(gpucmd_kernel_find(c, "negate", &again), -ENOENT);
	/* The name is free again; the id is new. */
	must(c, gpucmd_kernel_register(c, "negate", spv, len, &again), "register again");
	ck_assert_uint_ne(again.id, k.id);
	run_negate(c, again.id, 999);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(binding_smaller_than_the_declared_block_is_refused)
{
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("fixed_block", &len);
	struct gpucmd_kernel_info k;
	must(c, gpucmd_kernel_register(c, "fixed", spv, len, &k), "register");
	ck_assert_uint_eq(k.bindings[0].min_size, 64);
	gpucmd_buffer b;
	gpucmd_session s;
	must(c, gpucmd_buffer_create(c, 64, 0, &b), "create");
	must(c, gpucmd_session_open(c, "fixed", &s), "open");
	struct gpucmd_binding small = {b, 0, 32}, whole = {b, 0, 0};
	must(c, gpucmd_dispatch(c, s, k.id, &small, 1, NULL, 0, 1, 1, 1), "dispatch");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -ERANGE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "binding 0: range 32 is smaller than the 64 bytes"), "%s",
		      gpucmd_last_error(c));
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_dispatch(c, s, k.id, &whole, 1, NULL, 0, 1, 1, 1), "dispatch");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait");
	float x[16];
	must(c, gpucmd_buffer_read(c, b, 0, x, 64), "read");
	for (int i = 0; i < 16; i++)
		ck_assert(x[i] == 1.0f);
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(client_kernels_can_be_forbidden)
{
	ck_assert_int_eq(daemon_stop(), 0);
	const char *args[] = {"--no-client-kernels", NULL};
	daemon_start(args);
	gpucmd_client *c = connect_ok();
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	ck_assert_int_eq(gpucmd_kernel_register(c, "negate", spv, len, NULL), -EPERM);
	ck_assert_ptr_nonnull(strstr(gpucmd_last_error(c), "--no-client-kernels"));
	free(spv);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(cli_kernel_add_reports_reflection_or_the_error)
{
	char cmd[1024];
	const char *b = getenv("GPUCMD_BUILD");
	snprintf(cmd, sizeof(cmd),
		 "%s/gpucmd --socket %s kernel-add %s/tests/spirv/negate.spv negate --json | grep -q "
		 "'\"name\":\"negate\",\"client\":true,\"entry_point\":\"main\",\"push_size\":4,\"local_size\":\\[64,1,1\\]'",
		 b, test_daemon.socket, b);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s kernel-add %s/tests/spirv/vertex.spv v 2>&1 | grep -q 'no compute entry point'",
		 b, test_daemon.socket, b);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s kernel-add %s/tests/spirv/vertex.spv v 2>/dev/null", b,
		 test_daemon.socket, b);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s kernels --json | grep -q '\"name\":\"matmul_f32\"'", b,
		 test_daemon.socket);
	ck_assert_int_eq(system(cmd), 0);
	/* Binding numbers, array elements and uniform buffers as the module has them. */
	snprintf(cmd, sizeof(cmd), "%s/gpucmd --socket %s kernel-add %s/tests/spirv/layout.spv layout | grep -q "
		 "'bindings: 0u:r(>=12B) 2:r 4\\[0\\]:r 4\\[1\\]:r 7:w$'", b, test_daemon.socket, b);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

TCase *client_kernels_tcase(void)
{
	TCase *t = tcase_create("client_kernels");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, client_kernel_is_reflected_runs_and_is_listed);
	tcase_add_test(t, client_kernels_are_private_to_their_connection);
	tcase_add_loop_test(t, hostile_spirv_is_refused_with_the_reason, 0, sizeof(hostile) / sizeof(hostile[0]));
	tcase_add_test(t, mutated_modules_never_crash_the_daemon);
	tcase_add_test(t, kernels_per_connection_are_limited);
	tcase_add_test(t, out_of_bounds_kernel_cannot_touch_other_buffers);
	tcase_add_test(t, client_kernel_outlives_its_connection_while_in_flight);
	tcase_add_test(t, unregister_drops_the_kernel_but_not_work_in_flight);
	tcase_add_test(t, binding_smaller_than_the_declared_block_is_refused);
	tcase_add_test(t, client_kernels_can_be_forbidden);
	tcase_add_test(t, cli_kernel_add_reports_reflection_or_the_error);
	return t;
}
