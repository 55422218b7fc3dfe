/*
 * test_daemon_isolation.c — one client never stops the others. Each test is
 * one of the attacks an adversarial suite found (a fence fd the daemon
 * cannot write, a fence abandoned under a waiting stage, replies never read,
 * thousands of connections, parked fence waiters, handle generations run
 * round, partial frames, an fd sent with the wrong message), and each ends
 * with another client served and the daemon exiting clean.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* A raw ping answers within raw_wait's 10 s: the loop thread is not stuck. */
static void another_client_is_served(void)
{
	struct raw r;
	raw_open(&r);
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_PING;
	req.ping = &p;
	ck_assert_int_eq(raw_call(&r, &req, NULL, 0), 0);
	raw_close(&r);
}

static uint64_t daemon_rss_kib(void)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)test_daemon.pid);
	FILE *f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	unsigned long long kib = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* For tests that measure the daemon's memory: under AddressSanitizer, freed
 * blocks would stay resident in its quarantine and count as held. */
static void launch_measured(const char *config)
{
	const char *asan = getenv("GPUCMD_DAEMON_ASAN_OPTIONS");
	if (asan) {
		char opts[512];
		snprintf(opts, sizeof(opts), "%s:quarantine_size_mb=0:thread_local_quarantine_size_kb=0", asan);
		setenv("GPUCMD_DAEMON_ASAN_OPTIONS", opts, 1);
	}
	daemon_launch(&(struct daemon_launch){.config = config});
}

/* Packs req (next id) and sends its first `split` bytes with fd attached,
 * then the rest; split 0 sends it whole with the fd. */
static void raw_send_fd(struct raw *r, Gpucmd__Request *req, int fd, size_t split)
{
	req->id = ++r->id;
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_pack(&b, &req->base, GW_DEFAULT_MAX_FRAME), 0);
	size_t first = split ? split : b.len;
	ck_assert_int_eq(gw_send_fds(r->fd, b.data, first, &fd, 1, MSG_NOSIGNAL), (ssize_t)first);
	if (first < b.len)
		ck_assert_int_eq(write(r->fd, b.data + first, b.len - first), (ssize_t)(b.len - first));
	gw_buf_finish(&b);
}

static Gpucmd__Request fence_fd_request(Gpucmd__FenceFd *ff, const gpucmd_token *t, uint64_t value)
{
	*ff = (Gpucmd__FenceFd)GPUCMD__FENCE_FD__INIT;
	ff->token = (ProtobufCBinaryData){sizeof(t->bytes), (uint8_t *)t->bytes};
	ff->value = value;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_FENCE_FD;
	req.fence_fd = ff;
	return req;
}

/* Hole 1: the daemon wrote to a client's eventfd from the loop thread; one
 * whose counter was full blocked every client. It now never writes into a
 * file a client can fill: a client fd sent with fence_fd is refused, and
 * the fd it returns is the read end of a pipe only the daemon writes. */
START_TEST(fence_fd_never_blocks_the_daemon)
{
	gpucmd_session s;
	gpucmd_token t;
	gpucmd_client *c = connect_fenced("fenced", &s, &t);

	struct raw r;
	raw_open(&r);
	int full = eventfd(0, EFD_CLOEXEC);
	uint64_t most = 0xfffffffffffffffeull;
	ck_assert_int_eq(write(full, &most, 8), 8);
	Gpucmd__FenceFd ff;
	Gpucmd__Request req = fence_fd_request(&ff, &t, 1);
	raw_send_fd(&r, &req, full, 0);
	char err[256] = "";
	int st = raw_wait(&r, req.id, err, sizeof(err));
	ck_assert_msg(st != 0 && strstr(err, "file descriptor"), "fence_fd with a client's fd: %d '%s'", st, err);
	close(full);
	raw_close(&r);

	/* The value arrives: nobody is blocked by it. */
	int fd;
	must(c, gpucmd_fence_fd(c, &t, 1, &fd), "fence_fd");
	uint64_t v = 7;
	ck_assert_msg(write(fd, &v, 8) < 0, "the fd a client gets must not be writable: it could fill it");
	must(c, gpucmd_fence_stage(c, s, NULL), "fence");
	must(c, gpucmd_commit_and_wait(c, s), "wait");
	another_client_is_served();
	struct pollfd p = {fd, POLLIN, 0};
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(read(fd, &v, 8), 8);
	ck_assert_uint_eq(v, 1);
	close(fd);

	/* "Never" comes the same way. */
	must(c, gpucmd_fence_fd(c, &t, 5, &fd), "fence_fd");
	must(c, gpucmd_session_close(c, s), "close");
	must(c, gpucmd_ping(c), "ping");
	p.fd = fd;
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(read(fd, &v, 8), 8);
	ck_assert_uint_eq(v, 2);
	close(fd);
	gpucmd_disconnect(c);
}
END_TEST

/* Hole 2: a stage that waited on a fence abandoned before its value came
 * was failed, but the session's next stage still went to the queue waiting
 * on the failed stage's signal: the queue wedged and the daemon declared
 * the device lost. Now every stage that (directly or through its own
 * session's fence) waited on the abandoned value fails with
 * GPUCMD_E_FENCE_ABANDONED, and nothing else does. _i: 0 the producer
 * closes its session, 1 its process is killed. */
