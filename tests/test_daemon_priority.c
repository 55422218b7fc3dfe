/*
 * test_daemon_priority.c — high-priority sessions beside bulk work (issue
 * 21): a high stage committed after queued bulk work goes to the GPU ahead
 * of what the daemon holds back, eager bulk parts are cut short while high
 * work is about and not otherwise, who may open a high session, a flooding
 * client read few deep while another waits, a bulk client killed while
 * high work waits behind it, high clients read and answered between bulk
 * clients' requests with the loop polling as on a GPU, and held bulk work
 * retired by the loop itself when the completion thread reports only the
 * HIGH track (a test build's fault). The tests of the hold run twice: with
 * the HIGH session on an ordinary connection, served by the main loop
 * with the bulk clients, and on a connection that asked for high priority,
 * served by the HIGH shard (docs/SHARDS.md), whose work the main loop's
 * hold sees through the process-wide HIGH timestamp. lavapipe has one
 * queue: high work shares it (the order of submission is what these tests
 * can see; the figures are the H200's, BENCHMARKS.md).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define BIG (8u << 20)      /* floats in the bulk buffer: a fill of it takes lavapipe milliseconds */
#define BULK_STAGES 4       /* max_inflight_per_client's default */

struct bulk {
	gpucmd_client *c;
	gpucmd_session s;
	gpucmd_buffer b;
	struct gpucmd_kernel_info fill;
};

static struct bulk bulk_open(bool eager)
{
	struct bulk k = {.c = connect_ok()};
	must(k.c, gpucmd_kernel_find(k.c, "fill_f32", &k.fill), "kernel_find");
	must(k.c, gpucmd_buffer_create(k.c, BIG * sizeof(float), 0, &k.b), "buffer_create");
	must(k.c, gpucmd_session_open_flags(k.c, "bulk", GPUCMD_PRIORITY_NORMAL, eager ? GPUCMD_SESSION_EAGER : 0,
					    &k.s), "session_open");
	return k;
}

/* n dispatches that fill the whole buffer each. */
static void bulk_fill(struct bulk *k, int n)
{
	struct gpucmd_binding bind = {k->b, 0, 0};
	struct { uint32_t n; float v; } fp = {BIG, 1.0f};
	for (int i = 0; i < n; i++)
		must(k->c, gpucmd_dispatch(k->c, k->s, k->fill.id, &bind, 1, &fp, 8, BIG / 256, 1, 1), "dispatch");
}

/* n long stages committed without waiting, sent (not necessarily read). */
static void bulk_send_stages(struct bulk *k, int n)
{
	for (int i = 0; i < n; i++) {
		bulk_fill(k, 4);
		must(k->c, gpucmd_commit_stage(k->c, k->s), "commit_stage");
		must(k->c, gpucmd_reset_for_next_stage(k->c, k->s), "reset");
	}
	must(k->c, gpucmd_flush(k->c), "flush");
}

/* BULK_STAGES long stages committed without waiting, all received by the
 * daemon when this returns. */
static void bulk_commit_stages(struct bulk *k)
{
	bulk_send_stages(k, BULK_STAGES);
	must(k->c, gpucmd_ping(k->c), "ping");
}

/* Waits until the bulk stages all retired; then submit_order is the last
 * one's. */
static uint64_t bulk_last_order(struct bulk *k)
{
	struct gpucmd_session_state st;
	while ((st = session_state(k->c, k->s)).completed < BULK_STAGES)
		usleep(1000);
	return st.submit_order;
}

/* Stages of the whole NORMAL class the daemon has taken in (status). */
static uint64_t normal_stages(gpucmd_client *c)
{
	struct gpucmd_status st;
	must(c, gpucmd_status(c, &st), "status");
	uint64_t n = st.priorities[GPUCMD_PRIORITY_NORMAL].stages;
	gpucmd_status_free(&st);
	return n;
}

