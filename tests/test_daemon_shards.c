/*
 * test_daemon_shards.c — the HIGH shard (docs/SHARDS.md): a client that
 * asks for high priority at its handshake is served by a second loop
 * thread, which shares the device, memory, kernels, per-uid accounts and
 * tokens with the main loop. These tests check that it is served there and
 * computes right, that who may ask is checked, that what is shared stays
 * one (per-uid limits, identical client kernels) and what is not is refused
 * with a reason (tokens between shards), and that a killed, evicted or
 * stopping HIGH client and a device loss on either shard leave nothing
 * behind. With `make test-tsan` a race between the two threads fails them.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define N 1024

/* The shard serving client number id, from a status report; -1 when not listed. */
static int shard_of(gpucmd_client *asker, uint32_t id, struct gpucmd_status *st)
{
	must(asker, gpucmd_status(asker, st), "status");
	int shard = -1;
	for (size_t i = 0; i < st->n_clients; i++)
		if (st->client_list[i].client == id)
			shard = (int)st->client_list[i].shard;
	return shard;
}

/* This connection's number, as the daemon counts. */
static uint32_t own_id(gpucmd_client *c)
{
	struct gpucmd_status st;
	must(c, gpucmd_status(c, &st), "status");
	uint32_t id = st.self;
	gpucmd_status_free(&st);
	return id;
}

/* a + b through a HIGH session, checked. */
static void high_add(gpucmd_client *c, unsigned seed)
{
	float a[N], b[N], out[N];
	random_floats(a, N, seed);
	random_floats(b, N, seed + 1);
	ck_assert_int_eq(run_binary_kernel(c, "add_f32", a, b, out, N), 0);
	for (int i = 0; i < N; i++)
		ck_assert(out[i] == a[i] + b[i]);
}

/* A HIGH client is served on shard 1, others on shard 0; both compute
 * right at once, the status report lists both with their shard, sums the
 * two shards' counters and says two shards serve. */
START_TEST(high_client_is_served_by_the_high_shard)
{
	gpucmd_client *h = connect_high(), *bulk = connect_ok(), *asker = connect_ok();
	struct job_kit hk = job_kit_open(h, "fill_f32", N * sizeof(float), "high");
	must(h, gpucmd_session_close(h, hk.s), "session_close");
	must(h, gpucmd_session_open_priority(h, "high", GPUCMD_PRIORITY_HIGH, &hk.s), "session_open");
	struct { uint32_t n; float v; } fp = {N, 3.0f};
	struct gpucmd_binding bind = {hk.b, 0, 0};
	for (int i = 0; i < 20; i++) {
		must(h, gpucmd_dispatch(h, hk.s, hk.k.id, &bind, 1, &fp, sizeof(fp), N / 256, 1, 1), "dispatch");
		must(h, gpucmd_commit_and_wait(h, hk.s), "commit_and_wait");
		must(h, gpucmd_reset_for_next_stage(h, hk.s), "reset");
		high_add(bulk, (unsigned)i);
	}
	float out[N];
	must(h, gpucmd_buffer_read(h, hk.b, 0, out, sizeof(out)), "read");
	for (int i = 0; i < N; i++)
		ck_assert(out[i] == 3.0f);
	struct gpucmd_status st;
	ck_assert_int_eq(shard_of(asker, own_id(h), &st), 1);
	ck_assert_uint_eq(st.shards, 2);
	ck_assert_uint_eq(st.clients, 3);
	ck_assert_uint_ge(st.priorities[GPUCMD_PRIORITY_HIGH].round_trips, 20);
	ck_assert_uint_ge(st.live_buffers, 1);
	gpucmd_status_free(&st);
	ck_assert_int_eq(shard_of(asker, own_id(bulk), &st), 0);
	gpucmd_status_free(&st);
	/* The HIGH client's own report sees the bulk clients too. */
	ck_assert_int_eq(shard_of(h, own_id(asker), &st), 0);
	ck_assert_uint_eq(st.clients, 3);
	gpucmd_status_free(&st);
	struct gpucmd_info info;
	must(h, gpucmd_info(h, &info), "info");
	ck_assert_uint_eq(info.clients, 3);
	gpucmd_disconnect(h);
	gpucmd_disconnect(bulk);
	gpucmd_disconnect(asker);
}
END_TEST