START_TEST(abandoned_fence_fails_only_the_stages_that_waited_on_it)
{
	int tok[2], go[2];
	ck_assert_int_eq(pipe(tok), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		gpucmd_client *p = gpucmd_connect(test_daemon.socket);
		gpucmd_session ps;
		gpucmd_token t;
		if (!p || gpucmd_session_open(p, "producer", &ps) < 0 || gpucmd_fence_export(p, ps, &t) < 0 ||
		    write(tok[1], &t, sizeof(t)) != (ssize_t)sizeof(t))
			_exit(1);
		char g;
		if (read(go[0], &g, 1) == 1) {
			gpucmd_session_close(p, ps);
			gpucmd_ping(p);
		}
		_exit(0);
	}
	gpucmd_token t;
	ck_assert_int_eq(read(tok[0], &t, sizeof(t)), (ssize_t)sizeof(t));

	gpucmd_client *c = connect_ok();
	gpucmd_session s;
	gpucmd_buffer b;
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	must(c, gpucmd_session_open(c, "consumer", &s), "open");
	must(c, gpucmd_wait_fence(c, s, &t, 1), "wait_fence");
	must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 1), "fill");
	must(c, gpucmd_fence_stage(c, s, NULL), "fence");
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_ping(c), "ping");

	if (_i == 1)
		kill(child, SIGKILL);
	else
		ck_assert_int_eq(write(go[1], "g", 1), 1);
	int st;
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	for (int i = 0; i < 2; i++) {
		close(tok[i]);
		close(go[i]);
	}
	/* The producer's connection is gone once the daemon counts one client. */
	struct gpucmd_info info = {0};
	for (int i = 0; i < 1000 && (gpucmd_info(c, &info) < 0 || info.clients != 1); i++)
		usleep(10000);
	ck_assert_uint_eq(info.clients, 1);

	must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 2), "fill");
	int r = gpucmd_commit_and_wait(c, s);
	ck_assert_msg(r == GPUCMD_E_FENCE_ABANDONED, "stage after the abandoned wait: %d %s", r, gpucmd_last_error(c));
	another_client_is_served();
	/* The session goes on: a stage that waits on nothing runs. */
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 3), "fill");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait after the failure");
	uint32_t w[1024];
	must(c, gpucmd_buffer_read(c, b, 0, w, sizeof(w)), "read");
	ck_assert_uint_eq(w[0], 3);
	ck_assert_uint_eq(w[1023], 3);
	gpucmd_disconnect(c);
}
END_TEST

/* Hole 3: requests already read were all handled and their replies queued
 * however large they were; a client that never reads could make the daemon
 * hold hundreds of MiB. Handling now stops while a connection's unsent
 * replies are past the high-water mark. */
START_TEST(replies_a_client_never_reads_are_bounded)
{
	launch_measured(NULL);
	struct raw r;
	raw_open(&r);
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = 1u << 20;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	req.buffer_create = &bc;
	ck_assert_int_eq(raw_call(&r, &req, NULL, 0), 0);
	uint64_t before = daemon_rss_kib();

	/* 300 reads of 1 MiB each, sent in one go and never read. */
	struct gw_buf all = {0};
	Gpucmd__BufferRead br = GPUCMD__BUFFER_READ__INIT;
	br.buffer = 1; /* the connection's first handle */
	br.size = 1u << 20;
	req = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_READ;
	req.buffer_read = &br;
	for (int i = 0; i < 300; i++) {
		req.id = ++r.id;
		ck_assert_int_eq(gw_pack(&all, &req.base, GW_DEFAULT_MAX_FRAME), 0);
	}
	ck_assert_int_eq(write(r.fd, all.data, all.len), (ssize_t)all.len);
	gw_buf_finish(&all);
	/* Whatever the daemon was going to handle of them, it has once
	 * another client's round trip comes back. */
	another_client_is_served();
	another_client_is_served();
	uint64_t after = daemon_rss_kib();
	ck_assert_msg(after < before + (under_tsan() ? 4 : 1) * 64 * 1024, "daemon RSS grew from %llu to %llu KiB for replies never read",
		      (unsigned long long)before, (unsigned long long)after);
	raw_close(&r);
}
END_TEST

static void launch_with_stack(const char *config, rlim_t stack)
{
	struct rlimit old, rl;
	ck_assert_int_eq(getrlimit(RLIMIT_STACK, &old), 0);
	rl = old;
	rl.rlim_cur = stack;
	ck_assert_int_eq(setrlimit(RLIMIT_STACK, &rl), 0);
	daemon_launch(&(struct daemon_launch){.config = config});
	ck_assert_int_eq(setrlimit(RLIMIT_STACK, &old), 0);
}

/* Hole 4: memory_query put an array sized by the number of clients on the
 * loop thread's stack; ten thousand connections and one query crashed a
 * daemon with a 1 MiB stack. */
START_TEST(memory_query_with_ten_thousand_connections)
{
	raise_fd_limit();
	launch_with_stack("[limits]\nmax_clients = 0\n", 1u << 20);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int want = rl.rlim_cur > 10500 ? 10000 : (int)rl.rlim_cur / 2 - 100;
	ck_assert_msg(want >= 9000, "this test needs about 20000 descriptors (RLIMIT_NOFILE is %llu)",
		      (unsigned long long)rl.rlim_cur);
	struct raw *rs = calloc((size_t)want, sizeof(*rs));
	for (int i = 0; i < want; i++)
		raw_open(&rs[i]);
	gpucmd_client *c = connect_ok();
	struct gpucmd_memory_report m = {0};
	must(c, gpucmd_memory_report(c, &m), "memory report");
	ck_assert_uint_ge(m.n_clients, (size_t)want);
	free(m.clients);
	for (int i = 0; i < want; i++)
		raw_close(&rs[i]);
	free(rs);
	gpucmd_disconnect(c);
}
END_TEST

/* Hole 4: nothing bounded connections by default. max_clients now comes
 * from the descriptor limit when the configuration sets none. */