/* The flood's four stages sent without waiting; returns once the daemon
 * took in at least one, seen from client l (the flood's own connection
 * answers nothing while the daemon does not read it). */
static void flood_first_stage_read(struct bulk *k, gpucmd_client *l)
{
	uint64_t before = normal_stages(l);
	bulk_send_stages(k, BULK_STAGES);
	while (normal_stages(l) == before)
		usleep(200);
}

/* The client of the HIGH session: on the main loop beside the bulk clients
 * (where 0) or on the HIGH shard (where 1, loop tests' _i). */
static gpucmd_client *high_client(int where)
{
	return where ? connect_high() : connect_ok();
}

static gpucmd_session high_open(gpucmd_client *c, gpucmd_buffer *b, struct gpucmd_kernel_info *fill)
{
	gpucmd_session s;
	must(c, gpucmd_kernel_find(c, "fill_f32", fill), "kernel_find");
	must(c, gpucmd_buffer_create(c, 4096, 0, b), "buffer_create");
	must(c, gpucmd_session_open_priority(c, "high", GPUCMD_PRIORITY_HIGH, &s), "session_open high");
	return s;
}

/* One tiny high stage, committed and waited for. */
static int high_round_trip(gpucmd_client *c, gpucmd_session s, gpucmd_buffer b, const struct gpucmd_kernel_info *fill)
{
	struct gpucmd_binding bind = {b, 0, 0};
	struct { uint32_t n; float v; } fp = {1024, 2.0f};
	int r = gpucmd_dispatch(c, s, fill->id, &bind, 1, &fp, 8, 4, 1, 1);
	r = r ? r : gpucmd_commit_and_wait(c, s);
	return r ? r : gpucmd_reset_for_next_stage(c, s);
}

/* A normal-priority client doing tiny round trips. */
struct light {
	gpucmd_client *c;
	gpucmd_buffer b;
	struct gpucmd_kernel_info fill;
	gpucmd_session s;
};

static struct light light_open(const char *label)
{
	struct light l = {.c = connect_ok()};
	must(l.c, gpucmd_kernel_find(l.c, "fill_f32", &l.fill), "kernel_find");
	must(l.c, gpucmd_buffer_create(l.c, 4096, 0, &l.b), "buffer_create");
	must(l.c, gpucmd_session_open(l.c, label, &l.s), "session_open");
	return l;
}

static int light_round_trip(struct light *l)
{
	return high_round_trip(l->c, l->s, l->b, &l->fill);
}

static const char *const held_args[] = {"--high-window-ms", "60000", "--stop-timeout-sec", "120", "--bulk-depth-high",
					 "2", NULL};

static void held_setup(void)
{
	/* A window long enough that lavapipe's slow stages do not outlast it,
	 * and a stop that waits for them however slow the machine (a sanitizer
	 * build on two loaded cores took over stop_timeout_sec's 10 s); two
	 * bulk command buffers on the GPU (the default, 4, is a client's whole
	 * in-flight allowance, which would leave a lone bulk client nothing to
	 * hold). */
	daemon_start(held_args);
}

/* With high work about, two of the bulk client's four stages go to the
 * GPU and two wait in the daemon; a high stage committed after all four
 * goes to the queue before the held two (an order the loops' serials show
 * only within one loop). */