/* The shard serving the connection named `name`, -1 when none is. */
static int shard_named(const char *name)
{
	gpucmd_client *asker = connect_ok();
	struct gpucmd_status st;
	must(asker, gpucmd_status(asker, &st), "status");
	int shard = -1;
	for (size_t i = 0; i < st.n_clients; i++)
		if (strcmp(st.client_list[i].name, name) == 0)
			shard = (int)st.client_list[i].shard;
	gpucmd_status_free(&st);
	gpucmd_disconnect(asker);
	return shard;
}

/* The handshake, the requests pipelined behind it and the descriptors of
 * none all move with the connection: a raw client sends its HIGH hello and
 * two pings in one write; all three are answered, in order. */
/* A raw connection that sends a HIGH hello named `name` (request 1) and
 * `pings` pings (2, 3, ...) in one write, answers unread. */
static struct raw raw_high_hello(const char *name, uint64_t pings)
{
	int fd = raw_connect();
	ck_assert_int_ge(fd, 0);
	struct gw_buf b = {0};
	Gpucmd__Hello h = GPUCMD__HELLO__INIT;
	h.protocol_version = GPUCMD_PROTOCOL_VERSION;
	h.client_name = (char *)name;
	h.priority = GPUCMD__PRIORITY__PRIORITY_HIGH;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.id = 1;
	req.body_case = GPUCMD__REQUEST__BODY_HELLO;
	req.hello = &h;
	ck_assert_int_eq(gw_pack(&b, &req.base, GW_DEFAULT_MAX_FRAME), 0);
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	for (uint64_t id = 2; id <= 1 + pings; id++) {
		Gpucmd__Request ping = GPUCMD__REQUEST__INIT;
		ping.id = id;
		ping.body_case = GPUCMD__REQUEST__BODY_PING;
		ping.ping = &p;
		ck_assert_int_eq(gw_pack(&b, &ping.base, GW_DEFAULT_MAX_FRAME), 0);
	}
	ck_assert_int_eq(write(fd, b.data, b.len), (ssize_t)b.len);
	gw_buf_finish(&b);
	struct raw r = {.fd = fd, .id = 1 + pings};
	gw_reader_init(&r.in, GW_DEFAULT_MAX_FRAME);
	return r;
}

START_TEST(requests_sent_behind_the_handshake_move_with_it)
{
	struct raw r = raw_high_hello("raw-high", 2);
	for (uint64_t id = 1; id <= 3; id++)
		ck_assert_int_eq(raw_wait(&r, id, NULL, 0), 0);
	ck_assert_int_eq(shard_named("raw-high"), 1);
	raw_close(&r);
}
END_TEST

/* Only the first handshake hands a connection over: one that greeted as a
 * bulk client and made a buffer stays where its objects are when it says
 * hello again asking for high priority. */
START_TEST(a_later_handshake_does_not_move_a_connection)
{
	struct raw r;
	raw_open(&r);
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = 4096;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	req.buffer_create = &bc;
	ck_assert_int_eq(raw_call(&r, &req, NULL, 0), 0);
	Gpucmd__Hello h = GPUCMD__HELLO__INIT;
	h.protocol_version = GPUCMD_PROTOCOL_VERSION;
	h.client_name = "raw-again";
	h.priority = GPUCMD__PRIORITY__PRIORITY_HIGH;
	Gpucmd__Request hello = GPUCMD__REQUEST__INIT;
	hello.body_case = GPUCMD__REQUEST__BODY_HELLO;
	hello.hello = &h;
	ck_assert_int_eq(raw_call(&r, &hello, NULL, 0), 0);
	ck_assert_int_eq(shard_named("raw-again"), 0);
	struct gpucmd_info info;
	gpucmd_client *c = connect_ok();
	must(c, gpucmd_info(c, &info), "info");
	ck_assert_uint_eq(info.live_buffers, 1);
	gpucmd_disconnect(c);
	raw_close(&r);
}
END_TEST

