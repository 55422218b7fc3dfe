/*
 * test_daemon_cache.c — the pipeline cache on disk: written after start-up,
 * read back by the next daemon, and ignored (with a log line, the daemon
 * working as before and rewriting it) when it is corrupt, truncated, or
 * made by another device or driver.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vulkan/vulkan.h>

#include "harness.h"

/* The layout pcache.h documents. */
struct file_header {
	char magic[8];
	uint32_t format, zero;
	uint64_t length, hash;
};

static char *cache_file(void)
{
	char pattern[128];
	glob_t g;
	snprintf(pattern, sizeof(pattern), "%s/cache/pipelines-*.cache", test_daemon.dir);
	ck_assert_msg(glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc == 1, "no single cache file matches %s", pattern);
	char *path = strdup(g.gl_pathv[0]);
	globfree(&g);
	return path;
}

static uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	uint8_t *buf = malloc(1 << 20);
	*ret_len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void restart(void)
{
	ck_assert_int_eq(daemon_stop(), 0);
	daemon_start(NULL);
}

static void works(void)
{
	gpucmd_client *c = connect_ok();
	float a[100], b[100], out[100];
	random_floats(a, 100, 1);
	random_floats(b, 100, 2);
	ck_assert_int_eq(run_binary_kernel(c, "add_f32", a, b, out, 100), 0);
	for (int i = 0; i < 100; i++)
		ck_assert(out[i] == a[i] + b[i]);
	gpucmd_disconnect(c);
}

START_TEST(warm_cache_is_written_then_read_back)
{
	ck_assert(daemon_log_contains("cold start"));
	char *path = cache_file();
	size_t len;
	uint8_t *buf = slurp(path, &len);
	struct file_header h;
	ck_assert_uint_ge(len, sizeof(h) + sizeof(VkPipelineCacheHeaderVersionOne));
	memcpy(&h, buf, sizeof(h));
	ck_assert(memcmp(h.magic, "GPUCMDPC", 8) == 0);
	ck_assert_uint_eq(h.length, len - sizeof(h));
	restart();
	ck_assert(daemon_log_contains("bytes from"));
	ck_assert(!daemon_log_contains("ignoring"));
	works();
	free(buf);
	free(path);
}
END_TEST

static const char *const damage[] = {"flip", "truncate", "device", "uuid", "garbage"};
static const char *const expect[] = {"checksum", "truncated", "another device", "another driver", "not a gpucmd"};

START_TEST(damaged_cache_is_ignored_and_replaced)
{
	char *path = cache_file();
	size_t len;
	uint8_t *buf = slurp(path, &len);
	struct file_header h;
	VkPipelineCacheHeaderVersionOne *vk = (VkPipelineCacheHeaderVersionOne *)(buf + sizeof(h));
	const char *how = damage[_i];
	if (!strcmp(how, "flip")) {
		buf[len - 1] ^= 0x40;
	} else if (!strcmp(how, "truncate")) {
		len -= 3;
	} else if (!strcmp(how, "garbage")) {
		memset(buf, 'x', len);
	} else {
		/* A whole, well-formed file, but for something else. */
		if (!strcmp(how, "device"))
			vk->deviceID ^= 0x1234;
		else
			vk->pipelineCacheUUID[3] ^= 0xff;
		memcpy(&h, buf, sizeof(h));
		h.hash = fnv1a(buf + sizeof(h), h.length);
		memcpy(buf, &h, sizeof(h));
	}
	spit(path, buf, len);
	restart();
	ck_assert_msg(daemon_log_contains("ignoring") && daemon_log_contains(expect[_i]), "%s: no log line saying '%s'",
		      how, expect[_i]);
	works();
	/* Replaced by a good one at start-up. */
	restart();
	ck_assert(daemon_log_contains("bytes from"));
	ck_assert(!daemon_log_contains("ignoring"));
	free(buf);
	free(path);
}
END_TEST

START_TEST(no_cache_writes_nothing)
{
	ck_assert_int_eq(daemon_stop(), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s/cache", test_daemon.dir);
	ck_assert_int_eq(system(cmd), 0);
	static const char *const args[] = {"--no-cache", NULL};
	daemon_start(args);
	works();
	snprintf(cmd, sizeof(cmd), "%s/cache", test_daemon.dir);
	struct stat st;
	ck_assert_int_ne(stat(cmd, &st), 0);
}
END_TEST

/* Without --cache-dir: $STATE_DIRECTORY (its first entry), else
 * $XDG_CACHE_HOME/gpucmd, else ~/.cache/gpucmd. Each daemon runs on its
 * own socket just long enough to answer; the cache is written at start-up. */
START_TEST(cache_directory_follows_systemd_then_xdg_then_home)
{
	static const char *const envs[] = {
		"STATE_DIRECTORY=%1$s/state:%1$s/other XDG_CACHE_HOME=%1$s/xdg HOME=%1$s/home",
		"STATE_DIRECTORY= XDG_CACHE_HOME=%1$s/xdg HOME=%1$s/home",
		"STATE_DIRECTORY= XDG_CACHE_HOME= HOME=%1$s/home",
	};
	static const char *const where[] = {"state", "xdg/gpucmd", "home/.cache/gpucmd"};
	const char *b = getenv("GPUCMD_BUILD");
	for (int i = 0; i < 3; i++) {
		char env[512], cmd[1600], pattern[256];
		/* The sanitizer build's daemon runs with its own options, as in
		 * harness.c. */
		const char *asan = getenv("GPUCMD_DAEMON_ASAN_OPTIONS");
		/* Beside the test's daemon on the same device: a lock of its own. */
		int n = snprintf(env, sizeof(env), "RUNTIME_DIRECTORY=%s/dirs-rt %s%s ", test_daemon.dir,
				 asan ? "ASAN_OPTIONS=" : "", asan ? asan : "");
		snprintf(env + n, sizeof(env) - (size_t)n, envs[i], test_daemon.dir);
		/* Started, answered once (so it is past start-up), stopped. */
		snprintf(cmd, sizeof(cmd),
			 "env %1$s %2$s/gpucmdd --socket %3$s/dirs.sock 2>>%3$s/dirs.log & pid=$!; "
			 "for i in $(seq 500); do %2$s/gpucmd --socket %3$s/dirs.sock ping 2>/dev/null && break; sleep 0.02; done; "
			 "kill -TERM $pid; wait $pid",
			 env, b, test_daemon.dir);
		ck_assert_int_eq(WEXITSTATUS(system(cmd)), 0);
		snprintf(pattern, sizeof(pattern), "%s/%s/pipelines-*.cache", test_daemon.dir, where[i]);
		glob_t g;
		ck_assert_msg(glob(pattern, 0, NULL, &g) == 0, "%s: no cache at %s", env, pattern);
		globfree(&g);
		snprintf(cmd, sizeof(cmd), "rm -rf %1$s/state %1$s/xdg %1$s/home", test_daemon.dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}
END_TEST

TCase *cache_tcase(void)
{
	TCase *t = tcase_create("pipeline_cache");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, warm_cache_is_written_then_read_back);
	tcase_add_loop_test(t, damaged_cache_is_ignored_and_replaced, 0, 5);
	tcase_add_test(t, no_cache_writes_nothing);
	tcase_add_test(t, cache_directory_follows_systemd_then_xdg_then_home);
	return t;
}
