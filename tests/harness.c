/*
 * harness.c — starting, checking and stopping a real gpucmdd for tests
 * (see harness.h).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "wire.h"

struct test_daemon test_daemon;

const char *build_dir(void)
{
	const char *b = getenv("GPUCMD_BUILD");
	return b && *b ? b : "build";
}

void write_config(const char *text)
{
	FILE *f = fopen(test_daemon.config, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

bool log_wait(const char *needle, int timeout_ms)
{
	for (int waited = 0;; waited += 20) {
		FILE *f = fopen(test_daemon.log, "r");
		char line[1024];
		bool found = false;
		while (f && !found && fgets(line, sizeof(line), f))
			found = strstr(line, needle) != NULL;
		if (f)
			fclose(f);
		if (found)
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(20 * 1000);
	}
}

/* The daemon's descriptors while it serves one client (this one, which is
 * counted out): -1 when no client can connect (a test's configuration may
 * refuse it) or others stay connected. With c NULL a client is made for it. */
static int fds_with_one_client(gpucmd_client *c)
{
	gpucmd_client *own = c ? NULL : gpucmd_connect(test_daemon.socket);
	if (!c && !(c = own))
		return -1;
	struct gpucmd_info info = {0};
	for (int i = 0; i < 1000 && (gpucmd_info(c, &info) < 0 || info.clients != 1); i++)
		usleep(10000);
	int n = info.clients == 1 ? daemon_fd_count() - 1 : -1;
	gpucmd_disconnect(own);
	return n;
}

/* The daemon holds no descriptor more than after its start: every socket,
 * memfd, pipe and file a test made it open is closed again (the test's
 * clients have gone by now, or will within the wait). */
static int teardown_fds(gpucmd_client *c)
{
	int want = test_daemon.base_fds, n = want;
	for (int i = 0; want >= 0 && i < 500 && (n = fds_with_one_client(c)) != want; i++)
		usleep(10000);
	return n;
}

void daemon_start(const char *const *extra)
{
	daemon_launch(&(struct daemon_launch){.extra = extra});
}