/* Connects asking for high priority (as_nobody's fn). */
static int connect_high_as(void *arg, char *msg, size_t len)
{
	(void)arg;
	gpucmd_client *c = gpucmd_connect_priority(test_daemon.socket, GPUCMD_PRIORITY_HIGH);
	snprintf(msg, len, "%s", gpucmd_last_error(NULL));
	gpucmd_disconnect(c);
	return c ? 0 : -EPERM;
}

/* Asking for high priority at the handshake is for those who may open
 * HIGH sessions: anyone else is refused with who may. */
START_TEST(high_handshake_is_for_those_who_may)
{
	if (!open_daemon_to_nobody())
		return;
	char msg[600];
	ck_assert_int_eq(as_nobody(connect_high_as, NULL, msg, sizeof(msg)), -EPERM);
	ck_assert_msg(strstr(msg, "hello: uid 65534 may not ask for high priority") && strstr(msg, "high_users"),
		      "%s", msg);
}
END_TEST

/* A status flood (as_nobody's fn): `sessions` sessions opened on each of
 * `clients` connections of the flooder's own first (a status lists the
 * asker's own clients), then `n` status requests back to back; returns the
 * milliseconds those took, or -1 on a failure. */
struct flood {
	int n, clients, sessions;
};

static int status_flood(void *arg, char *msg, size_t len)
{
	const struct flood *f = arg;
	gpucmd_client *c = gpucmd_connect(test_daemon.socket), *own[32] = {NULL};
	int r = c && f->clients <= 32 ? 0 : -1;
	for (int i = 0; i < f->clients && r == 0; i++) {
		r = (own[i] = gpucmd_connect(test_daemon.socket)) ? 0 : -1;
		for (int j = 0; j < f->sessions && r == 0; j++) {
			gpucmd_session s;
			r = gpucmd_session_open(own[i], "idle", &s);
		}
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < f->n && r == 0; i++) {
		struct gpucmd_status st;
		if ((r = gpucmd_status(c, &st)) == 0)
			gpucmd_status_free(&st);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(msg, len, "%s", gpucmd_last_error(c));
	for (int i = 0; i < f->clients; i++)
		gpucmd_disconnect(own[i]);
	gpucmd_disconnect(c);
	return r ? -1 : (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
}

/* A client that is no administrator cannot keep the HIGH shard stopped:
 * its status requests, each of which stops the other loop to read it,
 * stop it at most once every GD_PARK_INTERVAL_MS (10 ms); the rest wait
 * their turn and are all answered. */
START_TEST(status_flood_parks_the_high_shard_seldom)
{
	if (!open_daemon_to_nobody())
		return;
	gpucmd_client *h = connect_high(), *root = connect_ok();
	struct gpucmd_status st;
	must(root, gpucmd_status(root, &st), "status");
	uint64_t before = st.parks;
	gpucmd_status_free(&st);
	struct flood f = {.n = 60};
	char msg[512];
	int ms = as_nobody(status_flood, &f, msg, sizeof(msg));
	ck_assert_msg(ms >= 0, "%s", msg);
	must(root, gpucmd_status(root, &st), "status");
	uint64_t parks = st.parks - before;
	gpucmd_status_free(&st);
	/* The flood's parks, the root's second status and one of slack. */
	ck_assert_msg(parks <= (uint64_t)ms / 10 + 3, "%llu parks in %d ms", (unsigned long long)parks, ms);
	ck_assert_uint_ge(parks, 2);
	high_add(h, 1);
	gpucmd_disconnect(root);
	gpucmd_disconnect(h);
}
END_TEST

/* However long a status takes to build, a flood of them by a client that
 * is no administrator holds the HIGH shard stopped about 1 % of the time
 * (GD_PARK_SHARE): a flooder with 20 connections of 500 sessions each
 * (a status lists the asker's own) parked it every 10 ms for 1.5 ms each,
 * 15 % of the time, on lavapipe. */
START_TEST(status_flood_of_a_big_client_parks_a_hundredth_of_the_time)
{
	if (!open_daemon_to_nobody())
		return;
	gpucmd_client *h = connect_high(), *root = connect_ok();
	struct gpucmd_status st;
	must(root, gpucmd_status(root, &st), "status");
	uint64_t parks = st.parks, us = st.parked_us;
	gpucmd_status_free(&st);
	struct flood f = {.n = 20, .clients = 20, .sessions = 500};
	char msg[512];
	int ms = as_nobody(status_flood, &f, msg, sizeof(msg));
	ck_assert_msg(ms >= 0, "%s", msg);
	must(root, gpucmd_status(root, &st), "status");
	parks = st.parks - parks;
	us = st.parked_us - us;
	gpucmd_status_free(&st);
	ck_assert_uint_ge(parks, (uint64_t)f.n);
	/* A hundredth, with room for a park longer than the one before it,
	 * and the root's two status requests (administrators are not held
	 * back). */
	uint64_t allowed = (uint64_t)ms * 15 + 3 * us / parks;
	ck_assert_msg(us <= allowed, "the HIGH shard was held stopped %llu µs in %d ms (%llu parks; allowed %llu µs)",
		      (unsigned long long)us, ms, (unsigned long long)parks, (unsigned long long)allowed);
	high_add(h, 1);
	gpucmd_disconnect(h);
	gpucmd_disconnect(root);
}
END_TEST

/* Per-uid limits hold over both shards: buffers and sessions of one uid
 * count together whichever loop serves the connection. */
START_TEST(per_uid_limits_span_both_shards)
{
	daemon_start((const char *const[]){"--max-buffers-per-uid", "3", "--max-sessions-per-uid", "2", NULL});
	gpucmd_client *bulk = connect_ok(), *h = connect_high();
	gpucmd_buffer b[3];
	gpucmd_session s[3];
	must(bulk, gpucmd_buffer_create(bulk, 4096, 0, &b[0]), "buffer_create");
	must(bulk, gpucmd_buffer_create(bulk, 4096, 0, &b[1]), "buffer_create");
	must(h, gpucmd_buffer_create(h, 4096, 0, &b[2]), "buffer_create");
	gpucmd_buffer extra;
	ck_assert_int_eq(gpucmd_buffer_create(h, 4096, 0, &extra), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(h), "max_buffers_per_uid"), "%s", gpucmd_last_error(h));
	ck_assert_int_eq(gpucmd_buffer_create(bulk, 4096, 0, &extra), -EMFILE);
	must(h, gpucmd_session_open(h, "h1", &s[0]), "session_open");
	must(h, gpucmd_session_open(h, "h2", &s[1]), "session_open");
	ck_assert_int_eq(gpucmd_session_open(bulk, "b1", &s[2]), -EMFILE);
	ck_assert_msg(strstr(gpucmd_last_error(bulk), "max_sessions_per_uid"), "%s", gpucmd_last_error(bulk));
	must(h, gpucmd_buffer_free(h, b[2]), "buffer_free");
	must(h, gpucmd_ping(h), "ping");
	must(bulk, gpucmd_buffer_create(bulk, 4096, 0, &extra), "buffer_create after a free on the other shard");
	gpucmd_disconnect(h);
	gpucmd_disconnect(bulk);
}
END_TEST

/* Objects pass by token only between clients of one shard: a HIGH
 * client importing a bulk client's buffer or fence is refused with the
 * reason; between two HIGH clients the token works. */
START_TEST(tokens_pass_within_a_shard_only)
{
	gpucmd_client *bulk = connect_ok(), *h = connect_high(), *h2 = connect_high();
	gpucmd_buffer bb, hb, got;
	gpucmd_token t;
	must(bulk, gpucmd_buffer_create(bulk, 4096, 0, &bb), "buffer_create");
	must(bulk, gpucmd_buffer_export(bulk, bb, &t), "buffer_export");
	ck_assert_int_eq(gpucmd_buffer_import(h, &t, &got), -EXDEV);
	ck_assert_msg(strstr(gpucmd_last_error(h), "other loop") && strstr(gpucmd_last_error(h), "same priority"),
		      "%s", gpucmd_last_error(h));
	gpucmd_session s;
	gpucmd_token ft;
	must(bulk, gpucmd_session_open(bulk, "fenced", &s), "session_open");
	must(bulk, gpucmd_fence_export(bulk, s, &ft), "fence_export");
	ck_assert_int_eq(gpucmd_fence_wait(h, &ft, 0, 0), -EXDEV);
	float v[N];
	random_floats(v, N, 9);
	must(h, gpucmd_buffer_create(h, sizeof(v), 0, &hb), "buffer_create");
	must(h, gpucmd_buffer_write(h, hb, 0, v, sizeof(v)), "buffer_write");
	must(h, gpucmd_buffer_export(h, hb, &t), "buffer_export");
	must(h2, gpucmd_buffer_import(h2, &t, &got), "buffer_import between HIGH clients");
	float w[N];
	must(h2, gpucmd_buffer_read(h2, got, 0, w, sizeof(w)), "buffer_read");
	ck_assert(memcmp(v, w, sizeof(v)) == 0);
	gpucmd_disconnect(h2);
	gpucmd_disconnect(h);
	gpucmd_disconnect(bulk);
}
END_TEST

/* The same client kernel registered on both shards is one program (the
 * registry is the process's): both run it right, and with both gone it
 * is freed (the daemon's exit checks for leaks). */
START_TEST(client_kernel_is_shared_by_both_shards)
{
	size_t len;
	uint8_t *spv = read_spv("negate", &len);
	gpucmd_client *cs[2] = {connect_ok(), connect_high()};
	for (int k = 0; k < 2; k++) {
		struct gpucmd_kernel_info info;
		must(cs[k], gpucmd_kernel_register(cs[k], "negate", spv, len, &info), "kernel_register");
		struct job_kit j = job_kit_open(cs[k], "fill_f32", 2 * N * sizeof(float), "negate");
		float v[N], w[N];
		random_floats(v, N, 3 + (unsigned)k);
		must(cs[k], gpucmd_buffer_write(cs[k], j.b, 0, v, sizeof(v)), "buffer_write");
		uint32_t n = N;
		struct gpucmd_binding bind[2] = {{j.b, 0, sizeof(v)}, {j.b, sizeof(v), sizeof(w)}};
		must(cs[k], gpucmd_dispatch(cs[k], j.s, info.id, bind, 2, &n, sizeof(n), N / 64, 1, 1), "dispatch");
		must(cs[k], gpucmd_commit_and_wait(cs[k], j.s), "commit_and_wait");
		must(cs[k], gpucmd_buffer_read(cs[k], j.b, sizeof(v), w, sizeof(w)), "buffer_read");
		for (int i = 0; i < N; i++)
			ck_assert(w[i] == -v[i]);
	}
	free(spv);
	gpucmd_disconnect(cs[0]);
	gpucmd_disconnect(cs[1]);
}
END_TEST

/* A HIGH client killed with work in flight and objects held is cleaned
 * up on its shard while a bulk client goes on computing; then an
 * administrator evicts a second HIGH client, which is told so. */
START_TEST(killed_and_evicted_high_clients_leave_nothing)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		gpucmd_client *c = gpucmd_connect_priority(test_daemon.socket, GPUCMD_PRIORITY_HIGH);
		gpucmd_buffer b;
		gpucmd_session s;
		struct gpucmd_kernel_info k;
		if (!c || gpucmd_kernel_find(c, "fill_f32", &k) || gpucmd_buffer_create(c, 8 << 20, 0, &b) ||
		    gpucmd_session_open_priority(c, "doomed", GPUCMD_PRIORITY_HIGH, &s))
			_exit(1);
		struct { uint32_t n; float v; } fp = {2u << 20, 1.0f};
		struct gpucmd_binding bind = {b, 0, 0};
		for (;;) {
			for (int i = 0; i < 8; i++)
				gpucmd_dispatch(c, s, k.id, &bind, 1, &fp, sizeof(fp), 8192, 1, 1);
			gpucmd_commit_stage(c, s);
			gpucmd_reset_for_next_stage(c, s);
			gpucmd_flush(c);
		}
	}
	gpucmd_client *bulk = connect_ok();
	high_add(bulk, 1);
	usleep(300000);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	high_add(bulk, 2);
	gpucmd_client *victim = connect_high();
	uint32_t id = own_id(victim);
	must(bulk, gpucmd_evict(bulk, id, "test"), "evict");
	ck_assert_int_ne(gpucmd_ping(victim), 0);
	ck_assert_msg(strstr(gpucmd_last_error(victim), "evicted by an administrator"), "%s",
		      gpucmd_last_error(victim));
	gpucmd_disconnect(victim);
	gpucmd_disconnect(bulk);
	expect_baseline(test_daemon.base_fds);
}
END_TEST

