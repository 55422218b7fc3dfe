/*
 * test_daemon_status.c — what an operator reads and runs: `gpucmd status`
 * in every format against hostile labels, Prometheus output through the
 * reference parser (counters that never fall, no series for the scraper),
 * the trace writer's JSON, and the daemon's start-up checks: a live
 * daemon's socket left alone, a socket directory that does not exist,
 * --check-config, the shipped gpucmdd.conf against the key table, and
 * device listing and matching; evicting a client; gpucmd-exporter.
 */
#include <check.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The value of the first sample line starting with prefix in prom_check.py's
 * output, or -1 when there is none. */
static long long sample(const char *out, const char *prefix)
{
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, prefix, strlen(prefix)))
			return atoll(strchr(strchr(l, '}'), ' ') + 1);
	return -1;
}

static int count_lines(const char *out, const char *prefix)
{
	int n = 0;
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += !strncmp(l, prefix, strlen(prefix));
	return n;
}

static void scrape(char *out, size_t len)
{
	int r = sh_run(out, len, "%s/gpucmd --socket %s status --prometheus | tests/prom_check.py", build_dir(),
		   test_daemon.socket);
	ck_assert_msg(r == 0, "Prometheus output rejected:\n%s", out);
}

static void fill(gpucmd_client *c, gpucmd_session s, gpucmd_buffer b)
{
	struct gpucmd_kernel_info k;
	ck_assert_int_eq(gpucmd_kernel_find(c, "fill_f32", &k), 0);
	struct { uint32_t n; float v; } push = {256, 1.0f};
	const struct gpucmd_binding bind = {b, 0, 0};
	ck_assert_int_eq(gpucmd_dispatch(c, s, k.id, &bind, 1, &push, sizeof(push), 1, 1, 1), 0);
	ck_assert_msg(gpucmd_commit_and_wait(c, s) == 0, "%s", gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_reset_for_next_stage(c, s), 0);
}

START_TEST(prometheus_counters_never_fall_and_the_scraper_is_no_client)
{
	static char out[65536];
	gpucmd_client *a = connect_ok();
	struct job_kit w = job_kit_open(a, "fill_f32", 1024, "work");
	gpucmd_buffer b = w.b;
	gpucmd_session s = w.s;
	for (int i = 0; i < 3; i++)
		fill(a, s, b);
	scrape(out, sizeof(out));
	ck_assert_msg(sample(out, "gpucmd_clients{}") == 1, "%s", out);
	ck_assert_msg(count_lines(out, "gpucmd_client_memory_bytes{") == 1, "the scraper has series:\n%s", out);
	ck_assert_msg(sample(out, "gpucmd_client_command_buffers_total{") == 3, "%s", out);
	ck_assert_msg(sample(out, "gpucmd_client_dispatches_total{") == 3, "%s", out);
	long long submissions = sample(out, "gpucmd_submissions_total{}");
	ck_assert_msg(submissions >= 3, "%s", out);
	/* A closed session's work still counts, for the client and the daemon. */
	ck_assert_int_eq(gpucmd_session_close(a, s), 0);
	ck_assert_int_eq(gpucmd_ping(a), 0); /* the close (streamed) is done */
	scrape(out, sizeof(out));
	ck_assert_msg(sample(out, "gpucmd_client_command_buffers_total{") == 3, "%s", out);
	ck_assert_msg(sample(out, "gpucmd_client_dispatches_total{") == 3, "%s", out);
	ck_assert_msg(sample(out, "gpucmd_client_sessions{") == 0, "%s", out);
	ck_assert_msg(sample(out, "gpucmd_submissions_total{}") >= submissions, "%s", out);
	gpucmd_buffer_free(a, b);
	gpucmd_disconnect(a);
	/* No client left: 0, and no per-client series. */
	scrape(out, sizeof(out));
	ck_assert_msg(sample(out, "gpucmd_clients{}") == 0, "%s", out);
	ck_assert_msg(count_lines(out, "gpucmd_client_") == 0, "%s", out);
	ck_assert_msg(sample(out, "gpucmd_dispatches_total{}") >= 3, "%s", out);
	/* Connects and hang-ups are debug lines: not in an info-level log. */
	ck_assert(!daemon_log_contains("connected: pid") && !daemon_log_contains("client disconnected"));
}
END_TEST

/* The daemon's own threads' CPU time: it grows with work, a thread's never
 * runs ahead of the clock, and Prometheus gets both series. */