START_TEST(high_stage_goes_ahead_of_held_bulk_work)
{
	gpucmd_client *h = high_client(_i);
	gpucmd_buffer hb;
	struct gpucmd_kernel_info fill;
	gpucmd_session hs = high_open(h, &hb, &fill);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0); /* high work seen: bulk is held from here */
	struct bulk k = bulk_open(false);
	bulk_commit_stages(&k);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
	uint64_t high_order = session_state(h, hs).submit_order, bulk_order = bulk_last_order(&k);
	ck_assert_msg(_i || high_order < bulk_order, "the high stage went to the GPU at %llu, after all bulk work "
		      "(the last at %llu)", (unsigned long long)high_order, (unsigned long long)bulk_order);
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(h, &st), 0);
	ck_assert_msg(st.bulk_kept_back > 0, "no bulk work was kept back beside HIGH work on the %s",
		      _i ? "HIGH shard" : "main loop");
	for (size_t i = 0; i < st.n_clients; i++)
		if (st.client_list[i].client == st.self)
			ck_assert_uint_eq(st.client_list[i].shard, (uint32_t)_i);
	ck_assert_uint_eq(st.priorities[GPUCMD_PRIORITY_HIGH].sessions, 1);
	ck_assert_uint_eq(st.priorities[GPUCMD_PRIORITY_HIGH].round_trips, 2);
	ck_assert_uint_eq(st.priorities[GPUCMD_PRIORITY_NORMAL].stages, BULK_STAGES);
	ck_assert_uint_gt(st.priorities[GPUCMD_PRIORITY_HIGH].rtt_median_us, 0);
	ck_assert(!st.high_queue); /* lavapipe: one queue */
	gpucmd_status_free(&st);
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(h);
}
END_TEST

/* Work the daemon keeps back still counts against its client's in-flight
 * limit, and so does what queues behind it in the same session: a client
 * streaming stages while high work is about is read four (the limit) ahead
 * of what retired, not without end. */
START_TEST(bulk_work_kept_back_counts_against_the_in_flight_limit)
{
	gpucmd_client *h = high_client(_i);
	struct gpucmd_kernel_info fill;
	gpucmd_buffer hb;
	gpucmd_session hs = high_open(h, &hb, &fill);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0); /* bulk is held from here */
	struct bulk k = bulk_open(false);
	bulk_send_stages(&k, 3 * BULK_STAGES);
	/* After each retirement the daemon reads what the limit lets it. */
	uint64_t most = 0, completed = 0;
	for (int i = 0; i < 20000 && completed < 2 * BULK_STAGES; i++) {
		struct gpucmd_status st;
		must(h, gpucmd_status(h, &st), "status");
		for (size_t c = 0; c < st.n_clients; c++)
			for (size_t j = 0; j < st.client_list[c].n_sessions; j++) {
				const struct gpucmd_session_status *ss = &st.client_list[c].sessions[j];
				if (!strcmp(ss->label, "bulk")) {
					most = ss->in_flight > most ? ss->in_flight : most;
					completed = ss->completed;
				}
			}
		gpucmd_status_free(&st);
		usleep(1000);
	}
	ck_assert_msg(completed >= 2 * BULK_STAGES && most <= BULK_STAGES,
		      "%llu of the flood's stages were in the daemon at once (the limit: %d; %llu retired)",
		      (unsigned long long)most, BULK_STAGES, (unsigned long long)completed);
	must(k.c, gpucmd_commit_and_wait(k.c, k.s), "commit_and_wait");
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(h);
}
END_TEST

/* Without high work about, nothing is held: the same four stages all go to
 * the GPU before a normal stage committed after them. */
START_TEST(without_high_work_bulk_runs_at_full_depth)
{
	struct light n = light_open("normal");
	struct bulk k = bulk_open(false);
	bulk_commit_stages(&k);
	struct gpucmd_session_state before = session_state(k.c, k.s);
	ck_assert_int_eq(light_round_trip(&n), 0);
	ck_assert_msg(session_state(n.c, n.s).submit_order > before.submit_order,
		      "a normal stage went ahead of bulk work already on the GPU");
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(n.c, &st), 0);
	ck_assert_uint_eq(st.bulk_kept_back, 0);
	gpucmd_status_free(&st);
	ck_assert_int_eq(gpucmd_commit_and_wait(k.c, k.s), 0);
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(n.c);
}
END_TEST

/* An eager bulk stage of 64 commands goes in parts of 4 (high_part_commands)
 * while high work is about, in parts of 32 then 64 (two parts at most)
 * otherwise. */