/* A stop with a HIGH client connected and work of its in flight: the work
 * retires, the client is told the daemon is stopping, and the daemon
 * exits clean (no leak, no validation message on either shard). */
START_TEST(stop_reaches_the_high_shard)
{
	gpucmd_client *h = connect_high();
	struct job_kit j = job_kit_open(h, "fill_f32", 4u << 20, "high");
	struct { uint32_t n; float v; } fp = {1u << 20, 1.0f};
	struct gpucmd_binding bind = {j.b, 0, 0};
	for (int i = 0; i < 8; i++)
		must(h, gpucmd_dispatch(h, j.s, j.k.id, &bind, 1, &fp, sizeof(fp), 4096, 1, 1), "dispatch");
	must(h, gpucmd_commit_stage(h, j.s), "commit_stage");
	must(h, gpucmd_flush(h), "flush");
	int st = daemon_stop();
	if (st != 0)
		dump_log();
	ck_assert_int_eq(st, 0);
	ck_assert_int_ne(gpucmd_ping(h), 0);
	ck_assert_msg(strstr(gpucmd_last_error(h), "stopping"), "%s", gpucmd_last_error(h));
	gpucmd_disconnect(h);
}
END_TEST

/* A reload while a HIGH client does round trips: the configuration every
 * shard reads changes with the HIGH shard parked, and both go on. */