START_TEST(max_clients_has_a_default_from_the_fd_limit)
{
	/* The daemon inherits this; the test runs in a process of its own. */
	struct rlimit rl = {200, 200};
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	daemon_launch(&(struct daemon_launch){0});
	gpucmd_client *cs[200];
	int n = 0;
	char refusal[256] = "";
	while (n < 180) {
		cs[n] = gpucmd_connect(test_daemon.socket);
		if (!cs[n]) {
			snprintf(refusal, sizeof(refusal), "%s", gpucmd_last_error(NULL));
			break;
		}
		n++;
	}
	ck_assert_msg(strstr(refusal, "max_clients"), "after %d connections: '%s'", n, refusal);
	ck_assert_int_gt(n, 32);
	/* One leaves, one is served, once the daemon has seen it go. */
	gpucmd_disconnect(cs[--n]);
	for (int i = 0; i < 6000 && !(cs[n] = gpucmd_connect(test_daemon.socket)); i++)
		usleep(10000);
	ck_assert_msg(cs[n], "%s", gpucmd_last_error(NULL));
	for (int i = 0; i < n; i++)
		gpucmd_disconnect(cs[i]);
	/* The teardown connects too: wait until the others are gone. */
	struct gpucmd_info info = {0};
	for (int i = 0; i < 6000 && (gpucmd_info(cs[n], &info) < 0 || info.clients != 1); i++)
		usleep(10000);
	ck_assert_uint_eq(info.clients, 1);
	gpucmd_disconnect(cs[n]);
}
END_TEST

/* Hole 4: connections that never say hello were held for ever, in any
 * number. Per uid, only max_handshakes_per_uid may wait for their hello,
 * for handshake_timeout_ms each. */
START_TEST(connections_that_never_say_hello_are_bounded_and_timed_out)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_handshakes_per_uid = 8\n"
							"handshake_timeout_ms = 500\n"});
	/* A round trip first: the daemon has seen the start-up probe go. */
	gpucmd_client *c = connect_ok();
	must(c, gpucmd_ping(c), "ping");
	int fds[8];
	for (int i = 0; i < 8; i++)
		ck_assert_int_ge(fds[i] = raw_connect(), 0);
	/* A ninth of the same uid is refused at once, saying why (other uids
	 * are not: the count is per uid). */
	int extra = raw_connect();
	uint8_t buf[4096];
	size_t n = raw_read_all(extra, buf, sizeof(buf));
	char err[256] = "";
	ck_assert_int_lt(raw_reply_error(buf, n, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "max_handshakes_per_uid"), "refusal: '%s'", err);
	close(extra);
	for (int i = 0; i < 8; i++) {
		n = raw_read_all(fds[i], buf, sizeof(buf)); /* closed by the daemon, well within 5 s */
		ck_assert_int_lt(raw_reply_error(buf, n, err, sizeof(err)), 0);
		ck_assert_msg(strstr(err, "handshake_timeout_ms"), "goodbye: '%s'", err);
		close(fds[i]);
	}
	another_client_is_served();
	must(c, gpucmd_ping(c), "ping"); /* greeted long ago: no timeout */
	gpucmd_disconnect(c);
}
END_TEST

/* Hole 5: one client parked twenty thousand fence-fd waiters and spent the
 * daemon's descriptors. Waiters are limited per client and per uid. */
START_TEST(fence_waiters_are_limited_per_client_and_uid)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_fence_waiters_per_client = 16\n"
							"max_fence_waiters_per_uid = 24\n"});
	int base = daemon_base_fds();
	gpucmd_client *a = connect_ok(), *b = connect_ok();
	gpucmd_session s;
	gpucmd_token t;
	must(a, gpucmd_session_open(a, "fenced", &s), "open");
	must(a, gpucmd_fence_export(a, s, &t), "export");
	int fds[24], n = 0;
	for (; n < 16; n++)
		must(a, gpucmd_fence_fd(a, &t, 1000 + n, &fds[n]), "fence_fd within the limit");
	int fd = -1;
	ck_assert_int_eq(gpucmd_fence_fd(a, &t, 2000, &fd), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(a), "max_fence_waiters_per_client"), "%s", gpucmd_last_error(a));
	for (; n < 24; n++)
		must(b, gpucmd_fence_fd(b, &t, 1000 + n, &fds[n]), "fence_fd of another client within the uid's limit");
	ck_assert_int_eq(gpucmd_fence_fd(b, &t, 2000, &fd), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(b), "max_fence_waiters_per_uid"), "%s", gpucmd_last_error(b));
	ck_assert_int_eq(gpucmd_fence_wait(b, &t, 2000, 100000), -EMFILE);

	struct gpucmd_status st;
	must(a, gpucmd_status(a, &st), "status");
	uint32_t shown = 0;
	for (size_t i = 0; i < st.n_clients; i++)
		shown += st.client_list[i].fence_waiters;
	ck_assert_uint_eq(shown, 24);
	gpucmd_status_free(&st);
	another_client_is_served();
	/* Closing the session tells every waiter "never" and frees them all. */
	must(a, gpucmd_session_close(a, s), "close");
	must(a, gpucmd_ping(a), "ping");
	for (int i = 0; i < 24; i++) {
		struct pollfd p = {fds[i], POLLIN, 0};
		uint64_t v;
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		ck_assert_int_eq(read(fds[i], &v, 8), 8);
		ck_assert_uint_eq(v, 2);
		close(fds[i]);
	}
	gpucmd_disconnect(a);
	gpucmd_disconnect(b);
	expect_baseline(base);
}
END_TEST

/* Hole 6: a handle is a slot and a 12-bit generation; after 4,095 reuses
 * of one slot a freed handle named the new object. A slot whose generations
 * are spent is retired instead. */