START_TEST(daemon_cpu_time_is_counted_per_thread)
{
	static char out[65536];
	gpucmd_client *a = connect_ok();
	struct job_kit w = job_kit_open(a, "fill_f32", 1024, "work");
	struct gpucmd_status st0, st1;
	ck_assert_int_eq(gpucmd_status(a, &st0), 0);
	for (int i = 0; i < 200; i++)
		fill(a, w.s, w.b);
	ck_assert_int_eq(gpucmd_status(a, &st1), 0);
	ck_assert_uint_gt(st0.loop_cpu_ns, 0);
	ck_assert_uint_gt(st1.loop_cpu_ns, st0.loop_cpu_ns);
	ck_assert_uint_gt(st1.retire_cpu_ns, st0.retire_cpu_ns);
	/* Start-up before the uptime clock is a few configuration reads. */
	ck_assert_uint_le(st1.loop_cpu_ns, st1.uptime_ms * 1000000u + 500000000u);
	ck_assert_uint_le(st1.retire_cpu_ns, st1.uptime_ms * 1000000u);
	gpucmd_status_free(&st0);
	gpucmd_status_free(&st1);
	scrape(out, sizeof(out));
	ck_assert_msg(count_lines(out, "gpucmd_daemon_cpu_seconds_total{thread=\"loop\"} ") == 1, "%s", out);
	ck_assert_msg(count_lines(out, "gpucmd_daemon_cpu_seconds_total{thread=\"retire\"} ") == 1, "%s", out);
	gpucmd_buffer_free(a, w.b);
	gpucmd_disconnect(a);
}
END_TEST

/* Not UTF-8, a terminal title and colour sequence, a bell and a newline. */
static const char hostile[] = "\xff\xfe\x1b]0;pwned\x07\x1b[31mred\nx";