START_TEST(reload_while_the_high_shard_works)
{
	gpucmd_client *h = connect_high();
	write_config("[priority]\nhigh_window_ms = 5\n");
	for (int i = 0; i < 20; i++) {
		high_add(h, (unsigned)i);
		if (i == 5)
			ck_assert_int_eq(kill(test_daemon.pid, SIGHUP), 0);
	}
	ck_assert(log_wait("configuration reloaded", 10000));
	high_add(h, 99);
	gpucmd_disconnect(h);
}
END_TEST

/* A connection on its way to the HIGH shard keeps its place under the
 * per-uid connection limit: with max_clients_per_uid = 2, one client
 * connected and one whose HIGH hello the HIGH shard takes a second late (a
 * test build's fault, as when its loop is busy), a third connection of
 * the uid is refused, naming the key. It was let in: the hand-over gave
 * the place back before the HIGH shard took it again. */
START_TEST(a_connection_on_its_way_to_the_high_shard_keeps_its_place)
{
	setenv("GPUCMD_FAULT_INBOX_DELAY_MS", "1000", 1);
	daemon_launch(&(struct daemon_launch){.exe = "tests/gpucmdd-faults",
					      .config = "[limits]\nmax_clients_per_uid = 2\n"});
	unsetenv("GPUCMD_FAULT_INBOX_DELAY_MS");
	gpucmd_client *a = connect_ok();
	struct raw r = raw_high_hello("on-its-way", 0);
	usleep(200 * 1000); /* the main loop hands it over; the HIGH shard takes it at 1 s */
	gpucmd_client *c = gpucmd_connect(test_daemon.socket);
	ck_assert_msg(c == NULL, "a third connection of the uid was let in beside one on its way to the HIGH shard");
	ck_assert_msg(strstr(gpucmd_last_error(NULL), "max_clients_per_uid"), "%s", gpucmd_last_error(NULL));
	ck_assert_int_eq(raw_wait(&r, 1, NULL, 0), 0);
	struct gpucmd_status st;
	must(a, gpucmd_status(a, &st), "status");
	ck_assert_uint_eq(st.clients, 2);
	for (size_t i = 0; i < st.n_clients; i++)
		if (!strcmp(st.client_list[i].name, "on-its-way"))
			ck_assert_uint_eq(st.client_list[i].shard, 1);
	gpucmd_status_free(&st);
	raw_close(&r);
	gpucmd_disconnect(a);
	for (int i = 0; i < 1000 && !(c = gpucmd_connect(test_daemon.socket)); i++)
		usleep(10 * 1000); /* the hang-ups are seen when next read */
	ck_assert_msg(c != NULL, "the uid's places did not come back: %s", gpucmd_last_error(NULL));
	gpucmd_disconnect(c);
}
END_TEST

