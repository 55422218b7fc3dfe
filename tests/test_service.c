/*
 * test_service.c — gpucmdd as a systemd service: sd_notify (READY, STATUS,
 * WATCHDOG, RELOADING, STOPPING) on a test NOTIFY_SOCKET, socket activation
 * through systemd-socket-activate, SIGTERM with work in flight, SIGHUP
 * reloading limits, the configuration file and its flags. With
 * GPUCMD_STAGE (a `make install DESTDIR=` tree) it also checks the units and
 * the pkg-config file of that tree (test_service_install.c).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A datagram socket in the abstract namespace, named in NOTIFY_SOCKET for
 * the daemon this test starts; WATCHDOG_USEC asks for pings every 200 ms. */
static int notify_listen(void)
{
	char name[64];
	snprintf(name, sizeof(name), "@gpucmd-test-notify-%d", (int)getpid());
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path + 1, name + 1, strlen(name) - 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(sa_family_t) + strlen(name)), 0);
	setenv("NOTIFY_SOCKET", name, 1);
	setenv("WATCHDOG_USEC", "600000", 1);
	return fd;
}

/* Reads messages until one contains needle; 1 then, with it in buf. */
static bool notify_wait(int fd, const char *needle, int timeout_ms, char *buf, size_t len)
{
	struct pollfd p = {fd, POLLIN, 0};
	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t n = recv(fd, buf, len - 1, 0);
		if (n < 0)
			return false;
		buf[n] = '\0';
		if (strstr(buf, needle))
			return true;
	}
	return false;
}

static int count_messages(int fd, const char *needle, int ms)
{
	char buf[512];
	int n = 0;
	for (int left = ms; left > 0; left -= 50)
		while (notify_wait(fd, needle, 50, buf, sizeof(buf)))
			n++;
	return n;
}

START_TEST(notify_socket_sees_ready_status_watchdog_and_stopping)
{
	int ns = notify_listen();
	daemon_start(NULL);
	char msg[512];
	ck_assert_msg(notify_wait(ns, "READY=1", 5000, msg, sizeof(msg)), "no READY=1");
	ck_assert_msg(strstr(msg, "STATUS=device llvmpipe"), "READY without the device in STATUS: %s", msg);
	gpucmd_client *c = connect_ok();
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open(c, "status", &s), 0);
	ck_assert_msg(notify_wait(ns, "1 client, 1 session", 2000, msg, sizeof(msg)), "no STATUS after a session opened");
	int pings = count_messages(ns, "WATCHDOG=1", 1200);
	ck_assert_msg(pings >= 3 && pings <= 8, "%d WATCHDOG=1 in 1.2 s, expected about 6", pings);
	gpucmd_disconnect(c);
	ck_assert_int_eq(daemon_stop(), 0);
	ck_assert_msg(notify_wait(ns, "STOPPING=1", 1000, msg, sizeof(msg)), "no STOPPING=1");
	close(ns);
}
END_TEST

START_TEST(socket_activation_takes_the_socket_from_systemd)
{
	daemon_launch(&(struct daemon_launch){.socket_activated = true});
	gpucmd_client *c = connect_ok();
	float a[256], b[256], out[256];
	random_floats(a, 256, 1);
	random_floats(b, 256, 2);
	ck_assert_int_eq(run_binary_kernel(c, "add_f32", a, b, out, 256), 0);
	ck_assert(out[7] == a[7] + b[7]);
	gpucmd_disconnect(c);
	ck_assert_msg(log_wait("(from systemd)", 1000), "the daemon bound its own socket");
}
END_TEST

/*
 * A client commits a long stage and asks for its result; SIGTERM arrives
 * while the GPU runs it. The result must arrive whole, then the goodbye,
 * and the daemon must exit 0.
 */