void daemon_launch(const struct daemon_launch *l)
{
	struct test_daemon *t = &test_daemon;
	/* A restarted daemon keeps the directory: socket path and cache. */
	if (!t->dir[0]) {
		snprintf(t->dir, sizeof(t->dir), "/tmp/gpucmd-test.XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(t->dir));
	}
	snprintf(t->socket, sizeof(t->socket), "%.31s/s.sock", t->dir);
	snprintf(t->log, sizeof(t->log), "%.31s/daemon.log", t->dir);
	snprintf(t->config, sizeof(t->config), "%.31s/gpucmdd.conf", t->dir);
	/* Never the machine's /etc/gpucmd/gpucmdd.conf. */
	write_config(l->config ? l->config : "");
	char exe[512], cache[64];
	snprintf(exe, sizeof(exe), "%s/%s", build_dir(), l->exe ? l->exe : "gpucmdd");
	/* Each daemon its own pipeline cache, never the user's. */
	snprintf(cache, sizeof(cache), "%.31s/cache", t->dir);
	const char *argv[48];
	int n = 0;
	if (l->socket_activated) {
		/* It passes on only the variables named with -E. */
		const char *wrap[] = {"systemd-socket-activate", "-l", t->socket, "-E", "ASAN_OPTIONS", "-E",
				      "TSAN_OPTIONS", "-E", "RUNTIME_DIRECTORY"};
		for (size_t i = 0; i < sizeof(wrap) / sizeof(wrap[0]); i++)
			argv[n++] = wrap[i];
	}
	argv[n++] = exe;
	argv[n++] = "--socket";
	argv[n++] = t->socket;
	argv[n++] = "--config";
	argv[n++] = t->config;
	argv[n++] = "--validate";
	argv[n++] = "--cache-dir";
	argv[n++] = cache;
	for (const char *const *e = l->extra; e && *e && n < 46; e++)
		argv[n++] = *e;
	argv[n] = NULL;
	t->pid = fork();
	ck_assert_int_ge(t->pid, 0);
	if (t->pid == 0) {
		int fd = open(t->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, 2);
		dup2(fd, 1);
		if (l->journal_stream) {
			/* As systemd does: stderr is "the journal stream". */
			struct stat st;
			char js[64];
			fstat(2, &st);
			snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
			setenv("JOURNAL_STREAM", js, 1);
		}
		/* Its own claim on the device (service/devlock.h), unless the
		 * test names a directory several daemons share. */
		setenv("RUNTIME_DIRECTORY", t->dir, 0);
		/* The sanitizer build may give the daemon its own options. */
		const char *asan = getenv("GPUCMD_DAEMON_ASAN_OPTIONS");
		if (asan)
			setenv("ASAN_OPTIONS", asan, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* Wait until the daemon accepts a connection. */
	for (int i = 0; i < 600; i++) {
		int fd = raw_connect();
		if (fd >= 0) {
			close(fd);
			t->base_fds = fds_with_one_client(NULL);
			return;
		}
		int st;
		if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
			t->pid = 0;
			ck_abort_msg("gpucmdd exited during start-up (status %d), log in %s", WEXITSTATUS(st), t->log);
		}
		usleep(20 * 1000);
	}
	ck_abort_msg("gpucmdd did not start listening on %s within 12 s", t->socket);
}

int daemon_wait_exit(int timeout_ms)
{
	struct test_daemon *t = &test_daemon;
	int st;
	for (int waited = 0; t->pid > 0 && waited <= timeout_ms; waited += 10) {
		if (waitpid(t->pid, &st, WNOHANG) == t->pid) {
			t->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		usleep(10 * 1000);
	}
	return -1;
}

int daemon_stop(void)
{
	struct test_daemon *t = &test_daemon;
	if (t->pid <= 0)
		return -1;
	kill(t->pid, SIGTERM);
	int st = 0;
	/* A stop lets committed work finish, which under the sanitizer build
	 * on a loaded machine can take many seconds: SIGKILL only after 60. */
	for (int i = 0; i < 6000; i++) {
		if (waitpid(t->pid, &st, WNOHANG) == t->pid)
			break;
		if (i == 5999) {
			kill(t->pid, SIGKILL);
			waitpid(t->pid, &st, 0);
		}
		usleep(10 * 1000);
	}
	t->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void dump_log(void)
{
	FILE *f = fopen(test_daemon.log, "r");
	if (!f)
		return;
	char line[1024];
	fprintf(stderr, "---- gpucmdd log (%s) ----\n", test_daemon.log);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

void daemon_setup(void)
{
	daemon_start(NULL);
}

/* Every test ends here: no validation message, nothing left alive, and a
 * clean exit (which checks leaks and validation again at destruction). */
static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", test_daemon.dir);
	if (test_daemon.dir[0])
		(void)!system(cmd);
	test_daemon.dir[0] = '\0';
}

void daemon_setup_syncval(void)
{
	daemon_start((const char *const[]){"--validate-sync", NULL});
}

struct gpucmd_session_state session_state(gpucmd_client *c, gpucmd_session s)
{
	struct gpucmd_session_state st;
	ck_assert_msg(gpucmd_session_query(c, s, &st) == 0, "session query: %s", gpucmd_last_error(c));
	return st;
}

void daemon_teardown(void)
{
	if (test_daemon.pid <= 0) {
		remove_dir(); /* the test stopped it and checked its status */
		return;
	}
	gpucmd_client *c = gpucmd_connect(test_daemon.socket);
	struct gpucmd_info info = {0};
	int r = c ? gpucmd_info(c, &info) : -1;
	int fds = r == 0 ? teardown_fds(c) : test_daemon.base_fds;
	gpucmd_disconnect(c);
	int st = daemon_stop();
	if (r < 0 || info.validation_messages || st != 0)
		dump_log();
	ck_assert_msg(r == 0, "daemon did not answer info at teardown");
	ck_assert_msg(info.validation, "validation layer not enabled in the daemon");
	ck_assert_uint_eq(info.validation_messages, 0);
	ck_assert_msg(st == 0, "gpucmdd exited with status %d (3: validation messages, 4: leaked objects)", st);
	ck_assert_msg(fds == test_daemon.base_fds, "gpucmdd held %d descriptors at teardown with one client, %d after "
		      "start (a descriptor leaked, or a client of the test was still connected)", fds,
		      test_daemon.base_fds);
	remove_dir();
}

gpucmd_client *connect_ok(void)
{
	gpucmd_client *c = gpucmd_connect(test_daemon.socket);
	ck_assert_msg(c != NULL, "connect: %s", gpucmd_last_error(NULL));
	return c;
}

gpucmd_client *connect_high(void)
{
	gpucmd_client *c = gpucmd_connect_priority(test_daemon.socket, GPUCMD_PRIORITY_HIGH);
	ck_assert_msg(c != NULL, "connect (high): %s", gpucmd_last_error(NULL));
	return c;
}

gpucmd_client *connect_fenced(const char *label, gpucmd_session *s, gpucmd_token *t)
{
	gpucmd_client *c = connect_ok();
	must(c, gpucmd_session_open(c, label, s), "session_open");
	must(c, gpucmd_fence_export(c, *s, t), "fence_export");
	return c;
}

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n - 1; /* the DIR's own fd */
}

int raw_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", test_daemon.socket);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

size_t raw_read_all(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	struct pollfd p = {fd, POLLIN, 0};
	while (n < cap && poll(&p, 1, 5000) > 0) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	return n;
}

size_t raw_hello(uint8_t *buf, size_t cap, uint32_t version)
{
	Gpucmd__Hello h = GPUCMD__HELLO__INIT;
	h.protocol_version = version;
	h.client_name = "raw";
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.id = 1;
	req.body_case = GPUCMD__REQUEST__BODY_HELLO;
	req.hello = &h;
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_pack(&b, &req.base, GW_DEFAULT_MAX_FRAME), 0);
	ck_assert_uint_le(b.len, cap);
	memcpy(buf, b.data, b.len);
	size_t n = b.len;
	gw_buf_finish(&b);
	return n;
}

int raw_reply_error(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct gw_reader r;
	gw_reader_init(&r, GW_DEFAULT_MAX_FRAME);
	uint8_t *room;
	size_t n;
	int status = 1;
	if (gw_reader_space(&r, len, &room, &n) == 0) {
		memcpy(room, buf, len);
		gw_reader_commit(&r, len);
		const uint8_t *p;
		size_t plen;
		while (gw_reader_peek(&r, &p, &plen) == 1) {
			Gpucmd__Reply *rep = gpucmd__reply__unpack(NULL, plen, p);
			gw_reader_consume(&r);
			if (!rep)
				break;
			if (rep->status) {
				status = rep->status;
				snprintf(err, errlen, "%s", rep->error);
				gpucmd__reply__free_unpacked(rep, NULL);
				break;
			}
			gpucmd__reply__free_unpacked(rep, NULL);
		}
	}
	gw_reader_finish(&r);
	return status;
}

void random_floats(float *v, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		v[i] = (float)((seed >> 8) & 0xffff) / 256.0f - 128.0f;
	}
}

int run_binary_kernel(gpucmd_client *c, const char *kernel, const float *a, const float *b, float *out, uint32_t n)
{
	struct gpucmd_kernel_info k;
	gpucmd_buffer ba = 0, bb = 0, bo = 0;
	gpucmd_session s = 0;
	size_t bytes = (size_t)n * sizeof(float);
	int r = gpucmd_kernel_find(c, kernel, &k);
	if (r == 0)
		r = gpucmd_buffer_create(c, bytes, 0, &bo);
	if (r == 0 && b) {
		r = gpucmd_buffer_create(c, bytes, 0, &ba);
		if (r == 0)
			r = gpucmd_buffer_create(c, bytes, 0, &bb);
		if (r == 0)
			r = gpucmd_buffer_write(c, ba, 0, a, bytes);
		if (r == 0)
			r = gpucmd_buffer_write(c, bb, 0, b, bytes);
	}
	if (r == 0)
		r = gpucmd_session_open(c, kernel, &s);
	if (r == 0) {
		struct gpucmd_binding bind[3] = {{ba, 0, 0}, {bb, 0, 0}, {bo, 0, 0}};
		struct { uint32_t n; float v; } fp = {n, a ? a[0] : 0};
		r = b ? gpucmd_dispatch(c, s, k.id, bind, 3, &n, 4, (n + 255) / 256, 1, 1)
		      : gpucmd_dispatch(c, s, k.id, &bind[2], 1, &fp, 8, (n + 255) / 256, 1, 1);
	}
	if (r == 0)
		r = gpucmd_commit_and_wait(c, s);
	if (r == 0)
		r = gpucmd_buffer_read(c, bo, 0, out, bytes);
	if (s)
		gpucmd_session_close(c, s);
	if (ba)
		gpucmd_buffer_free(c, ba);
	if (bb)
		gpucmd_buffer_free(c, bb);
	if (bo)
		gpucmd_buffer_free(c, bo);
	return r;
}

uint8_t *read_spv(const char *name, size_t *ret_len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/tests/spirv/%s.spv", build_dir(), name);
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	uint8_t *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, 1 << 20, f);
	fclose(f);
	ck_assert_uint_gt(n, 0);
	*ret_len = n;
	return buf;
}