START_TEST(handles_never_name_a_later_object)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer old, b;
	must(c, gpucmd_buffer_create(c, 256, 0, &old), "create");
	must(c, gpucmd_buffer_free(c, old), "free");
	for (int i = 0; i < 4200; i++) {
		must(c, gpucmd_buffer_create(c, 256, 0, &b), "create");
		ck_assert_msg(b != old, "cycle %d: a new buffer got the freed handle %u", i, old);
		if (i < 4199)
			must(c, gpucmd_buffer_free(c, b), "free");
	}
	uint32_t w;
	ck_assert_int_eq(gpucmd_buffer_read(c, old, 0, &w, 4), -ENOENT);

	gpucmd_session so, s;
	must(c, gpucmd_session_open(c, "old", &so), "open");
	must(c, gpucmd_session_close(c, so), "close");
	for (int i = 0; i < 4200; i++) {
		must(c, gpucmd_session_open(c, "s", &s), "open");
		ck_assert_msg(s != so, "cycle %d: a new session got the closed handle %u", i, so);
		if (i < 4199)
			must(c, gpucmd_session_close(c, s), "close");
	}
	struct gpucmd_session_state st;
	ck_assert_int_eq(gpucmd_session_query(c, so, &st), -ENOENT);

	gpucmd_graph go, g;
	struct gpucmd_graph_info gi;
	must(c, gpucmd_capture_begin(c, s), "capture");
	must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 1), "fill");
	must(c, gpucmd_capture_end(c, s, &go, &gi), "capture end");
	must(c, gpucmd_graph_free(c, go), "graph free");
	for (int i = 0; i < 4200; i++) {
		must(c, gpucmd_capture_begin(c, s), "capture");
		must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 1), "fill");
		must(c, gpucmd_capture_end(c, s, &g, &gi), "capture end");
		ck_assert_msg(g != go, "cycle %d: a new graph got the freed handle %u", i, go);
		must(c, gpucmd_graph_free(c, g), "graph free");
	}
	ck_assert_int_eq(gpucmd_graph_free(c, go), -ENOENT);
	gpucmd_disconnect(c);
}
END_TEST

/* Partial frames: each connection could hold a frame of nearly max_frame
 * in the making, with no bound in total. Frames over 64 KiB now take their
 * room from max_input_bytes (and max_input_bytes_per_uid) before they are
 * read; the rest wait, unread, and small requests go on. */
START_TEST(partial_frames_are_bounded_in_total)
{
	launch_measured("[limits]\nmax_input_bytes = 16M\n");
	uint64_t before = daemon_rss_kib();
	enum { CONNS = 24 };
	int fds[CONNS];
	uint32_t len = GW_DEFAULT_MAX_FRAME - 16;
	uint8_t *frame = calloc(1, GW_HEADER + len);
	memcpy(frame, &len, 4); /* little-endian hosts only, like the daemon */
	size_t sent[CONNS] = {0};
	for (int i = 0; i < CONNS; i++) {
		struct raw r;
		raw_open(&r);
		fds[i] = r.fd;
		gw_reader_finish(&r.in);
	}
	/* Push all but the last byte of each, as far as the daemon takes them,
	 * until nothing more goes for 300 ms. */
	for (int idle = 0; idle < 30;) {
		bool moved = false;
		for (int i = 0; i < CONNS; i++) {
			size_t left = GW_HEADER + len - 1 - sent[i];
			ssize_t n = left ? send(fds[i], frame + sent[i], left, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
			if (n > 0) {
				sent[i] += (size_t)n;
				moved = true;
			}
		}
		idle = moved ? 0 : idle + 1;
		usleep(10000);
	}
	another_client_is_served();
	uint64_t after = daemon_rss_kib();
	ck_assert_msg(after < before + (under_tsan() ? 4 : 1) * 40 * 1024, "daemon RSS grew from %llu to %llu KiB for partial frames",
		      (unsigned long long)before, (unsigned long long)after);
	for (int i = 0; i < CONNS; i++)
		close(fds[i]);
	free(frame);
	/* Their room is free again: a large write goes through. */
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	uint8_t *data = calloc(1, 3u << 20);
	must(c, gpucmd_buffer_create(c, 3u << 20, 0, &b), "create");
	must(c, gpucmd_buffer_write(c, b, 0, data, 3u << 20), "write");
	free(data);
	gpucmd_disconnect(c);
}
END_TEST

/* An fd belongs to the message it came with: one sent with the first
 * bytes of a ping cannot be taken by the shared-buffer request after it. */
START_TEST(fds_belong_to_the_message_they_came_with)
{
	struct raw r;
	raw_open(&r);
	int mfd = memfd_create("stray", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_eq(ftruncate(mfd, 1 << 16), 0);
	ck_assert_int_eq(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request ping = GPUCMD__REQUEST__INIT;
	ping.body_case = GPUCMD__REQUEST__BODY_PING;
	ping.ping = &p;
	raw_send_fd(&r, &ping, mfd, 3);
	close(mfd);
	Gpucmd__BufferCreateShared cs = GPUCMD__BUFFER_CREATE_SHARED__INIT;
	cs.size = 1 << 16;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED;
	req.buffer_create_shared = &cs;
	/* The daemon may have closed the connection already: no SIGPIPE. */
	req.id = ++r.id;
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_pack(&b, &req.base, GW_DEFAULT_MAX_FRAME), 0);
	(void)!send(r.fd, b.data, b.len, MSG_NOSIGNAL);
	gw_buf_finish(&b);
	char err[256] = "";
	int st = raw_wait(&r, ping.id, err, sizeof(err));
	if (st == 0)
		st = raw_wait(&r, req.id, err, sizeof(err));
	ck_assert_msg(st != 0 && strstr(err, "file descriptor") && strstr(err, "ping"),
		      "an fd sent with a ping was taken by a later request: %d '%s'", st, err);
	raw_close(&r);
	another_client_is_served();
}
END_TEST

/* Tokens: every export used to add one to a daemon-wide table, without
 * bound. Exporting an object again now gives the token it already has. */
START_TEST(exporting_again_gives_the_same_token)
{
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	gpucmd_token first, t;
	must(c, gpucmd_buffer_create(c, 256, 0, &b), "create");
	must(c, gpucmd_session_open(c, "s", &s), "open");
	must(c, gpucmd_buffer_export(c, b, &first), "export");
	for (int i = 0; i < 1000; i++) {
		must(c, gpucmd_buffer_export(c, b, &t), "export");
		ck_assert_msg(memcmp(&t, &first, sizeof(t)) == 0, "export %d gave a new token", i);
	}
	must(c, gpucmd_fence_export(c, s, &first), "fence export");
	must(c, gpucmd_fence_export(c, s, &t), "fence export");
	ck_assert(memcmp(&t, &first, sizeof(t)) == 0);
	gpucmd_disconnect(c);
}
END_TEST

/* A stage grew without bound: every streamed command went into one
 * command buffer (the driver's memory) and every residency change into a
 * staged list until the commit. Both are bounded; the stage fails saying
 * which bound, and the session goes on after a reset. */
START_TEST(a_stage_holds_a_bounded_number_of_commands)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_commands_per_stage = 100\n"});
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session s;
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	must(c, gpucmd_session_open(c, "long", &s), "open");
	for (int i = 0; i < 101; i++)
		must(c, gpucmd_buffer_fill(c, s, b, 0, 0, (uint32_t)i), "fill");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -E2BIG);
	ck_assert_msg(strstr(gpucmd_last_error(c), "max_commands_per_stage"), "%s", gpucmd_last_error(c));
	for (int i = 0; i < 65537; i++)
		must(c, gpucmd_residency_add(c, s, b), "residency");
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -E2BIG);
	ck_assert_msg(strstr(gpucmd_last_error(c), "residency"), "%s", gpucmd_last_error(c));
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, gpucmd_buffer_fill(c, s, b, 0, 0, 7), "fill");
	must(c, gpucmd_commit_and_wait(c, s), "a stage within the bounds");
	uint32_t w;
	must(c, gpucmd_buffer_read(c, b, 0, &w, 4), "read");
	ck_assert_uint_eq(w, 7);
	gpucmd_disconnect(c);
}
END_TEST

