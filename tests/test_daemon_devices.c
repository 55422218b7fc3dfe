/*
 * test_daemon_devices.c — one daemon per device: a second daemon on the
 * device another one serves is refused at start and told who holds it;
 * daemons set to share a device all serve it; devices are chosen by index,
 * UUID and name. What gpucmdd@.service relies on when a host has several
 * GPUs (CONFIG.md), checked on the one device lavapipe has.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A lock directory the daemons of this test share (each test's daemons
 * otherwise claim the device in a directory of their own). */
static void share_lock_dir(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/gpucmd-rt.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(setenv("RUNTIME_DIRECTORY", dir, 1), 0);
}

/* Starts another gpucmdd on dir/NAME.sock with the extra flags; returns its
 * pid once it answers, or 0 when it exited (its output in out). */
static pid_t start_second(const char *name, const char *flags, char *out, size_t len)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "%1$s/gpucmdd --config /dev/null --socket %2$s/%3$s.sock %4$s >%2$s/%3$s.log 2>&1 & pid=$!; "
		 "for i in $(seq 500); do %1$s/gpucmd --socket %2$s/%3$s.sock ping >/dev/null 2>&1 && echo $pid && "
		 "exit 0; kill -0 $pid 2>/dev/null || break; sleep 0.02; done; wait $pid; echo \"rc=$?\"; "
		 "cat %2$s/%3$s.log",
		 build_dir(), test_daemon.dir, name, flags);
	ck_assert_int_eq(sh_run(out, len, "%s", cmd), 0);
	return strstr(out, "rc=") ? 0 : (pid_t)strtol(out, NULL, 10);
}

static void stop_second(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	for (int i = 0; i < 1000 && kill(pid, 0) == 0; i++)
		usleep(10000);
	ck_assert_msg(kill(pid, 0) < 0, "second gpucmdd (pid %d) did not stop", (int)pid);
}

START_TEST(second_daemon_on_the_same_device_is_refused)
{
	share_lock_dir();
	daemon_start(NULL);
	char out[8192], want[64];
	ck_assert_int_eq(start_second("two", "", out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "already served by gpucmdd pid %d", (int)test_daemon.pid);
	ck_assert_msg(strstr(out, "rc=2") && strstr(out, want) && strstr(out, "share_device = yes") &&
			      strstr(out, "--device INDEX|UUID"),
		      "%s", out);
	/* Asking to share does not get in beside a daemon that does not. */
	ck_assert_int_eq(start_second("three", "--share-device", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "rc=2") && strstr(out, want), "%s", out);
	/* The first one is untouched. */
	gpucmd_client *c = connect_ok();
	must(c, gpucmd_ping(c), "ping");
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(daemons_that_share_a_device_both_compute)
{
	share_lock_dir();
	daemon_start((const char *const[]){"--share-device", NULL});
	char out[8192], sock[128];
	pid_t two = start_second("two", "--share-device", out, sizeof(out));
	ck_assert_msg(two > 0, "%s", out);
	snprintf(sock, sizeof(sock), "%s/two.sock", test_daemon.dir);
	ck_assert_msg(sh_run(out, sizeof(out), "%s/gpucmd --socket %s selftest", build_dir(), sock) == 0, "%s", out);
	ck_assert_msg(sh_run(out, sizeof(out), "%s/gpucmd --socket %s selftest", build_dir(), test_daemon.socket) == 0,
		      "%s", out);
	/* One that wants the device alone is refused while they share it. */
	ck_assert_int_eq(start_second("three", "", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "rc=2") && strstr(out, "already served by daemons that share it"), "%s", out);
	stop_second(two);
}
END_TEST

/* The UUID --list-devices gives lavapipe. */
static void lavapipe_uuid(char uuid[37])
{
	char out[8192];
	ck_assert_int_eq(sh_run(out, sizeof(out), "%s/gpucmdd --list-devices", build_dir()), 0);
	const char *line = strstr(out, "\n0  llvmpipe");
	ck_assert_ptr_nonnull(line);
	const char *u = strstr(line, ")  ");
	ck_assert_ptr_nonnull(u);
	ck_assert_int_eq(sscanf(u + 3, "%36s", uuid), 1);
	ck_assert_int_eq(strlen(uuid), 36);
}

START_TEST(devices_are_chosen_by_index_uuid_and_name)
{
	char uuid[37];
	lavapipe_uuid(uuid);
	const char *ways[] = {"0", uuid, "llvm"};
	for (int i = 0; i < 3; i++) {
		daemon_start((const char *const[]){"--device", ways[i], NULL});
		gpucmd_client *c = connect_ok();
		struct gpucmd_info info = {0};
		must(c, gpucmd_info(c, &info), "info");
		ck_assert_msg(strstr(info.device_name, "llvmpipe"), "--device %s: %s", ways[i], info.device_name);
		gpucmd_disconnect(c);
		ck_assert_msg(log_wait(uuid, 0), "the log names the device's UUID %s", uuid);
		if (i < 2)
			ck_assert_int_eq(daemon_stop(), 0);
	}
}
END_TEST

TCase *devices_tcase(void)
{
	TCase *t = tcase_create("devices");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, second_daemon_on_the_same_device_is_refused);
	tcase_add_test(t, daemons_that_share_a_device_both_compute);
	tcase_add_test(t, devices_are_chosen_by_index_uuid_and_name);
	return t;
}