/* Room in max_input_bytes_per_uid given back on one shard reaches a
 * connection of the uid waiting for it on the other: a HIGH connection
 * holds the room of an 80 KiB frame it has begun to send; a bulk
 * connection's 80 KiB frame waits, unread; the HIGH connection closes and
 * the bulk frame is read and answered. It waited for ever: only room
 * given back on its own loop woke it. */
START_TEST(input_room_given_back_on_one_shard_reaches_the_other)
{
	daemon_launch(&(struct daemon_launch){.config = "[limits]\nmax_input_bytes_per_uid = 102400\n"});
	enum { LEN = 80 << 10 };
	struct raw holder = raw_high_hello("holder", 0), bulk;
	ck_assert_int_eq(raw_wait(&holder, 1, NULL, 0), 0);
	uint8_t *frame = calloc(1, GW_HEADER + LEN);
	uint32_t len = LEN;
	memcpy(frame, &len, 4); /* little-endian hosts only, like the daemon */
	/* The room is taken when the connection is read after its frame's
	 * header came. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(write(holder.fd, frame + 4096 * i, 4096), 4096);
		usleep(100 * 1000);
	}
	free(frame);
	raw_open(&bulk);
	uint8_t *data = calloc(1, LEN);
	Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
	w.buffer = 12345; /* none: the answer is an error, but an answer */
	w.data = (ProtobufCBinaryData){LEN, data};
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
	req.buffer_write = &w;
	raw_send(&bulk, &req);
	Gpucmd__Ping p = GPUCMD__PING__INIT; /* a write is answered only when it fails: the ping after it is */
	Gpucmd__Request ping = GPUCMD__REQUEST__INIT;
	ping.body_case = GPUCMD__REQUEST__BODY_PING;
	ping.ping = &p;
	raw_send(&bulk, &ping);
	usleep(200 * 1000);
	struct pollfd pfd = {bulk.fd, POLLIN, 0};
	ck_assert_msg(poll(&pfd, 1, 0) == 0, "the bulk frame was answered while the HIGH connection held the room");
	raw_close(&holder);
	char err[256];
	ck_assert_int_eq(raw_wait(&bulk, bulk.id, err, sizeof(err)), -ENOENT); /* the write failed, the ping says */
	ck_assert_msg(strstr(err, "12345"), "%s", err);
	raw_close(&bulk);
	free(data);
}
END_TEST