/* A replay that records its graph again is refused whole when the stage
 * cannot take all of it: node by node, a 30-byte request kept the loop
 * visiting up to a million nodes, failing each past the bound. */
START_TEST(a_replay_the_stage_cannot_take_is_refused_whole)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_commands_per_stage = 100\n"});
	gpucmd_client *c = connect_ok();
	gpucmd_buffer a, b;
	gpucmd_session s;
	gpucmd_graph g;
	must(c, gpucmd_buffer_create(c, 4096, 0, &a), "create");
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	must(c, gpucmd_session_open(c, "replays", &s), "open");
	must(c, gpucmd_capture_begin(c, s), "capture");
	for (int i = 0; i < 60; i++)
		must(c, gpucmd_buffer_fill(c, s, a, 0, 4, (uint32_t)i), "fill");
	must(c, gpucmd_capture_end(c, s, &g, NULL), "capture_end");
	struct gpucmd_graph_rebind rb = {0, b};
	must(c, gpucmd_graph_replay(c, s, g, NULL, 0, &rb, 1), "replay");
	must(c, gpucmd_graph_replay(c, s, g, NULL, 0, &rb, 1), "replay");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, s), -E2BIG);
	ck_assert_msg(strstr(gpucmd_last_error(c), "graph replay: its 60 commands recorded again would make the stage "
				 "hold 120, over max_commands_per_stage (100)"), "%s", gpucmd_last_error(c));
	uint32_t w;
	must(c, gpucmd_buffer_read(c, b, 0, &w, 4), "read");
	ck_assert_uint_eq(w, 59);
	gpucmd_disconnect(c);
}
END_TEST

/* n sessions opened, their fence exported (a timeline semaphore) and
 * closed, with no work submitted. */
static void fenced_sessions(gpucmd_client *c, int n)
{
	for (int i = 0; i < n; i++) {
		gpucmd_session s;
		gpucmd_token t;
		must(c, gpucmd_session_open(c, "fenced", &s), "open");
		must(c, gpucmd_fence_export(c, s, &t), "export");
		must(c, gpucmd_session_close(c, s), "close");
	}
}

/* A closed session's fence semaphore is destroyed once a later submission
 * retires (lavapipe may still signal it when its own value is seen), and
 * kept were destroyed only as submissions retired: on an idle device a
 * client closing fenced sessions in a loop piled them up without bound
 * (5 MiB per 20,000 on lavapipe). Now they go at once where nothing is in
 * flight, or after an empty submission where one queue serves both
 * tracks. On the main loop, and on the HIGH shard. */
START_TEST(fence_semaphores_of_closed_sessions_go_on_an_idle_device)
{
	launch_measured(NULL);
	gpucmd_client *c = _i ? connect_high() : connect_ok();
	const int n = under_tsan() ? 4000 : 20000;
	fenced_sessions(c, 2000);
	uint64_t before = daemon_rss_kib();
	fenced_sessions(c, n);
	uint64_t after = daemon_rss_kib();
	ck_assert_msg(after < before + 1024, "daemon RSS grew from %llu to %llu KiB for %d fenced sessions closed",
		      (unsigned long long)before, (unsigned long long)after, n);
	another_client_is_served();
	gpucmd_disconnect(c);
}
END_TEST