START_TEST(sigterm_with_work_in_flight_completes_it_and_exits_0)
{
	/* The stage takes ~0.5 s here, several under ASan and a busy machine. */
	const char *extra[] = {"--stop-timeout-sec", "100", NULL};
	daemon_start(extra);
	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const uint32_t n = 1u << 20;
		size_t bytes = n * sizeof(float);
		float *a = malloc(bytes), *b = malloc(bytes), *out = malloc(bytes);
		random_floats(a, n, 3);
		random_floats(b, n, 4);
		gpucmd_client *c = connect_ok();
		struct gpucmd_kernel_info k;
		gpucmd_buffer ba, bb, bo;
		gpucmd_session s;
		int r = gpucmd_kernel_find(c, "add_f32", &k);
		r = r ? r : gpucmd_buffer_create(c, bytes, 0, &ba);
		r = r ? r : gpucmd_buffer_create(c, bytes, 0, &bb);
		r = r ? r : gpucmd_buffer_create(c, bytes, 0, &bo);
		r = r ? r : gpucmd_buffer_write(c, ba, 0, a, bytes);
		r = r ? r : gpucmd_buffer_write(c, bb, 0, b, bytes);
		r = r ? r : gpucmd_session_open(c, "long", &s);
		struct gpucmd_binding bind[3] = {{ba, 0, 0}, {bb, 0, 0}, {bo, 0, 0}};
		for (int i = 0; r == 0 && i < 150; i++)
			r = gpucmd_dispatch(c, s, k.id, bind, 3, &n, 4, n / 256, 1, 1);
		r = r ? r : gpucmd_commit_stage(c, s);
		if (r)
			_exit(10);
		(void)!write(go[1], "x", 1);
		/* Stalls in the daemon until the stage retires. One frame's
		 * worth: the daemon reads no new request once stopping, and a
		 * larger read would need more than one. */
		const uint32_t check = 1u << 16;
		if (gpucmd_buffer_read(c, bo, 0, out, check * sizeof(float)) != 0)
			_exit(11);
		for (uint32_t i = 0; i < check; i++)
			if (out[i] != a[i] + b[i])
				_exit(12);
		if (gpucmd_ping(c) != GPUCMD_E_DISCONNECTED || !strstr(gpucmd_last_error(c), "gpucmdd is stopping"))
			_exit(13);
		_exit(0);
	}
	char x;
	ck_assert_int_eq(read(go[0], &x, 1), 1);
	usleep(100 * 1000);
	int st = daemon_stop();
	int cst;
	waitpid(pid, &cst, 0);
	if (st != 0 || !WIFEXITED(cst) || WEXITSTATUS(cst) != 0)
		dump_log();
	ck_assert_msg(WIFEXITED(cst) && WEXITSTATUS(cst) == 0,
		      "client: 10 set-up, 11 read, 12 wrong result, 13 no goodbye; got %d", WEXITSTATUS(cst));
	ck_assert_int_eq(st, 0);
	ck_assert_msg(log_wait("stopping: 1 clients, 1 submissions in flight", 0),
		      "SIGTERM did not come while the stage ran; the test proved nothing");
}
END_TEST

static int open_sessions(gpucmd_client *c, int n, gpucmd_session *s)
{
	for (int i = 0; i < n; i++) {
		int r = gpucmd_session_open(c, "limit", &s[i]);
		if (r)
			return r;
	}
	return 0;
}

START_TEST(sighup_changes_max_sessions_per_client)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_sessions_per_client = 2\n"});
	gpucmd_client *c = connect_ok();
	gpucmd_session s[4];
	ck_assert_int_eq(open_sessions(c, 2, s), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "third", &s[2]), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "max_sessions_per_client allows (2"), "%s", gpucmd_last_error(c));

	write_config("[limits]\nmax_sessions_per_client = 3\n");
	kill(test_daemon.pid, SIGHUP);
	ck_assert(log_wait("reload: max_sessions_per_client 2 -> 3", 60000));
	ck_assert_int_eq(gpucmd_session_open(c, "third", &s[2]), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "fourth", &s[3]), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "(3, set in"), "%s", gpucmd_last_error(c));

	/* A broken file on reload changes nothing. */
	write_config("[limits]\nmax_sessions_per_client = lots\n");
	kill(test_daemon.pid, SIGHUP);
	ck_assert(log_wait("reload failed", 60000));
	ck_assert(log_wait("gpucmdd.conf:2: max_sessions_per_client must be a number", 0));
	ck_assert_int_eq(gpucmd_session_open(c, "fourth", &s[3]), -EMFILE);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(max_clients_refuses_the_extra_client_with_a_reason)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_clients = 1\n"});
	/* The start-up probe may still count for a moment. */
	gpucmd_client *c = NULL;
	for (int i = 0; i < 50 && !(c = gpucmd_connect(test_daemon.socket)); i++)
		usleep(20 * 1000);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(gpucmd_connect(test_daemon.socket));
	ck_assert_msg(strstr(gpucmd_last_error(NULL), "at most 1 clients at once (max_clients"), "%s",
		      gpucmd_last_error(NULL));
	/* Lifted by a reload, for the next client and the teardown's. */
	write_config("[limits]\nmax_clients = 0\n");
	kill(test_daemon.pid, SIGHUP);
	ck_assert(log_wait("reload: max_clients 1 -> 0", 60000));
	gpucmd_client *c2 = connect_ok();
	gpucmd_disconnect(c2);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(flags_override_the_file)
{
	const char *extra[] = {"--max-sessions-per-client", "2", NULL};
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_sessions_per_client = 1\n", .extra = extra});
	gpucmd_client *c = connect_ok();
	gpucmd_session s[3];
	ck_assert_int_eq(open_sessions(c, 2, s), 0);
	ck_assert_int_eq(gpucmd_session_open(c, "third", &s[2]), -EMFILE);
	gpucmd_disconnect(c);
}
END_TEST