/* The HIGH shard's loop as a request leaves it: it polls for the next
 * one for high_spin_us (here 20 ms) instead of sleeping, then sleeps. Over
 * the 300 ms after a status request of a HIGH client the loops took about
 * the 20 ms of that poll in CPU time: some, as it polled, and not the 300
 * ms, as it stopped. */
START_TEST(high_shard_polls_for_requests_only_while_they_come)
{
	daemon_start((const char *const[]){"--high-spin-us", "20000", NULL});
	gpucmd_client *h = connect_high();
	high_add(h, 1);
	usleep(100 * 1000);
	struct gpucmd_status st;
	must(h, gpucmd_status(h, &st), "status");
	uint64_t before = st.loop_cpu_ns;
	gpucmd_status_free(&st);
	usleep(300 * 1000);
	must(h, gpucmd_status(h, &st), "status");
	uint64_t ms = (st.loop_cpu_ns - before) / 1000000u;
	gpucmd_status_free(&st);
	ck_assert_msg(ms >= 5 && ms <= 100, "the loops used %llu ms of CPU in the 300 ms after a request",
		      (unsigned long long)ms);
	gpucmd_disconnect(h);
}
END_TEST

/* What a client learns of a lost device: the error of its own work (r),
 * or the goodbye. A loss one shard found reaches the other loop's clients
 * a loop turn later (shard.c's note), so a ping read before that turn is
 * answered; the goodbye must follow within seconds. */