/* n new sessions, each committing one stage of `fills` fills, left open. */
static void sessions_after_a_long_stage(gpucmd_client *c, gpucmd_buffer b, int n, int fills)
{
	for (int i = 0; i < n; i++) {
		gpucmd_session s;
		must(c, gpucmd_session_open(c, "long once", &s), "open");
		for (int j = 0; j < fills; j++)
			must(c, gpucmd_buffer_fill(c, s, b, 0, 4, (uint32_t)j), "fill");
		must(c, gpucmd_commit_and_wait(c, s), "commit");
	}
}

/* A session kept each retired command buffer for reuse with all it had
 * recorded (lavapipe's commands, descriptor pools) until the session
 * closed: idle sessions each held the largest stage they ever ran, 22 MiB
 * for 50,000 fills, so 32 of them held 700 MiB. A command buffer of more
 * than GD_SPARE_MAX_COMMANDS is now freed at retirement, and a session
 * keeps at most GD_SPARES_MAX. */
START_TEST(idle_sessions_do_not_keep_their_largest_stage)
{
	launch_measured(NULL);
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	const int fills = 20000, n = under_tsan() ? 4 : 8;
	sessions_after_a_long_stage(c, b, 2, fills);
	uint64_t before = daemon_rss_kib();
	sessions_after_a_long_stage(c, b, n, fills);
	uint64_t after = daemon_rss_kib();
	ck_assert_msg(after < before + 8 * 1024, "daemon RSS grew from %llu to %llu KiB for %d idle sessions",
		      (unsigned long long)before, (unsigned long long)after, n);
	another_client_is_served();
	gpucmd_disconnect(c);
}
END_TEST

/* Captures `fills` fills of b into a graph on session s: 0 and *g, or the
 * error capture_end reported. */
static int capture_fills(gpucmd_client *c, gpucmd_session s, gpucmd_buffer b, int fills, gpucmd_graph *g)
{
	must(c, gpucmd_capture_begin(c, s), "capture");
	for (int i = 0; i < fills; i++)
		must(c, gpucmd_buffer_fill(c, s, b, 0, 4, (uint32_t)i), "fill");
	return gpucmd_capture_end(c, s, g, NULL);
}

/* Graphs were bounded in number (4096) but not in size: each could keep a
 * million captured commands (over 500 bytes of the daemon's memory each,
 * and the driver's command buffer), so one connection could hold
 * terabytes. A connection's graphs and captures now hold at most
 * max_graph_commands_per_client commands in all, counted until a graph is
 * freed by every connection that imported it; other connections are not
 * limited by it. */
START_TEST(graph_commands_are_bounded_per_connection)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_graph_commands_per_client = 100\n"});
	gpucmd_client *c = connect_ok(), *v = connect_ok();
	gpucmd_buffer b, vb;
	gpucmd_session s, vs;
	gpucmd_graph g, more, imported;
	gpucmd_token tok;
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	must(c, gpucmd_session_open(c, "captures", &s), "open");
	must(c, capture_fills(c, s, b, 60, &g), "a graph of 60");
	ck_assert_int_eq(capture_fills(c, s, b, 60, &more), -EDQUOT);
	ck_assert_msg(strstr(gpucmd_last_error(c), "buffer fill: this connection's graphs and captures hold 100 "
				 "commands, the most max_graph_commands_per_client allows"), "%s", gpucmd_last_error(c));
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(c, capture_fills(c, s, b, 40, &more), "a graph of the 40 left");
	must(c, gpucmd_graph_free(c, more), "free");
	/* Imported elsewhere, a freed graph still counts on its maker. */
	must(c, gpucmd_graph_export(c, g, &tok), "export");
	must(v, gpucmd_graph_import(v, &tok, &imported, NULL), "import");
	must(c, gpucmd_graph_free(c, g), "free");
	ck_assert_int_eq(capture_fills(c, s, b, 41, &more), -EDQUOT);
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	must(v, gpucmd_buffer_create(v, 4096, 0, &vb), "create");
	must(v, gpucmd_session_open(v, "other", &vs), "open");
	must(v, capture_fills(v, vs, vb, 100, &more), "another connection's own 100");
	struct gpucmd_graph_rebind rb = {0, vb};
	must(v, gpucmd_graph_replay(v, vs, imported, NULL, 0, &rb, 1), "replay");
	must(v, gpucmd_commit_and_wait(v, vs), "commit");
	uint32_t w;
	must(v, gpucmd_buffer_read(v, vb, 0, &w, 4), "read");
	ck_assert_uint_eq(w, 59);
	must(v, gpucmd_graph_free(v, imported), "free the import");
	must(c, capture_fills(c, s, b, 100, &more), "all 100 once the graph is gone");
	gpucmd_disconnect(v);
	gpucmd_disconnect(c);
}
END_TEST

/* A graph keeps every kernel it dispatches alive, after kernel_unregister
 * too, uncounted: registering a kernel, capturing one dispatch of it and
 * unregistering it, a connection kept a program (up to 1 MiB of SPIR-V,
 * its specialized module and pipeline) per graph, 4096 of them. A kernel
 * a graph keeps now counts against max_graph_commands_per_client, one
 * command per 512 bytes of its SPIR-V, as sent and as specialized. */