START_TEST(hostile_labels_break_neither_json_nor_a_terminal)
{
	static char out[65536];
	gpucmd_client *c = connect_ok();
	gpucmd_session s;
	gpucmd_buffer b;
	ck_assert_int_eq(gpucmd_buffer_create(c, 1024, 0, &b), 0);
	ck_assert_int_eq(gpucmd_session_open(c, hostile, &s), 0);
	ck_assert_int_eq(gpucmd_profile(c, s, true), 0);
	fill(c, s, b);
	const char *bd = build_dir(), *sock = test_daemon.socket;
	int r = sh_run(out, sizeof(out),
		   "%s/gpucmd --socket %s status --json | /usr/bin/python3 -c 'import json,sys; "
		   "print(ascii([x[\"label\"] for c in json.load(sys.stdin)[\"client_list\"] for x in c[\"sessions\"]]))'",
		   bd, sock);
	ck_assert_msg(r == 0, "status --json is not JSON:\n%s", out);
	ck_assert_msg(strstr(out, "'\\ufffd\\ufffd\\x1b]0;pwned\\x07\\x1b[31mred\\nx'"), "%s", out);
	r = sh_run(out, sizeof(out), "%s/gpucmd --socket %s status --prometheus | tests/prom_check.py", bd, sock);
	ck_assert_msg(r == 0, "%s", out);
	r = sh_run(out, sizeof(out), "%s/gpucmd --socket %s status", bd, sock);
	ck_assert_int_eq(r, 0);
	ck_assert_msg(!strchr(out, '\x1b') && !strchr(out, '\x07') && !strchr(out, '\xff'), "raw bytes:\n%s", out);
	ck_assert_msg(strstr(out, "\"\\xff\\xfe\\x1b]0;pwned\\x07\\x1b[31mred\\x0ax\""), "%s", out);
	/* The trace writer too. */
	struct gpucmd_profile p;
	ck_assert_int_eq(gpucmd_profile_fetch(c, s, NULL, false, &p), 0);
	ck_assert_uint_ge(p.n_command_buffers, 1);
	char path[128];
	snprintf(path, sizeof(path), "%s/trace.json", test_daemon.dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(gpucmd_trace_write(&p, f), 0);
	fclose(f);
	gpucmd_profile_free(&p);
	r = sh_run(out, sizeof(out), "/usr/bin/python3 -c 'import json,sys; print(ascii(json.load(open(sys.argv[1]))"
		 "[\"traceEvents\"][0][\"args\"][\"name\"]))' %s", path);
	ck_assert_msg(r == 0 && strstr(out, "\\ufffd\\ufffd\\x1b]0;pwned"), "trace: %s", out);
	ck_assert_int_eq(gpucmd_session_close(c, s), 0);
	gpucmd_buffer_free(c, b);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(watch_without_a_terminal_prints_reports_without_escapes)
{
	char out[16384];
	/* head ends it after two reports (SIGPIPE). */
	int r = sh_run(out, sizeof(out), "%s/gpucmd --socket %s status --watch | head -n 12", build_dir(),
		   test_daemon.socket);
	ck_assert_int_eq(r, 0);
	ck_assert_msg(!strchr(out, '\x1b'), "%s", out);
	ck_assert_msg(strstr(strstr(out, "gpucmdd ") + 1, "gpucmdd "), "one report only:\n%s", out);
}
END_TEST

static int run_as_nobody(const char *log, const char *const *argv);

START_TEST(evict_closes_one_client_for_an_administrator_only)
{
	char out[8192];
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	gpucmd_buffer ba, bb;
	gpucmd_session sa, sb;
	ck_assert_int_eq(gpucmd_buffer_create(a, 1024, 0, &ba), 0);
	ck_assert_int_eq(gpucmd_buffer_create(b, 1024, 0, &bb), 0);
	ck_assert_int_eq(gpucmd_session_open(a, "victim", &sa), 0);
	ck_assert_int_eq(gpucmd_session_open(b, "bystander", &sb), 0);
	fill(a, sa, ba);
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(a, &st), 0);
	uint32_t victim = st.self;
	gpucmd_status_free(&st);
	ck_assert_int_eq(gpucmd_status(b, &st), 0);
	uint32_t bystander = st.self;
	gpucmd_status_free(&st);
	const char *bd = build_dir(), *sock = test_daemon.socket;
	/* Someone else may not. */
	if (geteuid() == 0) {
		char exe[512], log[128], id[16];
		ck_assert_int_eq(chmod(test_daemon.dir, 0777), 0);
		ck_assert_int_eq(chmod(sock, 0666), 0);
		snprintf(exe, sizeof(exe), "%s/gpucmd", bd);
		snprintf(log, sizeof(log), "%s/evict.log", test_daemon.dir);
		snprintf(id, sizeof(id), "%u", victim);
		int r = run_as_nobody(log, (const char *const[]){exe, "--socket", sock, "evict", id, NULL});
		ck_assert_int_eq(sh_run(out, sizeof(out), "cat %s", log), 0);
		ck_assert_msg(r == 1 && strstr(out, "only root or uid 0 (gpucmdd's own user) may evict clients; you are "
						    "uid 65534"), "%d: %s", r, out);
		ck_assert_int_eq(gpucmd_ping(a), 0);
	}
	int r = sh_run(out, sizeof(out), "%s/gpucmd --socket %s evict 99999", bd, sock);
	ck_assert_msg(r == 1 && strstr(out, "no client 99999"), "%d: %s", r, out);
	r = sh_run(out, sizeof(out), "%s/gpucmd --socket %s evict %u --reason='GPU maintenance'", bd, sock, victim);
	ck_assert_msg(r == 0, "%d: %s", r, out);
	ck_assert_int_ne(gpucmd_ping(a), 0);
	ck_assert_msg(strstr(gpucmd_last_error(a), "evicted by an administrator") &&
			      strstr(gpucmd_last_error(a), "GPU maintenance"),
		      "%s", gpucmd_last_error(a));
	gpucmd_disconnect(a);
	/* The bystander is untouched: its session, buffer and work go on. */
	fill(b, sb, bb);
	ck_assert_int_eq(gpucmd_status(b, &st), 0);
	ck_assert_uint_eq(st.n_clients, 1);
	ck_assert_uint_eq(st.client_list[0].client, bystander);
	ck_assert_uint_eq(st.client_list[0].n_sessions, 1);
	ck_assert_uint_eq(st.live_buffers, 1);
	gpucmd_status_free(&st);
	ck_assert_int_eq(gpucmd_session_close(b, sb), 0);
	ck_assert_int_eq(gpucmd_buffer_free(b, bb), 0);
	gpucmd_disconnect(b);
}
END_TEST

/* gpucmd-exporter, socket-activated as its unit is, answers /metrics with
 * what the reference parser accepts, and only that path. */
START_TEST(exporter_serves_metrics_on_its_activated_socket)
{
	static char out[65536];
	gpucmd_client *a = connect_ok();
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(a, "exported", &s), 0);
	int port = 20000 + getpid() % 30000;
	char addr[32], exe[512];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(exe, sizeof(exe), "%s/gpucmd-exporter", build_dir());
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char log[128];
		snprintf(log, sizeof(log), "%s/exporter.log", test_daemon.dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("systemd-socket-activate", "systemd-socket-activate", "-l", addr, exe, "--socket",
		       test_daemon.socket, (char *)NULL);
		_exit(127);
	}
	/* Waits for the socket to be bound, not for a time. */
	int r = sh_run(out, sizeof(out), "for i in $(seq 200); do curl -sf http://%s/metrics > %s/m.txt && break; "
		   "sleep 0.05; done; tests/prom_check.py < %s/m.txt", addr, test_daemon.dir, test_daemon.dir);
	ck_assert_msg(r == 0, "%s", out);
	ck_assert_msg(sample(out, "gpucmd_up{}") == 1 && sample(out, "gpucmd_clients{}") == 1 &&
			      sample(out, "gpucmd_client_sessions{") == 1,
		      "%s", out);
	r = sh_run(out, sizeof(out), "curl -s -o /dev/null -w '%%{http_code}' http://%s/; curl -s -o /dev/null -X POST "
		   "-w ' %%{http_code}' http://%s/metrics", addr, addr);
	ck_assert_msg(!strcmp(out, "404 405"), "%s", out);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(gpucmd_session_close(a, s), 0);
	gpucmd_disconnect(a);
}
END_TEST