int daemon_log_count(const char *needle)
{
	FILE *f = fopen(test_daemon.log, "r");
	char line[2048];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

bool daemon_log_contains(const char *needle)
{
	return daemon_log_count(needle) > 0;
}

/* ---- the daemon's state, and raw frames (fault tests) ---------------------- */

int daemon_fd_count(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)test_daemon.pid);
	DIR *d = opendir(path);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* The daemon's descriptors with no client but the asking one, which is
 * counted out: the harness's start-up probe may still be closing. */
int sh_run(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 8, fmt, ap);
	va_end(ap);
	strcat(cmd, " 2>&1");
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void must(gpucmd_client *c, int r, const char *what)
{
	ck_assert_msg(r == 0, "%s: %d %s", what, r, gpucmd_last_error(c));
}

void raise_fd_limit(void)
{
	struct rlimit rl;
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

int daemon_base_fds(void)
{
	int n = fds_with_one_client(NULL);
	ck_assert_msg(n >= 0, "gpucmdd did not come down to one client");
	return n;
}

/* Waits (60 s at most: a state, not a time) until the daemon holds no buffer, session or
 * accounted byte, serves no client but the checking one, and has exactly
 * base_fds descriptors open besides that one. Then proves it still
 * computes. */
void expect_baseline(int base_fds)
{
	gpucmd_client *c = connect_ok();
	struct gpucmd_info info = {0};
	struct gpucmd_memory_report mem = {0};
	int fds = 0;
	for (int i = 0; i < 6000; i++) {
		ck_assert_msg(gpucmd_info(c, &info) == 0, "daemon stopped answering: %s", gpucmd_last_error(c));
		ck_assert_int_eq(gpucmd_memory_report(c, &mem), 0);
		free(mem.clients);
		fds = daemon_fd_count() - 1;
		if (!info.live_buffers && !info.live_sessions && info.clients == 1 && !mem.user.bytes &&
		    !mem.user.buffers && fds == base_fds)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(info.live_buffers, 0);
	ck_assert_uint_eq(info.live_sessions, 0);
	ck_assert_uint_eq(info.clients, 1);
	ck_assert_uint_eq(mem.user.bytes, 0);
	ck_assert_msg(fds == base_fds, "daemon holds %d fds, %d before", fds, base_fds);
	float a[300], b[300], out[300];
	random_floats(a, 300, 1);
	random_floats(b, 300, 2);
	ck_assert_msg(run_binary_kernel(c, "add_f32", a, b, out, 300) == 0, "%s", gpucmd_last_error(c));
	ck_assert(out[299] == a[299] + b[299]);
	gpucmd_disconnect(c);
}

void raw_send(struct raw *r, Gpucmd__Request *req)
{
	req->id = ++r->id;
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_pack(&b, &req->base, GW_DEFAULT_MAX_FRAME), 0);
	ck_assert_int_eq(write(r->fd, b.data, b.len), (ssize_t)b.len);
	gw_buf_finish(&b);
}

/* The status of the reply to request `id`, its error text in err;
 * GPUCMD_E_DISCONNECTED when the daemon closed first. */
int raw_wait(struct raw *r, uint64_t id, char *err, size_t errlen)
{
	for (;;) {
		const uint8_t *p;
		size_t len;
		while (gw_reader_peek(&r->in, &p, &len) == 1) {
			Gpucmd__Reply *rep = gpucmd__reply__unpack(NULL, len, p);
			gw_reader_consume(&r->in);
			ck_assert_ptr_nonnull(rep);
			int status = rep->status;
			bool mine = rep->id == id || rep->id == 0;
			if (mine && err)
				snprintf(err, errlen, "%s", rep->error);
			gpucmd__reply__free_unpacked(rep, NULL);
			if (mine)
				return status;
		}
		uint8_t *room;
		size_t n;
		ck_assert_int_eq(gw_reader_space(&r->in, 64 << 10, &room, &n), 0);
		struct pollfd pfd = {r->fd, POLLIN, 0};
		ck_assert_msg(poll(&pfd, 1, 30000) == 1, "no reply to request %llu in 30 s", (unsigned long long)id);
		ssize_t got = read(r->fd, room, n);
		if (got <= 0)
			return GPUCMD_E_DISCONNECTED;
		gw_reader_commit(&r->in, (size_t)got);
	}
}

void raw_send_batch(struct raw *r, Gpucmd__Request *const *reqs, size_t n)
{
	struct gw_buf b = {0};
	for (size_t i = 0; i < n; i++) {
		reqs[i]->id = ++r->id;
		ck_assert_int_eq(gw_pack(&b, &reqs[i]->base, GW_DEFAULT_MAX_FRAME), 0);
	}
	ck_assert_int_eq(write(r->fd, b.data, b.len), (ssize_t)b.len);
	gw_buf_finish(&b);
}

int raw_call(struct raw *r, Gpucmd__Request *req, char *err, size_t errlen)
{
	raw_send(r, req);
	return raw_wait(r, req->id, err, errlen);
}

void raw_open(struct raw *r)
{
	r->fd = raw_connect();
	ck_assert_int_ge(r->fd, 0);
	r->id = 1;
	gw_reader_init(&r->in, GW_DEFAULT_MAX_FRAME);
	uint8_t buf[256];
	size_t n = raw_hello(buf, sizeof(buf), GPUCMD_PROTOCOL_VERSION);
	ck_assert_int_eq(write(r->fd, buf, n), (ssize_t)n);
	ck_assert_int_eq(raw_wait(r, 1, NULL, 0), 0);
}

void raw_close(struct raw *r)
{
	close(r->fd);
	gw_reader_finish(&r->in);
}

/* A streamed request whose failure the next round trip reports. */
int raw_streamed(struct raw *r, Gpucmd__Request *req, char *err, size_t errlen)
{
	raw_send(r, req);
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request ping = GPUCMD__REQUEST__INIT;
	ping.body_case = GPUCMD__REQUEST__BODY_PING;
	ping.ping = &p;
	return raw_call(r, &ping, err, errlen);
}

bool under_tsan(void)
{
	return getenv("GPUCMD_TSAN") != NULL;
}

struct job_kit job_kit_open(gpucmd_client *c, const char *kernel, uint64_t bytes, const char *label)
{
	struct job_kit j;
	ck_assert_msg(gpucmd_kernel_find(c, kernel, &j.k) == 0, "kernel %s: %s", kernel, gpucmd_last_error(c));
	ck_assert_int_eq(gpucmd_buffer_create(c, bytes, 0, &j.b), 0);
	ck_assert_int_eq(gpucmd_session_open(c, label, &j.s), 0);
	return j;
}

bool open_daemon_to_nobody(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: needs root to connect as another user\n");
		return false;
	}
	ck_assert_int_eq(chmod(test_daemon.dir, 0777), 0);
	ck_assert_int_eq(chmod(test_daemon.socket, 0666), 0);
	return true;
}

int as_nobody(int (*fn)(void *arg, char *msg, size_t len), void *arg, char *msg, size_t len)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		char out[1024] = "";
		int r = fn(arg, out + 16, sizeof(out) - 16);
		memcpy(out, &r, sizeof(r));
		(void)!write(p[1], out, sizeof(out));
		_exit(0);
	}
	close(p[1]);
	char buf[1024] = "";
	ssize_t n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(n == (ssize_t)sizeof(buf) && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
	int r;
	memcpy(&r, buf, sizeof(r));
	buf[sizeof(buf) - 1] = '\0';
	snprintf(msg, len, "%s", buf + 16);
	return r;
}