/* Runs gpucmdd with a configuration file that must be refused; returns its
 * exit status and its stderr in out. */
static int run_with_config(const char *text, char *out, size_t len)
{
	char dir[] = "/tmp/gpucmd-conf.XXXXXX", path[64], cmd[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	const char *b = getenv("GPUCMD_BUILD");
	snprintf(cmd, sizeof(cmd), "%s/gpucmdd --config %s --socket %s/s.sock 2>&1; echo \"rc=$?\"", b ? b : "build",
		 path, dir);
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
	char *rc = strstr(out, "rc=");
	return rc ? atoi(rc + 3) : -1;
}

START_TEST(bad_configuration_is_refused_with_file_and_line)
{
	char out[2048];
	ck_assert_int_eq(run_with_config("[daemon]\nlog_level = info\nspin_us = -3\n", out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "c.conf:3: spin_us must be a number from 0 to 1000000"), "%s", out);
	ck_assert_int_eq(run_with_config("[daemon]\nmax_clients = 3\n", out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "max_clients belongs in section [limits], not [daemon]"), "%s", out);
	ck_assert_int_eq(run_with_config("[daemon]\nlog_level = chatty\n", out, sizeof(out)), 2);
	ck_assert_msg(strstr(out, "'chatty' is not a log level"), "%s", out);
}
END_TEST

/* The queue policy is configuration: a family that exists is used, one that
 * does not (or cannot compute) stops the start with the reason. */
START_TEST(queue_family_is_chosen_or_refused)
{
	char out[2048];
	ck_assert_int_eq(run_with_config("[daemon]\nqueue_family = 9\n", out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "queue_family 9: device") && strstr(out, "is not one of them"), "%s", out);
	daemon_start((const char *const[]){"--queue-family", "0", NULL});
	gpucmd_client *c = connect_ok();
	struct gpucmd_info i;
	ck_assert_int_eq(gpucmd_info(c, &i), 0);
	ck_assert_uint_eq(i.queue_family, 0);
	gpucmd_disconnect(c);
}
END_TEST

START_TEST(sighup_reports_reloading_then_ready)
{
	int ns = notify_listen();
	daemon_start(NULL);
	char msg[512];
	ck_assert(notify_wait(ns, "READY=1", 5000, msg, sizeof(msg)));
	write_config("[daemon]\nlog_level = debug\n");
	kill(test_daemon.pid, SIGHUP);
	ck_assert_msg(notify_wait(ns, "RELOADING=1", 2000, msg, sizeof(msg)), "no RELOADING=1");
	ck_assert_msg(strstr(msg, "MONOTONIC_USEC="), "%s", msg);
	ck_assert_msg(notify_wait(ns, "READY=1", 2000, msg, sizeof(msg)), "no READY=1 after the reload");
	/* The new level applies: a connection is now logged at debug. */
	gpucmd_client *c = connect_ok();
	ck_assert(log_wait("connected: pid", 60000));
	gpucmd_disconnect(c);
	close(ns);
}
END_TEST

/* Reads journal entries from `fd` as they come (journald does; a datagram
 * socket left unread fills at net.unix.max_dgram_qlen, as few as 10, and
 * then the daemon's next line waits), until one holds both needles. */
struct journal_reader {
	int fd;
	const char *needle[2];
	char entry[2048];
	atomic_bool found, stop;
};

static void *read_journal(void *arg)
{
	struct journal_reader *r = arg;
	struct pollfd p = {r->fd, POLLIN, 0};
	while (!atomic_load(&r->found) && !atomic_load(&r->stop)) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		char e[sizeof(r->entry)];
		ssize_t n = recv(r->fd, e, sizeof(e) - 1, 0);
		if (n <= 0)
			continue;
		e[n] = '\0';
		if (strstr(e, r->needle[0]) && strstr(e, r->needle[1])) {
			memcpy(r->entry, e, (size_t)n + 1);
			atomic_store(&r->found, true);
		}
	}
	return NULL;
}