START_TEST(kernels_kept_by_graphs_count_against_their_commands)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_graph_commands_per_client = 100\n"});
	gpucmd_client *c = connect_ok();
	size_t size;
	uint32_t *words = (uint32_t *)read_spv("negate", &size);
	const uint32_t each = 1 + (uint32_t)(size / 512);
	gpucmd_buffer b[2];
	for (int i = 0; i < 2; i++)
		must(c, gpucmd_buffer_create(c, 4096, 0, &b[i]), "create");
	struct gpucmd_binding bind[2] = {{b[0], 0, 0}, {b[1], 0, 0}};
	gpucmd_session s;
	must(c, gpucmd_session_open(c, "graphs", &s), "open");
	gpucmd_graph g[64];
	int made = 0, r = 0;
	char err[256] = "";
	while (made < 64) {
		char name[32];
		snprintf(name, sizeof(name), "kept_%d", made);
		words[2] = 0x10000u + (uint32_t)made; /* the generator word: other bytes, another program */
		struct gpucmd_kernel_info k;
		must(c, gpucmd_kernel_register(c, name, words, size, &k), "register");
		uint32_t n = 1024;
		must(c, gpucmd_capture_begin(c, s), "capture");
		must(c, gpucmd_dispatch(c, s, k.id, bind, 2, &n, 4, 16, 1, 1), "dispatch");
		r = gpucmd_capture_end(c, s, &g[made], NULL);
		snprintf(err, sizeof(err), "%s", gpucmd_last_error(c));
		must(c, gpucmd_kernel_unregister(c, k.id), "unregister");
		if (r < 0)
			break;
		made++;
	}
	ck_assert_int_eq(r, -EDQUOT);
	/* Each graph counts its dispatch and at least its kernel's bytes as
	 * sent (the daemon's specialized module counts too). */
	ck_assert_msg(made >= 1 && made <= (int)(100 / each), "%d graphs of %u commands each or more", made, each);
	ck_assert_msg(strstr(err, "max_graph_commands_per_client allows (a kernel a graph keeps"), "%s", err);
	must(c, gpucmd_reset_for_next_stage(c, s), "reset");
	for (int i = 0; i < made; i++)
		must(c, gpucmd_graph_free(c, g[i]), "free");
	gpucmd_graph more;
	must(c, capture_fills(c, s, b[0], 100, &more), "all 100 once the graphs are gone");
	free(words);
	gpucmd_disconnect(c);
}
END_TEST

/* Stages held back for a fence no one has signalled did not count against
 * anything: a session waiting for one could commit stages (each a command
 * buffer) without end. Now a connection's held ones are bounded, a commit
 * past the bound fails naming it, and a stage that would not be held (the
 * one that signals the fence) still goes. */
START_TEST(stages_held_for_a_fence_are_bounded_per_connection)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_held_per_client = 4\n"});
	gpucmd_client *c = connect_ok();
	gpucmd_buffer b;
	gpucmd_session sig, w, other;
	gpucmd_token tok;
	must(c, gpucmd_buffer_create(c, 4096, 0, &b), "create");
	must(c, gpucmd_session_open(c, "signaller", &sig), "open");
	must(c, gpucmd_session_open(c, "waiter", &w), "open");
	must(c, gpucmd_session_open(c, "other", &other), "open");
	must(c, gpucmd_fence_export(c, sig, &tok), "export");
	must(c, gpucmd_wait_fence(c, w, &tok, 1), "wait_fence");
	for (uint32_t i = 1; i <= 4; i++) {
		must(c, gpucmd_buffer_fill(c, w, b, 0, 4, i), "fill");
		must(c, gpucmd_commit_stage(c, w), "commit");
		must(c, gpucmd_reset_for_next_stage(c, w), "reset");
		must(c, gpucmd_ping(c), "ping");
	}
	struct gpucmd_session_state st;
	must(c, gpucmd_session_query(c, w, &st), "query");
	ck_assert_uint_eq(st.completed, 0);
	must(c, gpucmd_buffer_fill(c, w, b, 0, 4, 5), "fill");
	ck_assert_int_eq(gpucmd_commit_and_wait(c, w), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(c), "4 command buffers of this connection wait for fences not yet "
				 "signalled, the most max_held_per_client allows"), "%s", gpucmd_last_error(c));
	/* Work that is not held goes on; the signal releases the four. */
	must(c, gpucmd_buffer_fill(c, other, b, 4, 4, 9), "fill");
	must(c, gpucmd_commit_and_wait(c, other), "a stage that waits for nothing");
	must(c, gpucmd_buffer_fill(c, sig, b, 8, 4, 1), "fill");
	must(c, gpucmd_fence_stage(c, sig, "signal"), "fence_stage");
	must(c, gpucmd_fence_wait(c, &tok, 1, 10000), "fence_wait");
	must(c, gpucmd_commit_and_wait(c, w), "the refused stage, once the others were submitted");
	uint32_t got[3];
	must(c, gpucmd_buffer_read(c, b, 0, got, sizeof(got)), "read");
	ck_assert_uint_eq(got[0], 5);
	ck_assert_uint_eq(got[1], 9);
	ck_assert_uint_eq(got[2], 1);
	gpucmd_disconnect(c);
}
END_TEST

/* Kernel builds share the daemon's few worker threads: one uid may hold
 * max_kernel_builds_per_uid of them, and its further registrations wait
 * (the connection unread) instead of queueing without bound. Six
 * processes register six different builds with room for one at a time:
 * each gets its kernel, none is refused, nothing is left behind. */