START_TEST(eager_bulk_parts_are_short_while_high_work_is_about)
{
	for (int with_high = 0; with_high < 2; with_high++) {
		gpucmd_client *h = high_client(_i);
		gpucmd_buffer hb;
		struct gpucmd_kernel_info fill;
		gpucmd_session hs = 0;
		if (with_high) {
			hs = high_open(h, &hb, &fill);
			ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
		}
		struct bulk k = bulk_open(true);
		bulk_fill(&k, 64);
		ck_assert_int_eq(gpucmd_commit_and_wait(k.c, k.s), 0);
		uint64_t parts = session_state(k.c, k.s).parts;
		if (with_high)
			ck_assert_msg(parts >= 12, "%llu parts of 64 commands with high work about",
				      (unsigned long long)parts);
		else
			ck_assert_msg(parts <= 2, "%llu parts of 64 commands without high work",
				      (unsigned long long)parts);
		gpucmd_disconnect(k.c);
		gpucmd_disconnect(h);
	}
}
END_TEST

/* A bulk client killed while its stages run and are held: the high stage
 * waiting behind them completes, and so does the next. */
START_TEST(killed_bulk_client_does_not_strand_high_work)
{
	int go[2];
	ck_assert_int_eq(pipe(go), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct bulk k = bulk_open(false);
		bulk_commit_stages(&k);
		(void)!write(go[1], "x", 1);
		pause();
		_exit(0);
	}
	gpucmd_client *h = high_client(_i);
	gpucmd_buffer hb;
	struct gpucmd_kernel_info fill;
	gpucmd_session hs = high_open(h, &hb, &fill);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
	char x;
	ck_assert_int_eq(read(go[0], &x, 1), 1);
	struct gpucmd_binding bind = {hb, 0, 0};
	struct { uint32_t n; float v; } fp = {1024, 3.0f};
	ck_assert_int_eq(gpucmd_dispatch(h, hs, fill.id, &bind, 1, &fp, 8, 4, 1, 1), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(gpucmd_commit_and_wait(h, hs), 0);
	ck_assert_int_eq(gpucmd_reset_for_next_stage(h, hs), 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
	float out[4];
	ck_assert_int_eq(gpucmd_buffer_read(h, hb, 0, out, sizeof(out)), 0);
	ck_assert_float_eq(out[0], 2.0f);
	close(go[0]);
	close(go[1]);
	gpucmd_disconnect(h);
}
END_TEST

/* The connection's in-flight count as another connection sees it (status). */
static uint32_t in_flight_of(gpucmd_client *asker, uint32_t client)
{
	struct gpucmd_status st;
	must(asker, gpucmd_status(asker, &st), "status");
	uint32_t n = UINT32_MAX;
	for (size_t i = 0; i < st.n_clients; i++)
		if (st.client_list[i].client == client)
			n = st.client_list[i].in_flight;
	gpucmd_status_free(&st);
	ck_assert_uint_ne(n, UINT32_MAX);
	return n;
}

/* Bulk work held back goes to the GPU as earlier bulk work retires. On the
 * H200 the completion thread, sharing a CPU with the busy loop thread,
 * reported bulk values every few milliseconds in a quarter of the runs and
 * bulk kept 1-3 k stages/s (BENCHMARKS.md, "2026-12-04"); the loop's own
 * looks between requests now read those timelines too, every eighth look.
 * A test build's fault makes the thread report the HIGH track alone: four
 * bulk stages, two held back, must all retire while a HIGH client does
 * round trips (no other work: what the thread does not report, only the
 * loop sees). */
START_TEST(held_bulk_work_retires_when_the_completion_thread_reports_only_high)
{
	setenv("GPUCMD_FAULT_COMPLETION_ONLY_HIGH", "1", 1);
	daemon_launch(&(struct daemon_launch){.exe = "tests/gpucmdd-faults", .extra = held_args});
	gpucmd_client *h = connect_ok();
	gpucmd_buffer hb;
	struct gpucmd_kernel_info fill;
	gpucmd_session hs = high_open(h, &hb, &fill);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
	struct bulk k = bulk_open(false);
	struct gpucmd_status me;
	must(k.c, gpucmd_status(k.c, &me), "status");
	uint32_t id = me.self;
	gpucmd_status_free(&me);
	bulk_commit_stages(&k);
	int rounds = 0;
	while (in_flight_of(h, id) && rounds < 100000)
		for (int i = 0; i < 16; i++, rounds++)
			ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
	ck_assert_msg(in_flight_of(h, id) == 0, "bulk work still in flight after %d HIGH round trips", rounds);
	ck_assert_uint_eq(session_state(k.c, k.s).completed, BULK_STAGES);
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(h);
}
END_TEST

/* One tiny HIGH stage writing v, waited for and read back. */
static float high_fill_read(gpucmd_client *c, gpucmd_session s, gpucmd_buffer b, const struct gpucmd_kernel_info *fill,
			    float v)
{
	struct gpucmd_binding bind = {b, 0, 0};
	struct { uint32_t n; float v; } fp = {1024, v};
	float out = -1.0f;
	must(c, gpucmd_dispatch(c, s, fill->id, &bind, 1, &fp, 8, 4, 1, 1), "dispatch high");
	must(c, gpucmd_commit_and_wait(c, s), "commit_and_wait high");
	must(c, gpucmd_reset_for_next_stage(c, s), "reset high");
	must(c, gpucmd_buffer_read(c, b, 4 * 1000, &out, sizeof(out)), "buffer_read high");
	return out;
}

#define SMALL (64u << 10) /* floats a short bulk stage fills */

/* A short bulk stage writing v over SMALL floats, committed without waiting. */
static void bulk_send_short(struct bulk *k, float v)
{
	struct gpucmd_binding bind = {k->b, 0, 0};
	struct { uint32_t n; float v; } fp = {SMALL, v};
	must(k->c, gpucmd_dispatch(k->c, k->s, k->fill.id, &bind, 1, &fp, 8, SMALL / 256, 1, 1), "dispatch");
	must(k->c, gpucmd_commit_stage(k->c, k->s), "commit_stage");
	must(k->c, gpucmd_reset_for_next_stage(k->c, k->s), "reset");
	must(k->c, gpucmd_flush(k->c), "flush");
}

/* HIGH round trips beside bulk clients streaming stages, with the loop
 * thread polling for a commit_and_wait as on a GPU (lavapipe's default is
 * not to): HIGH clients are then read, submitted and answered between the
 * bulk clients' requests in a turn, and the loop's poll goes on across turns
 * (net/conn.c, submit/scheduler.c). Each client gets its own results, also
 * when a bulk client is killed midway and its connection closes while
 * the others are read, and beside idle HIGH clients, one of which closes
 * its session and one its connection midway. */
START_TEST(high_round_trips_between_bulk_connections)
{
	gpucmd_client *h = connect_ok();
	gpucmd_buffer hb;
	struct gpucmd_kernel_info fill;
	gpucmd_session hs = high_open(h, &hb, &fill);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct bulk k = bulk_open(false);
		for (;;)
			bulk_send_short(&k, 7.0f);
	}
	struct bulk k[2] = {bulk_open(false), bulk_open(true)};
	gpucmd_client *idle[3];
	gpucmd_session is[3];
	for (int i = 0; i < 3; i++) {
		idle[i] = connect_ok();
		must(idle[i], gpucmd_session_open_priority(idle[i], "idle", GPUCMD_PRIORITY_HIGH, &is[i]), "session_open");
	}
	for (int r = 1; r <= 40; r++) {
		if (r == 10) {
			must(idle[0], gpucmd_session_close(idle[0], is[0]), "session_close");
			must(idle[0], gpucmd_ping(idle[0]), "ping"); /* the close is streamed */
		}
		if (r == 30)
			gpucmd_disconnect(idle[1]);
		for (int i = 0; i < 2; i++)
			bulk_send_short(&k[i], (float)r);
		ck_assert_float_eq(high_fill_read(h, hs, hb, &fill, (float)r), (float)r);
		if (r == 20) {
			int st;
			ck_assert_int_eq(kill(pid, SIGKILL), 0);
			ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		}
	}
	for (int i = 0; i < 2; i++) {
		struct gpucmd_binding bind = {k[i].b, 0, 0};
		struct { uint32_t n; float v; } fp = {1, 50.0f + (float)i};
		float out[2] = {0};
		must(k[i].c, gpucmd_dispatch(k[i].c, k[i].s, k[i].fill.id, &bind, 1, &fp, 8, 1, 1, 1), "dispatch");
		must(k[i].c, gpucmd_commit_and_wait(k[i].c, k[i].s), "commit_and_wait bulk");
		must(k[i].c, gpucmd_buffer_read(k[i].c, k[i].b, 0, out, sizeof(out)), "buffer_read bulk");
		/* the last short stage wrote 40, in order after the 39 before it */
		ck_assert_float_eq(out[0], 50.0f + (float)i);
		ck_assert_float_eq(out[1], 40.0f);
		gpucmd_disconnect(k[i].c);
	}
	struct gpucmd_status st;
	must(h, gpucmd_status(h, &st), "status");
	ck_assert_uint_eq(st.priorities[GPUCMD_PRIORITY_HIGH].round_trips, 40);
	ck_assert_uint_eq(st.priorities[GPUCMD_PRIORITY_HIGH].sessions, 2);
	gpucmd_status_free(&st);
	gpucmd_disconnect(idle[0]);
	gpucmd_disconnect(idle[2]);
	gpucmd_disconnect(h);
}
END_TEST

/* A stop while bulk work is held back in the daemon runs it rather than
 * failing it (only work waiting for a fence fails at a stop): each bulk
 * stage also writes its number into a buffer in this process's memory. */
START_TEST(stop_runs_bulk_work_held_back)
{
	gpucmd_client *h = connect_ok();
	gpucmd_buffer hb, mark;
	struct gpucmd_kernel_info fill;
	gpucmd_session hs = high_open(h, &hb, &fill);
	ck_assert_int_eq(high_round_trip(h, hs, hb, &fill), 0);
	struct bulk k = bulk_open(false);
	float *seen;
	ck_assert_int_eq(gpucmd_buffer_create_shared(k.c, 4096, &mark, (void **)&seen, NULL), 0);
	struct gpucmd_binding bind = {mark, 0, 0};
	for (int i = 0; i < BULK_STAGES; i++) {
		struct { uint32_t n; float v; } fp = {1, (float)(i + 1)};
		bulk_fill(&k, 4);
		must(k.c, gpucmd_dispatch(k.c, k.s, k.fill.id, &bind, 1, &fp, 8, 1, 1, 1), "dispatch");
		must(k.c, gpucmd_commit_stage(k.c, k.s), "commit_stage");
		must(k.c, gpucmd_reset_for_next_stage(k.c, k.s), "reset");
	}
	must(k.c, gpucmd_ping(k.c), "ping"); /* the stages are in, two of them held, when the ping is answered */
	struct gpucmd_status st;
	ck_assert_int_eq(gpucmd_status(k.c, &st), 0);
	ck_assert_uint_gt(st.bulk_kept_back, 0);
	gpucmd_status_free(&st);
	ck_assert_int_eq(daemon_stop(), 0);
	test_daemon.pid = 0;
	ck_assert_msg(seen[0] == (float)BULK_STAGES, "the last bulk stage to run was %g of %d", seen[0], BULK_STAGES);
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(h);
}
END_TEST

/* fair_depth (default 1): while another client waits for its work, a
 * flooding client is read one command buffer in flight at a time, so the
 * light client's stage goes to the GPU before the flood's last; with
 * fair_depth 0 the flood's four are all ahead of it. */
START_TEST(flooding_client_is_read_few_deep_while_another_waits)
{
	struct light l = light_open("light");
	ck_assert_int_eq(light_round_trip(&l), 0); /* l waits: others are read few deep */
	struct bulk k = bulk_open(false);
	flood_first_stage_read(&k, l.c);
	ck_assert_int_eq(light_round_trip(&l), 0);
	uint64_t light_order = session_state(l.c, l.s).submit_order, flood_order = bulk_last_order(&k);
	ck_assert_msg(light_order < flood_order, "the light stage went to the GPU at %llu, after the flood's last "
		      "(%llu)", (unsigned long long)light_order, (unsigned long long)flood_order);
	gpucmd_disconnect(k.c);

	write_config("[priority]\nfair_depth = 0\n");
	ck_assert_int_eq(kill(test_daemon.pid, SIGHUP), 0);
	ck_assert(log_wait("configuration reloaded", 10000));
	ck_assert_int_eq(light_round_trip(&l), 0);
	k = bulk_open(false);
	bulk_commit_stages(&k);
	ck_assert_int_eq(light_round_trip(&l), 0);
	light_order = session_state(l.c, l.s).submit_order;
	flood_order = bulk_last_order(&k);
	ck_assert_msg(light_order > flood_order, "with fair_depth 0 the light stage went to the GPU at %llu, before "
		      "the flood's last (%llu)", (unsigned long long)light_order, (unsigned long long)flood_order);
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(l.c);
}
END_TEST

/* The flood session's in_flight at its highest over up to `ms`, seen
 * from client l; stops early once it reaches `enough`. */
static uint32_t flood_depth(gpucmd_client *l, int ms, uint32_t enough)
{
	uint32_t most = 0;
	for (int i = 0; i < ms && most < enough; i++) {
		struct gpucmd_status st;
		must(l, gpucmd_status(l, &st), "status");
		for (size_t c = 0; c < st.n_clients; c++)
			for (size_t j = 0; j < st.client_list[c].n_sessions; j++) {
				const struct gpucmd_session_status *ss = &st.client_list[c].sessions[j];
				if (!strcmp(ss->label, "bulk") && ss->in_flight > most)
					most = ss->in_flight;
			}
		gpucmd_status_free(&st);
		usleep(1000);
	}
	return most;
}

/* The fairness window: long enough for the test to see a flood within it
 * on a slow daemon too. */
static unsigned fair_window_ms(void)
{
	return under_tsan() ? 5000 : 1000;
}

/* A client counts as waiting for fair_window_ms after its round trip
 * (fair_window_ms() in this test case): meanwhile a flood is read one
 * deep, after it four deep again. */
START_TEST(fairness_ends_with_the_window)
{
	struct light l = light_open("light");
	ck_assert_int_eq(light_round_trip(&l), 0); /* l waits from here, for a second */
	struct bulk k = bulk_open(false);
	bulk_send_stages(&k, BULK_STAGES);
	uint32_t depth = flood_depth(l.c, 300, BULK_STAGES);
	ck_assert_msg(depth == 1, "while another client waits the flood was read %u deep (fair_depth 1)", depth);
	must(k.c, gpucmd_commit_and_wait(k.c, k.s), "flood drained");
	must(k.c, gpucmd_reset_for_next_stage(k.c, k.s), "reset");
	usleep((fair_window_ms() + 200) * 1000u);
	bulk_send_stages(&k, BULK_STAGES);
	depth = flood_depth(l.c, 5000, BULK_STAGES);
	ck_assert_msg(depth == BULK_STAGES, "a second after the last round trip the flood was read %u deep", depth);
	gpucmd_disconnect(k.c);
	gpucmd_disconnect(l.c);
}
END_TEST

/* Opens a normal then a high session (as_nobody's fn). */
static int open_high(void *arg, char *msg, size_t len)
{
	(void)arg;
	gpucmd_client *c = gpucmd_connect(test_daemon.socket);
	int r = c ? 0 : -ECONNREFUSED;
	gpucmd_session s;
	if (r == 0 && (r = gpucmd_session_open(c, "normal", &s)) == 0)
		r = gpucmd_session_open_priority(c, "high", GPUCMD_PRIORITY_HIGH, &s);
	snprintf(msg, len, "%s", gpucmd_last_error(c));
	gpucmd_disconnect(c);
	return r;
}

/* Only administrators may open high sessions by default; high_users lets
 * another user in (after a reload). */
START_TEST(high_sessions_are_for_administrators_and_the_listed)
{
	if (!open_daemon_to_nobody())
		return;
	char msg[512];
	ck_assert_int_eq(as_nobody(open_high, NULL, msg, sizeof(msg)), -EPERM);
	ck_assert_msg(strstr(msg, "uid 65534 may not ask for high priority") && strstr(msg, "high_users"),
		      "%s", msg);
	write_config("[priority]\nhigh_users = 65534\n");
	ck_assert_int_eq(kill(test_daemon.pid, SIGHUP), 0);
	ck_assert(log_wait("configuration reloaded", 10000));
	ck_assert_msg(as_nobody(open_high, NULL, msg, sizeof(msg)) == 0, "%s", msg);
	gpucmd_client *c = connect_ok(); /* root may, by default */
	gpucmd_session s;
	ck_assert_int_eq(gpucmd_session_open_priority(c, "high", GPUCMD_PRIORITY_HIGH, &s), 0);
	gpucmd_disconnect(c);
}
END_TEST

/* fair_depth as by default; a window of a second, which a light client's
 * round trip and the flood stage after it fit in even on lavapipe, and
 * which fairness_ends_with_the_window waits out. */
/* The loop polls for a commit_and_wait up to 2 ms, as on a GPU (50 µs there). */
static void polling_setup(void)
{
	daemon_start((const char *const[]){"--high-window-ms", "60000", "--loop-poll-us", "2000", NULL});
}

static void fair_setup(void)
{
	char ms[16];
	snprintf(ms, sizeof(ms), "%u", fair_window_ms());
	daemon_start((const char *const[]){"--fair-window-ms", ms, NULL});
}

TCase *priority_tcase(void)
{
	TCase *t = tcase_create("priority");
	tcase_add_checked_fixture(t, held_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_loop_test(t, high_stage_goes_ahead_of_held_bulk_work, 0, 2);
	tcase_add_loop_test(t, bulk_work_kept_back_counts_against_the_in_flight_limit, 0, 2);
	tcase_add_loop_test(t, eager_bulk_parts_are_short_while_high_work_is_about, 0, 2);
	tcase_add_loop_test(t, killed_bulk_client_does_not_strand_high_work, 0, 2);
	tcase_add_test(t, high_sessions_are_for_administrators_and_the_listed);
	tcase_add_test(t, stop_runs_bulk_work_held_back);
	return t;
}

static void no_setup(void)
{
}

TCase *priority_faults_tcase(void)
{
	TCase *t = tcase_create("priority_faults");
	tcase_add_checked_fixture(t, no_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, held_bulk_work_retires_when_the_completion_thread_reports_only_high);
	return t;
}

TCase *priority_polling_tcase(void)
{
	TCase *t = tcase_create("priority_polling");
	tcase_add_checked_fixture(t, polling_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, high_round_trips_between_bulk_connections);
	return t;
}

TCase *priority_default_tcase(void)
{
	TCase *t = tcase_create("priority_default");
	tcase_add_checked_fixture(t, daemon_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, without_high_work_bulk_runs_at_full_depth);
	return t;
}

TCase *priority_fair_tcase(void)
{
	TCase *t = tcase_create("priority_fair");
	tcase_add_checked_fixture(t, fair_setup, daemon_teardown);
	tcase_set_timeout(t, 120);
	tcase_add_test(t, flooding_client_is_read_few_deep_while_another_waits);
	tcase_add_test(t, fairness_ends_with_the_window);
	return t;
}