static int told_lost(gpucmd_client *c, int r)
{
	for (int i = 0; i < 500 && !r; i++) {
		r = gpucmd_ping(c);
		if (!r)
			usleep(10 * 1000);
	}
	return r;
}

/* Device loss found by either shard's scheduler ("N@0" the main loop's,
 * "N@1" the HIGH shard's): the clients of both are told, the device and
 * both schedulers are made again, and a new HIGH client computes. */
static void device_loss_on(const char *which)
{
	setenv("GPUCMD_FAULT_DEVICE_LOST", which, 1);
	daemon_launch(&(struct daemon_launch){.exe = "tests/gpucmdd-faults"});
	gpucmd_client *h = connect_high(), *bulk = connect_ok();
	float a[N], b[N], out[N];
	random_floats(a, N, 1);
	random_floats(b, N, 2);
	int rb = 0, rh = 0;
	for (int i = 0; i < 8 && !rb && !rh; i++) {
		rb = run_binary_kernel(bulk, "add_f32", a, b, out, N);
		rh = run_binary_kernel(h, "add_f32", a, b, out, N);
	}
	ck_assert_int_eq(told_lost(h, rh), GPUCMD_E_DEVICE_LOST);
	ck_assert_int_eq(told_lost(bulk, rb), GPUCMD_E_DEVICE_LOST);
	ck_assert(daemon_log_contains("GPU device lost"));
	gpucmd_disconnect(h);
	gpucmd_disconnect(bulk);
	ck_assert(log_wait("device recreated", 200000));
	h = connect_high();
	high_add(h, 5);
	struct gpucmd_status st;
	must(h, gpucmd_status(h, &st), "status");
	ck_assert_uint_eq(st.device_losses, 1);
	ck_assert_uint_eq(st.shards, 2);
	gpucmd_status_free(&st);
	gpucmd_disconnect(h);
}

START_TEST(device_loss_on_the_main_loop_reaches_the_high_shard)
{
	device_loss_on("3@0");
}
END_TEST

START_TEST(device_loss_on_the_high_shard_reaches_everyone)
{
	device_loss_on("3@1");
}
END_TEST

static void no_setup(void)
{
}

TCase *shards_tcase(void)
{
	TCase *t = tcase_create("shards");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, high_client_is_served_by_the_high_shard);
	tcase_add_test(t, requests_sent_behind_the_handshake_move_with_it);
	tcase_add_test(t, a_later_handshake_does_not_move_a_connection);
	tcase_add_test(t, high_handshake_is_for_those_who_may);
	tcase_add_test(t, status_flood_parks_the_high_shard_seldom);
	tcase_add_test(t, status_flood_of_a_big_client_parks_a_hundredth_of_the_time);
	tcase_add_test(t, tokens_pass_within_a_shard_only);
	tcase_add_test(t, client_kernel_is_shared_by_both_shards);
	tcase_add_test(t, killed_and_evicted_high_clients_leave_nothing);
	tcase_add_test(t, stop_reaches_the_high_shard);
	tcase_add_test(t, reload_while_the_high_shard_works);
	return t;
}

/* Each starts its own daemon: with limits, or the fault-injecting build. */
TCase *shards_own_tcase(void)
{
	TCase *t = tcase_create("shards_own");
	tcase_add_checked_fixture(t, no_setup, daemon_teardown);
	tcase_set_timeout(t, 240);
	tcase_add_test(t, per_uid_limits_span_both_shards);
	tcase_add_test(t, a_connection_on_its_way_to_the_high_shard_keeps_its_place);
	tcase_add_test(t, input_room_given_back_on_one_shard_reaches_the_other);
	tcase_add_test(t, high_shard_polls_for_requests_only_while_they_come);
	tcase_add_test(t, device_loss_on_the_main_loop_reaches_the_high_shard);
	tcase_add_test(t, device_loss_on_the_high_shard_reaches_everyone);
	return t;
}