TCase *status_tcase(void)
{
	TCase *t = tcase_create("status");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, prometheus_counters_never_fall_and_the_scraper_is_no_client);
	tcase_add_test(t, daemon_cpu_time_is_counted_per_thread);
	tcase_add_test(t, hostile_labels_break_neither_json_nor_a_terminal);
	tcase_add_test(t, watch_without_a_terminal_prints_reports_without_escapes);
	tcase_add_test(t, evict_closes_one_client_for_an_administrator_only);
	tcase_add_test(t, exporter_serves_metrics_on_its_activated_socket);
	return t;
}

/* Runs exe (under the build directory) with args as uid/gid nobody, its
 * stderr and stdout into log; returns the exit status. */
static int run_as_nobody(const char *log, const char *const *argv)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		execv(argv[0], (char *const *)argv);
		_exit(98);
	}
	close(fd);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

START_TEST(a_daemon_that_may_not_connect_leaves_a_live_socket_alone)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root to run a daemon as another user\n");
		return;
	}
	daemon_start(NULL);
	char exe[512], log[128], out[8192];
	ck_assert_int_eq(chmod(test_daemon.dir, 0777), 0);
	ck_assert_int_eq(chmod(test_daemon.socket, 0600), 0);
	snprintf(exe, sizeof(exe), "%s/gpucmdd", build_dir());
	snprintf(log, sizeof(log), "%s/second.log", test_daemon.dir);
	int r = run_as_nobody(log, (const char *const[]){exe, "--socket", test_daemon.socket, "--config", "/dev/null",
							  "--no-cache", NULL});
	ck_assert_int_ne(r, 0);
	ck_assert_int_eq(sh_run(out, sizeof(out), "cat %s", log), 0);
	ck_assert_msg(strstr(out, "leaving it alone") && !strstr(out, "removing stale"), "%s", out);
	gpucmd_client *c = connect_ok();
	ck_assert_int_eq(gpucmd_ping(c), 0);
	gpucmd_disconnect(c);
	/* A client refused by the socket's mode is told who may connect. */
	ck_assert_int_eq(chmod(test_daemon.socket, 0660), 0);
	snprintf(exe, sizeof(exe), "%s/gpucmd", build_dir());
	r = run_as_nobody(log, (const char *const[]){exe, "--socket", test_daemon.socket, "ping", NULL});
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(sh_run(out, sizeof(out), "cat %s", log), 0);
	struct group *g = getgrgid(getegid());
	char want[128];
	snprintf(want, sizeof(want), "members of group '%s' may connect", g ? g->gr_name : "?");
	ck_assert_msg(strstr(out, want) && strstr(out, "usermod -aG") && !strstr(out, "make run"), "%s", out);
}
END_TEST

START_TEST(a_socket_in_a_missing_directory_fails_before_the_device)
{
	daemon_start(NULL); /* for its directory */
	ck_assert_int_eq(daemon_stop(), 0);
	test_daemon.pid = 0;
	char out[8192];
	int r = sh_run(out, sizeof(out), "%s/gpucmdd --config /dev/null --socket %s/a/b/s.sock", build_dir(),
		   test_daemon.dir);
	ck_assert_msg(r == 2 && strstr(out, "/a does not exist") && !strstr(out, "device:"), "%d: %s", r, out);
}
END_TEST