/*
 * Under journald, lines are journal entries with fields. The test stands in
 * for journald: in a private mount namespace it puts its own datagram
 * socket at /run/systemd/journal/socket, where sd_journal_send writes.
 * Without the privilege for that (not root), it says so and passes.
 */
START_TEST(journal_entries_carry_client_fields_when_stderr_is_the_journal)
{
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0) {
		fprintf(stderr, "journal test not run: no private mount namespace (%s)\n", strerror(errno));
		return;
	}
	ck_assert_int_eq(mkdir("/run/systemd", 0755), 0);
	ck_assert_int_eq(mkdir("/run/systemd/journal", 0755), 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket"};
	int js = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(js, (struct sockaddr *)&a, sizeof(a)), 0);
	char want[64];
	snprintf(want, sizeof(want), "GPUCMD_CLIENT_PID=%d\n", (int)getpid());
	struct journal_reader r = {.fd = js, .needle = {"evicted by uid", want}};
	pthread_t reader;
	ck_assert_int_eq(pthread_create(&reader, NULL, read_journal, &r), 0);
	/* An eviction is a notice about the evicted client (connects and
	 * hang-ups are debug lines). */
	daemon_launch(&(struct daemon_launch){.journal_stream = true});
	gpucmd_client *c = connect_ok(), *admin = connect_ok();
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(c, &st), 0);
	ck_assert_int_eq(gpucmd_evict(admin, st.self, "journal test"), 0);
	gpucmd_status_free(&st);
	gpucmd_disconnect(admin);
	gpucmd_disconnect(c);
	for (int i = 0; i < 300 && !atomic_load(&r.found); i++)
		usleep(10000);
	atomic_store(&r.stop, true);
	pthread_join(reader, NULL);
	ck_assert_msg(atomic_load(&r.found), "no journal entry for the client with %s", want);
	ck_assert_msg(strstr(r.entry, "PRIORITY=5\n") && strstr(r.entry, "SYSLOG_IDENTIFIER=gpucmdd\n") &&
			      strstr(r.entry, "GPUCMD_CLIENT=") && strstr(r.entry, "GPUCMD_CLIENT_UID="),
		      "%s", r.entry);
	ck_assert_msg(!log_wait("evicted by uid", 0), "the line went to stderr as well");
	close(js);
}
END_TEST

TCase *install_tcase(void);

static Suite *service_suite(void)
{
	Suite *s = suite_create("service");
	TCase *t = tcase_create("systemd");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, notify_socket_sees_ready_status_watchdog_and_stopping);
	tcase_add_test(t, socket_activation_takes_the_socket_from_systemd);
	tcase_add_test(t, sigterm_with_work_in_flight_completes_it_and_exits_0);
	tcase_add_test(t, sighup_changes_max_sessions_per_client);
	tcase_add_test(t, sighup_reports_reloading_then_ready);
	tcase_add_test(t, max_clients_refuses_the_extra_client_with_a_reason);
	tcase_add_test(t, flags_override_the_file);
	tcase_add_test(t, bad_configuration_is_refused_with_file_and_line);
	tcase_add_test(t, queue_family_is_chosen_or_refused);
	tcase_add_test(t, journal_entries_carry_client_fields_when_stderr_is_the_journal);
	suite_add_tcase(s, t);
	if (getenv("GPUCMD_STAGE"))
		suite_add_tcase(s, install_tcase());
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(service_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