START_TEST(kernel_builds_of_one_uid_wait_their_turn)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_kernel_builds_per_uid = 1\n"});
	int base = daemon_base_fds();
	size_t len;
	uint8_t *spv = read_spv("spec_block", &len);
	pid_t kids[6];
	for (int i = 0; i < 6; i++) {
		kids[i] = fork();
		ck_assert_int_ge(kids[i], 0);
		if (kids[i] == 0) {
			gpucmd_client *c = gpucmd_connect(test_daemon.socket);
			struct gpucmd_spec_constant k = {.id = 1, .type = GPUCMD_SPEC_FLOAT32, .value.f32 = 1.5f + (float)i};
			struct gpucmd_kernel_options o = {.constants = &k, .n_constants = 1};
			struct gpucmd_kernel_info info;
			int r = c ? gpucmd_kernel_register_with(c, "scaled", spv, len, &o, &info) : -1;
			if (r < 0)
				fprintf(stderr, "child %d: %s\n", i, gpucmd_last_error(c));
			gpucmd_disconnect(c);
			_exit(r < 0);
		}
	}
	for (int i = 0; i < 6; i++) {
		int st;
		ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "registration %d failed", i);
	}
	free(spv);
	expect_baseline(base);
}
END_TEST

static int token_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(gpucmd_token));
}

/* Tokens by the ten thousand: the table of tokens was a list, so one
 * client's 65,536 exports kept the loop busy 39 s on lavapipe (each looked
 * through all before it) and every client's buffer free afterwards looked
 * through them all, under the lock both shards take. It is two hashes now
 * (model/token.h): the exports fit this tcase's 30 s with room to spare,
 * and each is a distinct token another client imports and reads, a free
 * revokes that token alone, and a disconnect all of them. */
START_TEST(tokens_by_the_ten_thousand)
{
	const int n = under_tsan() ? 4096 : 65536, step = 4096;
	gpucmd_client *a = connect_ok(), *v = connect_ok();
	gpucmd_buffer *b = calloc((size_t)n, sizeof(*b)), got;
	gpucmd_token *t = calloc((size_t)n, sizeof(*t)), *sorted = calloc((size_t)n, sizeof(*t)), again;
	ck_assert(b && t && sorted);
	for (int i = 0; i < n; i++) {
		must(a, gpucmd_buffer_create(a, 256, 0, &b[i]), "create");
		if (i % step == 0)
			must(a, gpucmd_buffer_write(a, b[i], 0, &i, sizeof(i)), "write");
		must(a, gpucmd_buffer_export(a, b[i], &t[i]), "export");
	}
	memcpy(sorted, t, (size_t)n * sizeof(*t));
	qsort(sorted, (size_t)n, sizeof(*t), token_cmp);
	for (int i = 1; i < n; i++)
		ck_assert_msg(token_cmp(&sorted[i - 1], &sorted[i]) != 0, "two exports got one token");
	for (int i = 0; i < n; i += step) {
		int w = -1;
		must(v, gpucmd_buffer_import(v, &t[i], &got), "import");
		must(v, gpucmd_buffer_read(v, got, 0, &w, sizeof(w)), "read");
		ck_assert_int_eq(w, i);
	}
	must(a, gpucmd_buffer_export(a, b[1], &again), "export again");
	ck_assert(token_cmp(&again, &t[1]) == 0);
	must(a, gpucmd_buffer_free(a, b[0]), "free");
	ck_assert_int_eq(gpucmd_buffer_import(v, &t[0], &got), -ENOENT);
	must(v, gpucmd_buffer_import(v, &t[1], &got), "import the next");
	gpucmd_disconnect(a);
	int r = 0; /* the daemon sees the hang-up when it next reads */
	for (int i = 0; i < 10000 && (r = gpucmd_buffer_import(v, &t[n - 1], &got)) == 0; i++) {
		must(v, gpucmd_buffer_free(v, got), "free the import");
		usleep(1000);
	}
	ck_assert_int_eq(r, -ENOENT);
	another_client_is_served();
	gpucmd_disconnect(v);
	free(b);
	free(t);
	free(sorted);
}
END_TEST

TCase *isolation_tcase(void)
{
	TCase *t = tcase_create("isolation");
	tcase_add_checked_fixture(t, NULL, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, max_clients_has_a_default_from_the_fd_limit);
	tcase_add_test(t, memory_query_with_ten_thousand_connections);
	tcase_add_test(t, connections_that_never_say_hello_are_bounded_and_timed_out);
	tcase_add_test(t, fence_waiters_are_limited_per_client_and_uid);
	tcase_add_test(t, partial_frames_are_bounded_in_total);
	tcase_add_test(t, replies_a_client_never_reads_are_bounded);
	tcase_add_test(t, a_stage_holds_a_bounded_number_of_commands);
	tcase_add_test(t, stages_held_for_a_fence_are_bounded_per_connection);
	tcase_add_test(t, a_replay_the_stage_cannot_take_is_refused_whole);
	tcase_add_test(t, graph_commands_are_bounded_per_connection);
	tcase_add_test(t, kernels_kept_by_graphs_count_against_their_commands);
	tcase_add_loop_test(t, fence_semaphores_of_closed_sessions_go_on_an_idle_device, 0, 2);
	tcase_add_test(t, idle_sessions_do_not_keep_their_largest_stage);
	tcase_add_test(t, kernel_builds_of_one_uid_wait_their_turn);
	return t;
}

TCase *isolation_default_tcase(void)
{
	TCase *t = tcase_create("isolation_default");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, fence_fd_never_blocks_the_daemon);
	tcase_add_loop_test(t, abandoned_fence_fails_only_the_stages_that_waited_on_it, 0, 2);
	tcase_add_test(t, handles_never_name_a_later_object);
	tcase_add_test(t, fds_belong_to_the_message_they_came_with);
	tcase_add_test(t, exporting_again_gives_the_same_token);
	return t;
}

TCase *isolation_tokens_tcase(void)
{
	TCase *t = tcase_create("isolation_tokens");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 30);
	tcase_add_test(t, tokens_by_the_ten_thousand);
	return t;
}