START_TEST(check_config_fails_on_an_unknown_key_and_suggests_the_nearest)
{
	daemon_start(NULL);
	ck_assert_int_eq(daemon_stop(), 0);
	test_daemon.pid = 0;
	char out[8192];
	write_config("[limits]\nmax_client = 3\n");
	int r = sh_run(out, sizeof(out), "%s/gpucmdd --check-config --config %s", build_dir(), test_daemon.config);
	ck_assert_msg(r == 2 && strstr(out, "did you mean 'max_clients' in [limits]?"), "%d: %s", r, out);
	write_config("[daemon]\nspin_us = 7\n[limits]\nmax_clients = 3\n");
	r = sh_run(out, sizeof(out), "%s/gpucmdd --check-config --config %s --max-sessions-per-client 9", build_dir(),
	       test_daemon.config);
	ck_assert_msg(r == 0 && strstr(out, "\nmax_clients = 3\n") && strstr(out, "\nmax_sessions_per_client = 9\n") &&
			      strstr(out, "\nspin_us = 7\n") && strstr(out, "\nloop_poll_us = auto\n"),
		      "%d: %s", r, out);
	ck_assert_msg(!strstr(out, "4294967295"), "an internal value shows: %s", out);
	/* Every section is printed, [priority] too (it once was not). */
	ck_assert_msg(strstr(out, "\n[priority]\n") && strstr(out, "\nhigh_shard = yes\n") &&
			      strstr(out, "\nfair_depth = 1\n"),
		      "%s", out);
}
END_TEST

/* Every key of the table (as --check-config prints them) is in the shipped
 * file, and the file with every line uncommented is a valid configuration. */
START_TEST(shipped_config_lists_every_key)
{
	daemon_start(NULL);
	ck_assert_int_eq(daemon_stop(), 0);
	test_daemon.pid = 0;
	static char out[16384], conf[16384];
	ck_assert_int_eq(sh_run(conf, sizeof(conf), "cat data/gpucmdd.conf"), 0);
	int r = sh_run(out, sizeof(out), "sed 's/^#\\([a-z_]* =\\)/\\1/' data/gpucmdd.conf > %s && "
		   "%s/gpucmdd --check-config --config %s", test_daemon.config, build_dir(), test_daemon.config);
	ck_assert_msg(r == 0, "the shipped file, uncommented, is refused: %s", out);
	int keys = 0;
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n")) {
		char *eq = strstr(l, " = ");
		if (l[0] == '[' || !eq || !strncmp(l, "# ", 2))
			continue;
		char want[96];
		snprintf(want, sizeof(want), "\n#%.*s =", (int)(eq - l - (l[0] == '#')), l + (l[0] == '#'));
		ck_assert_msg(strstr(conf, want), "data/gpucmdd.conf lacks the key %s", want + 1);
		keys++;
	}
	ck_assert_int_ge(keys, 30);
}
END_TEST

START_TEST(devices_are_listed_and_names_match_in_any_case)
{
	char out[8192];
	int r = sh_run(out, sizeof(out), "%s/gpucmdd --list-devices", build_dir());
	ck_assert_msg(r == 0 && strstr(out, "INDEX  NAME  UUID  TYPE  DRIVER") && strstr(out, "\n0  llvmpipe") &&
			      strstr(out, "  cpu  "),
		      "%d: %s", r, out);
	daemon_start((const char *const[]){"--device", "LLVMPIPE", NULL});
	ck_assert_int_eq(daemon_stop(), 0);
	test_daemon.pid = 0;
	r = sh_run(out, sizeof(out), "%s/gpucmdd --config /dev/null --device no-such-gpu --socket %s/x.sock", build_dir(),
	       test_daemon.dir);
	ck_assert_msg(r == 1 && strstr(out, "no usable device matches --device 'no-such-gpu'") &&
			      strstr(out, "  0  llvmpipe"),
		      "%d: %s", r, out);
}
END_TEST

/* These tests run gpucmdd themselves: with the sanitizer build's options
 * for the daemon, as the harness starts it (the Vulkan loader's leaks). */
static void operator_setup(void)
{
	const char *asan = getenv("GPUCMD_DAEMON_ASAN_OPTIONS");
	if (asan)
		setenv("ASAN_OPTIONS", asan, 1);
}

TCase *operator_tcase(void)
{
	TCase *t = tcase_create("operator");
	tcase_add_checked_fixture(t, operator_setup, daemon_teardown);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, a_daemon_that_may_not_connect_leaves_a_live_socket_alone);
	tcase_add_test(t, a_socket_in_a_missing_directory_fails_before_the_device);
	tcase_add_test(t, check_config_fails_on_an_unknown_key_and_suggests_the_nearest);
	tcase_add_test(t, shipped_config_lists_every_key);
	tcase_add_test(t, devices_are_listed_and_names_match_in_any_case);
	return t;
}
