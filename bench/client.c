/*
 * bench/client.c - the gpucmd side of the benchmarks (build/bench-gpucmd).
 *
 * The same GPU work as bench/inproc.c (tiny add_f32 dispatches), but sent
 * through a running gpucmdd with libgpucmd, so that every figure here has an
 * in-process twin to be divided by. Each subcommand prints ONE line of JSON
 * on stdout in inproc.c's format: "bench", "device" and "driver" (from
 * gpucmd_info), raw nanosecond values and their min/median/p99. Every result
 * is read back and checked. Any libgpucmd error prints gpucmd_last_error and
 * exits 1.
 *
 *   bench-gpucmd rtt [--iters N] [--warmup W]
 *       dispatch(add_f32, 1 group) + commit_and_wait + reset_for_next_stage,
 *       per-iteration latency.
 *   bench-gpucmd stream [--dispatches N] [--repeats R] [--outputs K] [--daemon-pid PID] [--eager]
 *       N streamed dispatches then one commit_and_wait, ns per dispatch; with
 *       --daemon-pid also the daemon's CPU time per dispatch, from
 *       /proc/PID/stat (utime + stime, every thread) and, finer grained,
 *       /proc/PID/task/<tid>/schedstat.
 *   bench-gpucmd coldstart
 *       main() entry to a verified 1024-element add_f32: connect, kernel
 *       lookup, buffers, writes, dispatch, commit_and_wait, read back.
 *   bench-gpucmd multiproc --procs P [--seconds S]
 *       P forked clients, each on its own connection, run rtt loops for S
 *       seconds after a common start barrier; same keys as inproc.c. With
 *       --socket A,B,... client p connects to the (p mod n)-th socket: P
 *       processes spread over n daemons (one per GPU, bench/run-multigpu).
 *   bench-gpucmd transfer [--mib M] [--repeats R]
 *       gpucmd_buffer_write then gpucmd_buffer_read of M MiB in a device-local
 *       buffer (staged copies on a discrete GPU), bytes checked each run;
 *       then the same bytes through a shared-memory buffer (memfd imported by
 *       the daemon) copied to and from the device-local buffer in a stage.
 *   bench-gpucmd fairness [--iters N] [--warmup W] [--mib M]
 *       rtt of a light client alone, then while a second client floods the
 *       GPU with stages of four fills of M MiB (default 16), held back by
 *       max_inflight_per_client.
 *   bench-gpucmd priority [--iters N] [--procs P] [--seconds S] [--kernel-us T] [--quick] [--daemon-pid PID]
 *       a HIGH session's rtt (tiny add_f32) alone, then while P bulk processes
 *       (default 8) stream stages of one dispatch without waiting: add_f32,
 *       or with --kernel-us a matmul_f32 calibrated to run about T µs; the
 *       bulk throughput without and with the HIGH client (S seconds each,
 *       the stages the daemon took in over exactly those seconds; the HIGH
 *       client's N round trips alone, S seconds of them beside the bulk
 *       work); and the HIGH latency over time as the bulk work starts and stops.
 *       With --daemon-pid also the share of the bulk-alone and the shared
 *       phase the daemon's loop and completion threads spent on a CPU.
 *   bench-gpucmd replay [--nodes K] [--iters N] [--warmup W]
 *       a graph of K dependent add_f32 dispatches captured once in the
 *       daemon, then replayed (one message) + commit_and_wait, per-iteration
 *       latency; inproc.c's replay resubmits the same command buffer.
 *   common: --socket PATH (default: gpucmd_connect's own default)
 *
 * Build: cc -std=c17 -O2 -D_GNU_SOURCE -Iclient -Iproto bench/client.c \
 *          build/libgpucmd.a -lprotobuf-c -lm -o build/bench-gpucmd
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpucmd.h"

#define SMALL_N 256u /* elements of one tiny add_f32 dispatch: one workgroup */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#include "fail.h"

/* ---- statistics and JSON (as in inproc.c) -------------------------------- */

#include "stats.h"

/* ---- connection and the add_f32 job -------------------------------------- */

struct opts {
	const char *socket;        /* NULL: libgpucmd's default */
	uint64_t iters, warmup, dispatches, outputs, repeats, procs, mib, nodes;
	double seconds;
	long daemon_pid;           /* 0: no daemon CPU figure */
	uint64_t kernel_us;        /* priority: the bulk kernel's target time, 0: tiny */
	bool quick;                /* priority: smaller sizes (a CPU device) */
	bool eager;                /* stream: in an eager session */
	uint64_t t0;               /* clock at main entry, for coldstart */
};

/* Device and driver as inproc.c names them: deviceName, "driverName driverInfo". */
struct names { char device[256], driver[520]; };

static gpucmd_client *connect_as(const struct opts *o, enum gpucmd_priority priority)
{
	gpucmd_client *c = gpucmd_connect_priority(o->socket, priority);
	if (!c)
		die("gpucmd_connect(%s) failed: %s", o->socket ? o->socket : "default socket",
		    gpucmd_last_error(NULL));
	return c;
}

static gpucmd_client *connect_daemon(const struct opts *o)
{
	return connect_as(o, GPUCMD_PRIORITY_NORMAL);
}

static struct names query_names(gpucmd_client *c)
{
	struct gpucmd_info info;
	struct names n;
	GC(c, gpucmd_info(c, &info));
	snprintf(n.device, sizeof n.device, "%s", info.device_name);
	snprintf(n.driver, sizeof n.driver, "%s %s", info.driver_name, info.driver_info);
	return n;
}

/* out = a + b over n floats, on one session of one connection. */
struct addjob {
	gpucmd_client *c;
	gpucmd_session s;
	struct gpucmd_kernel_info k;
	gpucmd_buffer a, b, out;
	uint32_t n;
	float *ha, *hb, *hout;     /* host copies: inputs, and the read-back */
};

static void addjob_init(struct addjob *j, gpucmd_client *c, uint32_t n, const char *label)
{
	*j = (struct addjob){.c = c, .n = n};
	size_t size = (size_t)n * sizeof(float);
	j->ha = malloc(size), j->hb = malloc(size), j->hout = calloc(n, sizeof(float));
	if (!j->ha || !j->hb || !j->hout)
		die("out of memory");
	for (uint32_t i = 0; i < n; i++)
		j->ha[i] = (float)i, j->hb[i] = 2.0f * (float)i + 0.5f;
	GC(c, gpucmd_kernel_find(c, "add_f32", &j->k));
	if (j->k.n_bindings != 3 || j->k.push_size != sizeof(uint32_t))
		die("kernel add_f32 has %u bindings and %u bytes of push constants, expected 3 and 4",
		    j->k.n_bindings, j->k.push_size);
	GC(c, gpucmd_buffer_create(c, size, 0, &j->a));
	GC(c, gpucmd_buffer_create(c, size, 0, &j->b));
	GC(c, gpucmd_buffer_create(c, size, 0, &j->out));
	GC(c, gpucmd_buffer_write(c, j->a, 0, j->ha, size));
	GC(c, gpucmd_buffer_write(c, j->b, 0, j->hb, size));
	GC(c, gpucmd_session_open(c, label, &j->s));
}

/* The same job in an eager session (GPUCMD_SESSION_EAGER) instead. */
static void addjob_eager(struct addjob *j)
{
	GC(j->c, gpucmd_session_close(j->c, j->s));
	GC(j->c, gpucmd_session_open_flags(j->c, "bench-stream-eager", GPUCMD_PRIORITY_NORMAL, GPUCMD_SESSION_EAGER,
					   &j->s));
}

/* Streams one dispatch over all n elements. */
static void addjob_dispatch(struct addjob *j)
{
	const struct gpucmd_binding bind[3] = {{.buffer = j->a}, {.buffer = j->b}, {.buffer = j->out}};
	uint32_t groups = (j->n + j->k.local_size[0] - 1) / j->k.local_size[0];
	GC(j->c, gpucmd_dispatch(j->c, j->s, j->k.id, bind, 3, &j->n, sizeof j->n, groups, 1, 1));
}

/* One synchronous step: dispatch, commit_and_wait, reopen the stage. */
static void addjob_step(struct addjob *j)
{
	addjob_dispatch(j);
	GC(j->c, gpucmd_commit_and_wait(j->c, j->s));
	GC(j->c, gpucmd_reset_for_next_stage(j->c, j->s));
}

/* Zero the output on the daemon, so that a later check proves new work wrote it. */
static void addjob_clear(struct addjob *j)
{
	memset(j->hout, 0, (size_t)j->n * sizeof(float));
	GC(j->c, gpucmd_buffer_write(j->c, j->out, 0, j->hout, (size_t)j->n * sizeof(float)));
}

static void addjob_check(struct addjob *j, const char *bench)
{
	GC(j->c, gpucmd_buffer_read(j->c, j->out, 0, j->hout, (size_t)j->n * sizeof(float)));
	for (uint32_t i = 0; i < j->n; i++)
		if (j->hout[i] != j->ha[i] + j->hb[i])
			die("%s: wrong result: out[%u] = %g, expected %g", bench, i, j->hout[i],
			    j->ha[i] + j->hb[i]);
}

/* Frees what addjob_init made, leaving the daemon nothing to clean up. */
static void addjob_destroy(struct addjob *j)
{
	GC(j->c, gpucmd_session_close(j->c, j->s));
	GC(j->c, gpucmd_buffer_free(j->c, j->a));
	GC(j->c, gpucmd_buffer_free(j->c, j->b));
	GC(j->c, gpucmd_buffer_free(j->c, j->out));
	free(j->ha), free(j->hb), free(j->hout);
}

/* ---- daemon CPU time ----------------------------------------------------- */

/* CPU time per thread: the loop (the main thread), the HIGH shard's loop
 * (gpucmdd-high), the completion threads (gpucmdd-retire, one per loop) and
 * the rest (the driver's and the kernel builders'). */
enum { T_LOOP, T_HIGH, T_RETIRE, T_OTHER, T_KINDS };
static const char *const thread_kind[T_KINDS] = {"loop", "high", "retire", "other"};
struct cpu_sample { uint64_t stat_ticks, sched_ns, kind_ns[T_KINDS]; bool sched_ok; };

/* utime + stime of the whole process (fields 14 and 15 of /proc/PID/stat). */
static uint64_t read_stat_ticks(long pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		die("--daemon-pid %ld: cannot open %s: %s", pid, path, strerror(errno));
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	unsigned long long ut, st;
	/* after ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		die("--daemon-pid %ld: cannot parse %s", pid, path);
	return ut + st;
}

static int kind_of(long pid, const char *tid)
{
	if (atol(tid) == pid)
		return T_LOOP;
	char p[320], comm[32] = "";
	snprintf(p, sizeof p, "/proc/%ld/task/%s/comm", pid, tid);
	FILE *f = fopen(p, "r");
	if (f) {
		if (!fgets(comm, sizeof comm, f))
			comm[0] = '\0';
		fclose(f);
	}
	return !strncmp(comm, "gpucmdd-retire", 14) ? T_RETIRE : !strncmp(comm, "gpucmdd-high", 12) ? T_HIGH : T_OTHER;
}

/* Sum of the first schedstat field (ns on CPU) over the process's threads,
 * and per kind of thread. */
static bool read_sched_ns(long pid, uint64_t *ret, uint64_t kind_ns[T_KINDS])
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	uint64_t sum = 0;
	bool ok = true;
	for (struct dirent *e; ok && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		char p[320];
		snprintf(p, sizeof p, "/proc/%ld/task/%s/schedstat", pid, e->d_name);
		FILE *f = fopen(p, "r");
		unsigned long long ns;
		if (!f)
			continue; /* the thread just ended */
		ok = fscanf(f, "%llu", &ns) == 1;
		fclose(f);
		sum += ns;
		kind_ns[kind_of(pid, e->d_name)] += ns;
	}
	closedir(d);
	*ret = sum;
	return ok;
}

static struct cpu_sample cpu_sample(long pid)
{
	struct cpu_sample s = {.stat_ticks = read_stat_ticks(pid)};
	s.sched_ok = read_sched_ns(pid, &s.sched_ns, s.kind_ns);
	return s;
}

/* ---- subcommands ---------------------------------------------------------- */

static int bench_rtt(const struct opts *o)
{
	gpucmd_client *c = connect_daemon(o);
	struct names nm = query_names(c);
	struct addjob j;
	addjob_init(&j, c, SMALL_N, "bench-rtt");
	uint64_t *lat = malloc(o->iters * sizeof *lat);
	if (!lat)
		die("out of memory");
	for (uint64_t i = 0; i < o->warmup; i++)
		addjob_step(&j);
	addjob_clear(&j);
	uint64_t start = now_ns();
	for (uint64_t i = 0; i < o->iters; i++) {
		uint64_t t = now_ns();
		addjob_step(&j);
		lat[i] = now_ns() - t;
	}
	uint64_t total = now_ns() - start;
	addjob_check(&j, "rtt");

	json_head("rtt", nm.device, nm.driver);
	printf(",\"wait\":\"gpucmd\",\"iters\":%" PRIu64 ",\"warmup\":%" PRIu64 ",\"elements\":%u",
	       o->iters, o->warmup, SMALL_N);
	json_stats("latency_ns", summarize(lat, o->iters), true);
	printf(",\"total_ns\":%" PRIu64 ",\"throughput_per_s\":%.1f,\"valid\":true", total,
	       (double)o->iters * 1e9 / (double)total);
	json_array("samples_ns", lat, o->iters);
	printf("}\n");
	free(lat);
	addjob_destroy(&j);
	gpucmd_disconnect(c);
	return 0;
}

/* stream: inproc.c's stream through gpucmdd; dispatch d writes slice
 * d mod `outputs` of the output, and hazard tracking decides the barriers
 * (their count is checked against the in-process side's rule). */
static int bench_stream(const struct opts *o)
{
	gpucmd_client *c = connect_daemon(o);
	struct names nm = query_names(c);
	struct addjob j;
	addjob_init(&j, c, SMALL_N, "bench-stream");
	const uint64_t slice = SMALL_N * sizeof(float);
	gpucmd_buffer outs;
	GC(c, gpucmd_buffer_create(c, slice * o->outputs, 0, &outs));
	const uint32_t groups = (j.n + j.k.local_size[0] - 1) / j.k.local_size[0];
	struct gpucmd_session_state st0, st1;
	uint64_t *total = malloc(o->repeats * sizeof *total), *per = malloc(o->repeats * sizeof *per);
	uint64_t *enq = malloc(o->repeats * sizeof *enq), *eper = malloc(o->repeats * sizeof *eper);
	if (!total || !per || !enq || !eper)
		die("out of memory");
	uint64_t cpu_ticks = 0, cpu_sched_ns = 0, kind_ns[T_KINDS] = {0};
	bool sched_ok = true;
	if (o->eager)
		addjob_eager(&j);
	for (uint64_t r = 0; r < o->repeats; r++) {
		GC(c, gpucmd_buffer_fill(c, j.s, outs, 0, 0, 0));
		GC(c, gpucmd_commit_and_wait(c, j.s));
		GC(c, gpucmd_reset_for_next_stage(c, j.s));
		GC(c, gpucmd_session_query(c, j.s, &st0));
		struct cpu_sample before = {0}, after = {0};
		if (o->daemon_pid)
			before = cpu_sample(o->daemon_pid);
		uint64_t t = now_ns();
		for (uint64_t d = 0; d < o->dispatches; d++) {
			const struct gpucmd_binding bind[3] = {
				{.buffer = j.a}, {.buffer = j.b}, {.buffer = outs, .offset = d % o->outputs * slice, .size = slice}};
			GC(c, gpucmd_dispatch(c, j.s, j.k.id, bind, 3, &j.n, sizeof j.n, groups, 1, 1));
		}
		enq[r] = now_ns() - t; /* time to hand all dispatches to libgpucmd */
		GC(c, gpucmd_commit_and_wait(c, j.s));
		total[r] = now_ns() - t;
		if (o->daemon_pid) {
			after = cpu_sample(o->daemon_pid);
			cpu_ticks += after.stat_ticks - before.stat_ticks;
			cpu_sched_ns += after.sched_ns - before.sched_ns;
			for (int k = 0; k < T_KINDS; k++)
				kind_ns[k] += after.kind_ns[k] - before.kind_ns[k];
			sched_ok = sched_ok && before.sched_ok && after.sched_ok;
		}
		GC(c, gpucmd_session_query(c, j.s, &st1));
		/* An eager stage's parts start with no barrier: the semaphore
		 * between them orders them. */
		const uint64_t want = (o->dispatches - 1) / o->outputs, got = st1.barriers - st0.barriers,
			       cuts = st1.command_buffers - st0.command_buffers - 1;
		if (got > want || got + cuts < want)
			die("stream: %" PRIu64 " barriers for %" PRIu64 " dispatches over %" PRIu64 " outputs, expected %" PRIu64,
			    got, o->dispatches, o->outputs, want);
		GC(c, gpucmd_reset_for_next_stage(c, j.s));
		for (uint64_t k = 0; k < o->outputs && k < o->dispatches; k++) {
			GC(c, gpucmd_buffer_read(c, outs, k * slice, j.hout, slice));
			for (uint32_t i = 0; i < j.n; i++)
				if (j.hout[i] != j.ha[i] + j.hb[i])
					die("stream: wrong result: output %" PRIu64 "[%u] = %g, expected %g", k, i, j.hout[i],
					    j.ha[i] + j.hb[i]);
		}
		per[r] = total[r] / o->dispatches;
		eper[r] = enq[r] / o->dispatches;
	}
	json_head("stream", nm.device, nm.driver);
	printf(",\"dispatches\":%" PRIu64 ",\"repeats\":%" PRIu64 ",\"outputs\":%" PRIu64 ",\"barriers\":%" PRIu64
	       ",\"elements\":%u,\"eager\":%s",
	       o->dispatches, o->repeats, o->outputs, (o->dispatches - 1) / o->outputs, SMALL_N,
	       o->eager ? "true" : "false");
	json_stats("ns_per_dispatch", summarize(per, o->repeats), false);
	json_stats("enqueue_ns_per_dispatch", summarize(eper, o->repeats), false);
	json_array("total_ns", total, o->repeats);
	json_array("enqueue_ns", enq, o->repeats);
	if (o->daemon_pid) {
		/* Over every repeat: daemon CPU time (all threads) between the first
		 * dispatch and commit_and_wait's answer, divided by the dispatches. */
		double n = (double)(o->dispatches * o->repeats);
		long hz = sysconf(_SC_CLK_TCK);
		double stat_ns = (double)cpu_ticks * 1e9 / (double)(hz > 0 ? hz : 100);
		printf(",\"daemon_pid\":%ld,\"daemon_cpu\":{\"stat_ticks\":%" PRIu64 ",\"clk_tck\":%ld"
		       ",\"ns_per_dispatch\":%.1f",
		       o->daemon_pid, cpu_ticks, hz, stat_ns / n);
		if (sched_ok) {
			printf(",\"schedstat_ns\":%" PRIu64 ",\"schedstat_ns_per_dispatch\":%.1f", cpu_sched_ns,
			       (double)cpu_sched_ns / n);
			for (int k = 0; k < T_KINDS; k++)
				printf(",\"%s_ns_per_dispatch\":%.1f", thread_kind[k], (double)kind_ns[k] / n);
		}
		printf("}");
	} else {
		printf(",\"daemon_cpu\":null");
	}
	printf(",\"valid\":true}\n");
	free(total), free(per), free(enq), free(eper);
	GC(c, gpucmd_buffer_free(c, outs));
	addjob_destroy(&j);
	gpucmd_disconnect(c);
	return 0;
}

static int bench_coldstart(const struct opts *o)
{
	const uint32_t n = 1024;
	gpucmd_client *c = connect_daemon(o);
	uint64_t t_conn = now_ns();
	struct addjob j;
	addjob_init(&j, c, n, "bench-coldstart");
	uint64_t t_setup = now_ns();
	addjob_dispatch(&j);
	GC(c, gpucmd_commit_and_wait(c, j.s));
	addjob_check(&j, "coldstart");
	uint64_t t_end = now_ns();

	struct names nm = query_names(c); /* after the clock stops: not part of a cold start */
	json_head("coldstart", nm.device, nm.driver);
	printf(",\"elements\":%u,\"total_ns\":%" PRIu64 ",\"phases_ns\":{\"connect\":%" PRIu64
	       ",\"setup\":%" PRIu64 ",\"dispatch\":%" PRIu64 "},\"valid\":true}\n",
	       n, t_end - o->t0, t_conn - o->t0, t_setup - t_conn, t_end - t_setup);
	addjob_destroy(&j);
	gpucmd_disconnect(c);
	return 0;
}

/* What a multiproc child reports; smaller than PIPE_BUF, so one write is atomic. */
struct proc_result {
	uint64_t count, elapsed_ns, median_ns, p99_ns;
	struct names nm;
};

/* The p-th of the comma-separated sockets in list (wrapping), in buf. */
static const char *nth_socket(const char *list, uint64_t p, char *buf, size_t len)
{
	uint64_t n = 1;
	for (const char *q = list; *q; q++)
		n += *q == ',';
	const char *start = list;
	for (uint64_t k = p % n; k; k--)
		start = strchr(start, ',') + 1;
	snprintf(buf, len, "%.*s", (int)strcspn(start, ","), start);
	return buf;
}

static int multiproc_child(const struct opts *o, uint64_t p, int ready_w, int start_r, int result_w)
{
	char sock[256];
	struct opts mine = *o;
	if (o->socket)
		mine.socket = nth_socket(o->socket, p, sock, sizeof sock);
	gpucmd_client *c = connect_daemon(&mine);
	struct addjob j;
	char label[32];
	snprintf(label, sizeof label, "bench-mp-%ld", (long)getpid());
	addjob_init(&j, c, SMALL_N, label);
	addjob_step(&j); /* warm-up */
	addjob_clear(&j);
	struct proc_result r = {.nm = query_names(c)};
	size_t cap = 1 << 16, n = 0;
	uint64_t *lat = malloc(cap * sizeof *lat);
	if (!lat)
		die("out of memory");
	char byte = 1;
	if (write(ready_w, &byte, 1) != 1)
		die("multiproc: ready pipe: %s", strerror(errno));
	close(ready_w);
	while (read(start_r, &byte, 1) > 0) /* EOF = start */
		;
	uint64_t start = now_ns(), end = start + (uint64_t)(o->seconds * 1e9), t;
	do {
		t = now_ns();
		addjob_step(&j);
		if (n == cap && !(lat = realloc(lat, (cap *= 2) * sizeof *lat)))
			die("out of memory");
		lat[n++] = now_ns() - t;
	} while (t + lat[n - 1] < end);
	r.count = n;
	r.elapsed_ns = now_ns() - start;
	addjob_check(&j, "multiproc");
	struct stats s = summarize(lat, n);
	r.median_ns = s.median, r.p99_ns = s.p99;
	if (write(result_w, &r, sizeof r) != (ssize_t)sizeof r)
		die("multiproc: result pipe: %s", strerror(errno));
	free(lat);
	addjob_destroy(&j);
	gpucmd_disconnect(c);
	return 0;
}

static int bench_multiproc(const struct opts *o)
{
	_Static_assert(sizeof(struct proc_result) <= 4096, "one atomic pipe write");
	int ready[2], start[2], result[2];
	if (pipe(ready) || pipe(start) || pipe(result))
		die("pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t *pids = calloc(o->procs, sizeof *pids);
	struct proc_result *res = calloc(o->procs, sizeof *res);
	uint64_t *medians = calloc(o->procs, sizeof *medians);
	if (!pids || !res || !medians)
		die("out of memory");
	for (uint64_t p = 0; p < o->procs; p++) {
		pids[p] = fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] == 0) {
			close(ready[0]), close(start[1]), close(result[0]);
			exit(multiproc_child(o, p, ready[1], start[0], result[1]));
		}
	}
	close(ready[1]), close(start[0]), close(result[1]);
	uint64_t n_ready = 0;
	char byte;
	while (n_ready < o->procs && read(ready[0], &byte, 1) == 1)
		n_ready++;
	close(start[1]); /* the start barrier: every child's read() returns EOF */
	uint64_t n_res = 0;
	while (n_res < o->procs && read(result[0], &res[n_res], sizeof *res) == (ssize_t)sizeof *res)
		n_res++;
	bool failed = false;
	for (uint64_t p = 0; p < o->procs; p++) {
		int st;
		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed = true;
	}
	if (failed || n_ready < o->procs || n_res < o->procs)
		die("multiproc: %" PRIu64 " of %" PRIu64 " children ready, %" PRIu64 " reported%s",
		    n_ready, o->procs, n_res, failed ? ", some failed (see above)" : "");

	double rate = 0;
	for (uint64_t p = 0; p < o->procs; p++) {
		rate += (double)res[p].count * 1e9 / (double)res[p].elapsed_ns;
		medians[p] = res[p].median_ns;
	}
	json_head("multiproc", res[0].nm.device, res[0].nm.driver);
	uint64_t n_sockets = 1;
	for (const char *q = o->socket ? o->socket : ""; *q; q++)
		n_sockets += *q == ',';
	printf(",\"procs\":%" PRIu64 ",\"sockets\":%" PRIu64 ",\"seconds\":%g,\"submissions_per_s\":%.1f,"
	       "\"latency_median_ns\":%" PRIu64,
	       o->procs, n_sockets, o->seconds, rate, summarize(medians, o->procs).median);
	printf(",\"per_proc\":[");
	for (uint64_t p = 0; p < o->procs; p++)
		printf("%s{\"count\":%" PRIu64 ",\"elapsed_ns\":%" PRIu64 ",\"median_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 "}",
		       p ? "," : "", res[p].count, res[p].elapsed_ns, res[p].median_ns, res[p].p99_ns);
	printf("],\"valid\":true}\n");
	free(pids), free(res), free(medians);
	return 0;
}

/* Inline buffer_write / buffer_read of a device-local buffer through the
 * daemon (staged copies on a discrete GPU), against inproc's staging. */
static int bench_transfer(const struct opts *o)
{
	gpucmd_client *c = connect_daemon(o);
	struct names nm = query_names(c);
	const uint64_t size = o->mib << 20, runs = o->repeats + 1; /* run 0 is a warm-up */
	uint64_t *up = calloc(runs, sizeof *up), *down = calloc(runs, sizeof *down);
	uint32_t *src = malloc(size), *dst = malloc(size);
	if (!up || !down || !src || !dst)
		die("out of memory for 2 x %" PRIu64 " MiB", o->mib);
	uint32_t x = 2463534242u; /* xorshift32 pattern, as inproc */
	for (size_t i = 0; i < size / 4; i++)
		x ^= x << 13, x ^= x >> 17, x ^= x << 5, src[i] = x;
	gpucmd_buffer b;
	GC(c, gpucmd_buffer_create(c, size, 0, &b));
	for (uint64_t r = 0; r < runs; r++) {
		memset(dst, 0, size);
		uint64_t t = now_ns();
		GC(c, gpucmd_buffer_write(c, b, 0, src, size));
		up[r] = now_ns() - t;
		t = now_ns();
		GC(c, gpucmd_buffer_read(c, b, 0, dst, size));
		down[r] = now_ns() - t;
		if (memcmp(src, dst, size))
			die("transfer: round trip through gpucmdd changed the bytes (run %" PRIu64 ")", r);
	}
	json_head("transfer", nm.device, nm.driver);
	printf(",\"mib\":%" PRIu64 ",\"repeats\":%" PRIu64, o->mib, o->repeats);
	print_rates("inline", up + 1, down + 1, o->repeats, size);

	/* Shared memory: the data is already in the client's memfd mapping, as
	 * in inproc's imported run; a copy in a stage moves it. */
	gpucmd_buffer sh;
	uint32_t *map;
	bool zero_copy;
	gpucmd_session s;
	GC(c, gpucmd_buffer_create_shared(c, size, &sh, (void **)&map, &zero_copy));
	GC(c, gpucmd_session_open(c, "transfer", &s));
	for (uint64_t r = 0; r < runs; r++) {
		memcpy(map, src, size);
		uint64_t t = now_ns();
		GC(c, gpucmd_buffer_copy(c, s, sh, 0, b, 0, size));
		GC(c, gpucmd_commit_and_wait(c, s));
		up[r] = now_ns() - t;
		GC(c, gpucmd_reset_for_next_stage(c, s));
		memset(map, 0, size);
		t = now_ns();
		GC(c, gpucmd_buffer_copy(c, s, b, 0, sh, 0, size));
		GC(c, gpucmd_commit_and_wait(c, s));
		down[r] = now_ns() - t;
		GC(c, gpucmd_reset_for_next_stage(c, s));
		if (memcmp(src, map, size))
			die("transfer: shared-memory round trip changed the bytes (run %" PRIu64 ")", r);
	}
	print_rates("shared", up + 1, down + 1, o->repeats, size);
	printf(",\"zero_copy\":%s,\"valid\":true}\n", zero_copy ? "true" : "false");
	GC(c, gpucmd_session_close(c, s));
	GC(c, gpucmd_buffer_free(c, sh));
	GC(c, gpucmd_buffer_free(c, b));
	gpucmd_disconnect(c);
	free(up), free(down), free(src), free(dst);
	return 0;
}

/* A client that keeps the GPU busy: stages of 4 fills of --mib MiB,
 * committed without waiting, for as long as it lives (the daemon's
 * in-flight limit holds it back). */
static _Noreturn void flood(const struct opts *o, int ready_w)
{
	gpucmd_client *c = connect_daemon(o);
	struct gpucmd_kernel_info fill;
	gpucmd_buffer b;
	gpucmd_session s;
	uint32_t n = (uint32_t)(o->mib << 18); /* floats */
	GC(c, gpucmd_kernel_find(c, "fill_f32", &fill));
	GC(c, gpucmd_buffer_create(c, o->mib << 20, 0, &b));
	GC(c, gpucmd_session_open(c, "flood", &s));
	struct gpucmd_binding bind = {b, 0, 0};
	struct { uint32_t n; float v; } fp = {n, 1.0f};
	if (write(ready_w, "x", 1) != 1)
		die("flood: pipe");
	for (;;) {
		for (int k = 0; k < 4; k++)
			GC(c, gpucmd_dispatch(c, s, fill.id, &bind, 1, &fp, 8, (n + 255) / 256, 1, 1));
		GC(c, gpucmd_commit_stage(c, s));
		GC(c, gpucmd_reset_for_next_stage(c, s));
	}
}

/* Normal-priority stages the daemon has taken in, everyone's: it takes a
 * flooder's in at the pace its work retires (the in-flight limits). */
static uint64_t normal_stages(gpucmd_client *c)
{
	struct gpucmd_status st;
	GC(c, gpucmd_status(c, &st));
	uint64_t n = st.priorities[GPUCMD_PRIORITY_NORMAL].stages;
	gpucmd_status_free(&st);
	return n;
}

static void rtt_loop(struct addjob *j, uint64_t *lat, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t = now_ns();
		addjob_step(j);
		lat[i] = now_ns() - t;
	}
}

/* A latency baseline measured before and after a shared phase: the one of
 * lower median. The first measurement can catch the GPU at idle clocks
 * (the H200's HIGH client alone at 46-70 µs against 31-36 once warm),
 * which flattered the ratios taken over it. */
static struct stats baseline(struct stats before, struct stats after)
{
	return after.median < before.median ? after : before;
}

/* Fairness: the rtt of a light client alone, then while another client
 * floods the GPU with heavy stages; and the flood's stages per second
 * while the light client is quiet against while it runs (what fairness
 * costs the flooder). */
static int bench_fairness(const struct opts *o)
{
	gpucmd_client *c = connect_daemon(o);
	struct names nm = query_names(c);
	struct addjob j;
	addjob_init(&j, c, SMALL_N, "bench-fairness");
	uint64_t *idle[2], *busy = malloc(o->iters * sizeof *busy);
	idle[0] = malloc(o->iters * sizeof *idle[0]), idle[1] = malloc(o->iters * sizeof *idle[1]);
	if (!idle[0] || !idle[1] || !busy)
		die("out of memory");
	for (uint64_t i = 0; i < o->warmup; i++)
		addjob_step(&j);
	rtt_loop(&j, idle[0], o->iters);
	int p[2];
	if (pipe(p) < 0)
		die("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		flood(o, p[1]);
	char x;
	if (read(p[0], &x, 1) != 1)
		die("the flooding client did not start");
	/* Let the flood fill its in-flight allowance, the light client stop
	 * counting as waiting, and the GPU's clocks come up (an H200 idles at
	 * 780 of 1980 MHz: 100 ms here measured the flood alone at half its
	 * rate in some runs). The flood alone is measured before and after
	 * the shared phase, about as long as it each time. */
	usleep(500000);
	uint64_t n0 = normal_stages(c), t0 = now_ns();
	usleep(o->iters * 50);
	uint64_t n1 = normal_stages(c), t1 = now_ns();
	rtt_loop(&j, busy, o->iters);
	uint64_t n2 = normal_stages(c) - o->iters, t2 = now_ns(); /* less the light client's own */
	usleep(100000); /* past fair_window_ms */
	uint64_t n3 = normal_stages(c), t3 = now_ns();
	usleep(o->iters * 50);
	uint64_t n4 = normal_stages(c), t4 = now_ns();
	double alone = (double)(n1 - n0 + n4 - n3) * 1e9 / (double)(t1 - t0 + t4 - t3);
	double shared = (double)(n2 - n1) * 1e9 / (double)(t2 - t1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* What the flooder sent before it died still runs (the daemon reads it
	 * as its work retires): wait for its connection to end, so that the
	 * benchmarks after this one get an idle GPU. */
	for (int i = 0;; i++) {
		struct gpucmd_status st;
		GC(c, gpucmd_status(c, &st));
		uint32_t clients = st.clients;
		gpucmd_status_free(&st);
		if (clients == 1)
			break;
		if (i == 6000)
			die("fairness: the killed flooder's connection is still open after 60 s");
		usleep(10000);
	}
	rtt_loop(&j, idle[1], o->iters); /* idle again, the clocks up (baseline()) */
	addjob_clear(&j);
	addjob_step(&j);
	addjob_check(&j, "fairness");
	struct stats sib[2] = {summarize(idle[0], o->iters), summarize(idle[1], o->iters)};
	struct stats si = baseline(sib[0], sib[1]), sb = summarize(busy, o->iters);
	json_head("fairness", nm.device, nm.driver);
	printf(",\"iters\":%" PRIu64, o->iters);
	json_stats("idle_before_latency_ns", sib[0], true);
	json_stats("idle_after_latency_ns", sib[1], true);
	json_stats("idle_latency_ns", si, true);
	json_stats("flood_latency_ns", sb, true);
	printf(",\"median_ratio\":%.3f,\"p99_ratio\":%.3f", (double)sb.median / (double)si.median,
	       (double)sb.p99 / (double)si.p99);
	printf(",\"flood_stages_per_s_alone\":%.1f,\"flood_stages_per_s_shared\":%.1f,\"flood_throughput_ratio\":%.3f", alone,
	       shared, alone > 0 ? shared / alone : 0.0);
	printf(",\"valid\":true}\n");
	free(idle[0]), free(idle[1]), free(busy);
	addjob_destroy(&j);
	gpucmd_disconnect(c);
	return 0;
}

/*
 * replay: inproc.c's replay through the daemon. `nodes` dependent add_f32
 * dispatches ping-ponging between X and Y (dst = src + ones) are captured
 * once into a graph (the daemon puts a barrier between each: every node
 * reads what the one before wrote); then each iteration is one
 * graph_replay message plus commit_and_wait and reset_for_next_stage.
 * The host replays the same float adds to check.
 */
static int bench_replay(const struct opts *o)
{
	gpucmd_client *c = connect_daemon(o);
	struct names nm = query_names(c);
	struct gpucmd_kernel_info k;
	GC(c, gpucmd_kernel_find(c, "add_f32", &k));
	const uint32_t n = SMALL_N;
	const size_t size = n * sizeof(float);
	float *hx = malloc(size), *hones = malloc(size), *got = malloc(size);
	uint64_t *lat = malloc(o->iters * sizeof *lat);
	if (!hx || !hones || !got || !lat)
		die("out of memory");
	for (uint32_t i = 0; i < n; i++)
		hx[i] = (float)i, hones[i] = 1.0f;
	gpucmd_buffer xy[2], ones;
	gpucmd_session s;
	for (int i = 0; i < 2; i++)
		GC(c, gpucmd_buffer_create(c, size, 0, &xy[i]));
	GC(c, gpucmd_buffer_create(c, size, 0, &ones));
	GC(c, gpucmd_buffer_write(c, xy[0], 0, hx, size));
	GC(c, gpucmd_buffer_write(c, ones, 0, hones, size));
	GC(c, gpucmd_session_open(c, "bench-replay", &s));

	uint64_t t = now_ns();
	gpucmd_graph g;
	struct gpucmd_graph_info gi;
	GC(c, gpucmd_capture_begin(c, s));
	uint32_t groups = (n + k.local_size[0] - 1) / k.local_size[0];
	for (uint64_t i = 0; i < o->nodes; i++) {
		const struct gpucmd_binding bind[3] = {{.buffer = xy[i % 2]}, {.buffer = ones}, {.buffer = xy[(i + 1) % 2]}};
		GC(c, gpucmd_dispatch(c, s, k.id, bind, 3, &n, sizeof n, groups, 1, 1));
	}
	GC(c, gpucmd_capture_end(c, s, &g, &gi));
	uint64_t record = now_ns() - t;

	for (uint64_t i = 0; i < o->warmup + o->iters; i++) {
		t = now_ns();
		GC(c, gpucmd_graph_replay(c, s, g, NULL, 0, NULL, 0));
		GC(c, gpucmd_commit_and_wait(c, s));
		if (i >= o->warmup)
			lat[i - o->warmup] = now_ns() - t;
		GC(c, gpucmd_reset_for_next_stage(c, s));
	}
	for (int which = 0; which < 2; which++) {
		GC(c, gpucmd_buffer_read(c, xy[which], 0, got, size));
		for (uint32_t e = 0; e < n; e++) {
			float v[2] = {(float)e, 0.0f}; /* X starts at e, Y at 0 */
			for (uint64_t r = 0; r < o->warmup + o->iters; r++)
				for (uint64_t i = 0; i < o->nodes; i++)
					v[(i + 1) % 2] = v[i % 2] + 1.0f;
			if (got[e] != v[which])
				die("replay: wrong result: %c[%u] = %g, expected %g", "XY"[which], e, got[e], v[which]);
		}
	}
	json_head("replay", nm.device, nm.driver);
	printf(",\"nodes\":%" PRIu64 ",\"iters\":%" PRIu64 ",\"warmup\":%" PRIu64 ",\"elements\":%u,\"record_ns\":%" PRIu64
	       ",\"graph_barriers\":%u",
	       o->nodes, o->iters, o->warmup, n, record, gi.barriers);
	json_stats("latency_ns", summarize(lat, o->iters), true);
	printf(",\"valid\":true");
	json_array("samples_ns", lat, o->iters);
	printf("}\n");
	GC(c, gpucmd_graph_free(c, g));
	GC(c, gpucmd_session_close(c, s));
	for (int i = 0; i < 2; i++)
		GC(c, gpucmd_buffer_free(c, xy[i]));
	GC(c, gpucmd_buffer_free(c, ones));
	gpucmd_disconnect(c);
	free(hx), free(hones), free(got), free(lat);
	return 0;
}

/* ---- priority: a HIGH client beside bulk work ------------------------------ */

/* The bulk work of the priority benchmark: one dispatch per stage, tiny
 * (add_f32 over SMALL_N) or a matmul_f32 of m x m outputs whose k is
 * calibrated to run about kernel_us. */
struct bulkwork {
	uint32_t m, k;             /* matmul sizes; m == 0: tiny add_f32 */
	double kernel_us;          /* measured: one stage alone, median */
};

struct bulkjob {
	gpucmd_client *c;
	gpucmd_session s;
	struct addjob add;
	struct gpucmd_kernel_info mm;
	gpucmd_buffer a, b, out;
	struct bulkwork w;
};

/* Room for k up to kcap in the matmul's inputs. */
static void bulkjob_init(struct bulkjob *j, gpucmd_client *c, struct bulkwork w, uint32_t kcap)
{
	*j = (struct bulkjob){.c = c, .w = w};
	addjob_init(&j->add, c, SMALL_N, "bench-priority-bulk");
	j->s = j->add.s;
	if (!w.m)
		return;
	GC(c, gpucmd_kernel_find(c, "matmul_f32", &j->mm));
	GC(c, gpucmd_buffer_create(c, (uint64_t)w.m * kcap * sizeof(float), 0, &j->a));
	GC(c, gpucmd_buffer_create(c, (uint64_t)w.m * kcap * sizeof(float), 0, &j->b));
	GC(c, gpucmd_buffer_create(c, (uint64_t)w.m * w.m * sizeof(float), 0, &j->out));
}

static void bulkjob_dispatch(struct bulkjob *j)
{
	if (!j->w.m) {
		addjob_dispatch(&j->add);
		return;
	}
	const struct gpucmd_binding bind[3] = {{.buffer = j->a}, {.buffer = j->b}, {.buffer = j->out}};
	/* matmul_f32.comp: 128 x 128 output tiles a workgroup */
	uint32_t pc[3] = {j->w.m, j->w.m, j->w.k}, g = (j->w.m + 127) / 128;
	GC(j->c, gpucmd_dispatch(j->c, j->s, j->mm.id, bind, 3, pc, sizeof pc, g, g, 1));
}

static void bulkjob_destroy(struct bulkjob *j)
{
	if (j->w.m) {
		GC(j->c, gpucmd_buffer_free(j->c, j->a));
		GC(j->c, gpucmd_buffer_free(j->c, j->b));
		GC(j->c, gpucmd_buffer_free(j->c, j->out));
	}
	addjob_destroy(&j->add);
}

/* The median of three stages of w alone, in microseconds. */
static double bulk_stage_us(struct bulkjob *j)
{
	uint64_t t[3];
	for (int i = 0; i < 3; i++) {
		uint64_t t0 = now_ns();
		bulkjob_dispatch(j);
		GC(j->c, gpucmd_commit_and_wait(j->c, j->s));
		GC(j->c, gpucmd_reset_for_next_stage(j->c, j->s));
		t[i] = now_ns() - t0;
	}
	return (double)summarize(t, 3).median / 1000.0;
}

/* k for a matmul of m x m outputs that runs about target_us, its inputs a
 * GiB each at most (64 MiB quick). */
static struct bulkwork calibrate(gpucmd_client *c, double target_us, bool quick)
{
	struct bulkwork w = {.m = target_us <= 0 ? 0 : quick ? 64 : target_us >= 10000 ? 2048 : 1024, .k = 64};
	uint32_t kmax = w.m ? (quick ? 1u << 24 : 1u << 28) / w.m : 0;
	struct bulkjob j;
	bulkjob_init(&j, c, w, kmax);
	for (int round = 0; w.m && round < 6; round++) {
		j.w = w;
		w.kernel_us = bulk_stage_us(&j);
		double scale = target_us / (w.kernel_us > 1 ? w.kernel_us : 1);
		if (scale > 0.8 && scale < 1.25)
			break;
		double k = w.k * (scale > 16 ? 16 : scale);
		w.k = k < 16 ? 16 : k > kmax ? kmax : (uint32_t)k;
	}
	if (!w.m)
		w.kernel_us = bulk_stage_us(&j);
	bulkjob_destroy(&j);
	return w;
}

#define BULK_AHEAD 8
static volatile sig_atomic_t bulk_stop;
static void on_bulk_stop(int sig) { (void)sig; bulk_stop = 1; }

/* A bulk process: stages of one dispatch committed without waiting until
 * SIGUSR1, then drained and checked; writes a byte to result_w once done. */
static _Noreturn void bulk_child(const struct opts *o, struct bulkwork w, int ready_w, int result_w)
{
	struct sigaction sa = {.sa_handler = on_bulk_stop};
	sigaction(SIGUSR1, &sa, NULL);
	/* BENCH_BULK_SPIN_US: how long the bulk processes alone poll for a
	 * reply (GPUCMD_SPIN_US), to see what their polling costs the others. */
	const char *spin = getenv("BENCH_BULK_SPIN_US");
	if (spin && *spin)
		setenv("GPUCMD_SPIN_US", spin, 1);
	gpucmd_client *c = connect_daemon(o);
	struct bulkjob j;
	bulkjob_init(&j, c, w, w.k);
	if (write(ready_w, "x", 1) != 1)
		die("priority: ready pipe");
	/* At most BULK_AHEAD stages outstanding (the socket would otherwise
	 * hold thousands that the daemon reads as work retires): each stage
	 * signals the session's fence, and the process waits on the host for
	 * the one BULK_AHEAD back. */
	gpucmd_token tok;
	GC(c, gpucmd_fence_export(c, j.s, &tok));
	uint64_t stages = 0;
	while (!bulk_stop) {
		bulkjob_dispatch(&j);
		GC(c, gpucmd_fence_stage(c, j.s, "bulk"));
		GC(c, gpucmd_reset_for_next_stage(c, j.s));
		if (++stages > BULK_AHEAD)
			GC(c, gpucmd_fence_wait(c, &tok, stages - BULK_AHEAD, 600000));
	}
	GC(c, gpucmd_commit_and_wait(c, j.s));
	if (!w.m)
		addjob_check(&j.add, "priority bulk");
	if (write(result_w, "x", 1) != 1)
		die("priority: result pipe");
	bulkjob_destroy(&j);
	gpucmd_disconnect(c);
	exit(0);
}

struct bulk_run { pid_t *pids; uint64_t n; int result_r; };

/* Starts the bulk processes and returns once they are all streaming;
 * meanwhile calls step(arg) over and over when given (the timeline's HIGH
 * client goes on while they connect and make their buffers). */
static struct bulk_run bulk_start(const struct opts *o, struct bulkwork w, void (*step)(void *), void *arg)
{
	struct bulk_run b = {.pids = calloc(o->procs, sizeof(pid_t)), .n = o->procs};
	int ready[2], result[2];
	if (!b.pids || pipe(ready) || pipe(result))
		die("priority: %s", strerror(errno));
	fflush(stdout);
	for (uint64_t p = 0; p < o->procs; p++) {
		if ((b.pids[p] = fork()) < 0)
			die("fork: %s", strerror(errno));
		if (b.pids[p] == 0) {
			close(ready[0]), close(result[0]);
			bulk_child(o, w, ready[1], result[1]);
		}
	}
	close(ready[1]), close(result[1]);
	char x;
	for (uint64_t p = 0; p < o->procs; p++) {
		while (step && poll(&(struct pollfd){.fd = ready[0], .events = POLLIN}, 1, 0) == 0)
			step(arg);
		if (read(ready[0], &x, 1) != 1)
			die("priority: a bulk process did not start");
	}
	close(ready[0]);
	b.result_r = result[0];
	usleep(50000); /* let the bulk processes fill their in-flight allowance */
	return b;
}

/* Tells the bulk processes to stop: each drains its stages, reports and
 * disconnects. */
static void bulk_signal_stop(struct bulk_run *b)
{
	for (uint64_t p = 0; p < b->n; p++)
		kill(b->pids[p], SIGUSR1);
}

/* Waits until they all drained, checked their results and ended. */
static void bulk_collect(struct bulk_run *b)
{
	char x;
	for (uint64_t p = 0; p < b->n; p++)
		if (read(b->result_r, &x, 1) != 1)
			die("priority: a bulk process did not report");
	for (uint64_t p = 0; p < b->n; p++) {
		int st;
		if (waitpid(b->pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("priority: a bulk process failed (see above)");
	}
	close(b->result_r);
	free(b->pids);
}

static void bulk_stop_all(struct bulk_run *b)
{
	bulk_signal_stop(b);
	bulk_collect(b);
}

/* HIGH round trips for up to n iterations or `seconds`; returns how many,
 * with their start times relative to t0 in at[] when at is not NULL. */
static uint64_t high_loop(struct addjob *h, uint64_t *lat, uint64_t *at, uint64_t n, double seconds, uint64_t t0)
{
	uint64_t end = now_ns() + (uint64_t)(seconds * 1e9), i = 0;
	for (; i < n && now_ns() < end; i++) {
		uint64_t t = now_ns();
		addjob_step(h);
		lat[i] = now_ns() - t;
		if (at)
			at[i] = t - t0;
	}
	return i;
}

/* With --daemon-pid: the share of a phase its loop and completion threads
 * spent on a CPU (schedstat), to tell a loop that runs out of time from
 * one that waits. */
struct cpu_share { struct cpu_sample s0; uint64_t t0; double loop, high, retire; };

static void cpu_share_begin(const struct opts *o, struct cpu_share *b)
{
	if (o->daemon_pid)
		b->s0 = cpu_sample(o->daemon_pid), b->t0 = now_ns();
}

static void cpu_share_end(const struct opts *o, struct cpu_share *b)
{
	if (!o->daemon_pid)
		return;
	struct cpu_sample s1 = cpu_sample(o->daemon_pid);
	double wall = (double)(now_ns() - b->t0);
	b->loop = (double)(s1.kind_ns[T_LOOP] - b->s0.kind_ns[T_LOOP]) / wall;
	b->retire = (double)(s1.kind_ns[T_RETIRE] - b->s0.kind_ns[T_RETIRE]) / wall;
	b->high = (double)(s1.kind_ns[T_HIGH] - b->s0.kind_ns[T_HIGH]) / wall;
}

/* The bulk processes' stages per second over exactly a measured window,
 * from the daemon's counts as fairness reads them (a process's own rate
 * would include its start and its drain). */
struct bulk_window { uint64_t stages, t0; };

static void bulk_window_begin(gpucmd_client *c, struct bulk_window *b)
{
	b->stages = normal_stages(c);
	b->t0 = now_ns();
}

static double bulk_window_rate(gpucmd_client *c, const struct bulk_window *b)
{
	uint64_t n = normal_stages(c);
	return (double)(n - b->stages) * 1e9 / (double)(now_ns() - b->t0);
}

/* Bulk's rate over short intervals while the HIGH client runs, read from
 * status on a connection of its own: the committed daemon once switched
 * within a run between 35-55 k stages/s and a starved 1-3 k
 * (BENCHMARKS.md, "2026-12-04"), which one window's mean hides. */
#define SAMPLE_MS 25
#define MAX_SAMPLES 1024
struct bulk_sampler {
	const struct opts *o;
	pthread_t th;
	atomic_bool stop;
	uint32_t n;
	uint64_t rate[MAX_SAMPLES]; /* stages per second */
};

static void *bulk_sampler_main(void *arg)
{
	struct bulk_sampler *s = arg;
	gpucmd_client *c = connect_daemon(s->o);
	uint64_t prev = normal_stages(c), t0 = now_ns();
	for (;;) {
		usleep(SAMPLE_MS * 1000);
		if (atomic_load(&s->stop) || s->n == MAX_SAMPLES)
			break; /* an interval that ran past the window is not counted */
		uint64_t n = normal_stages(c), t = now_ns();
		s->rate[s->n++] = (n - prev) * 1000000000u / (t - t0);
		prev = n, t0 = t;
	}
	gpucmd_disconnect(c);
	return NULL;
}

static void bulk_sampler_start(struct bulk_sampler *s, const struct opts *o)
{
	s->o = o;
	s->n = 0;
	atomic_store(&s->stop, false);
	if (pthread_create(&s->th, NULL, bulk_sampler_main, s) != 0)
		die("priority: cannot start the bulk sampler");
}

/* Ends the sampling: the window is over. */
static void bulk_sampler_stop(struct bulk_sampler *s)
{
	atomic_store(&s->stop, true);
}

/* Waits for the sampler (stopped) and prints its key: the intervals' rates
 * and the share of them below a tenth of `alone`. */
static void bulk_sampler_report(struct bulk_sampler *s, double alone)
{
	pthread_join(s->th, NULL);
	uint32_t starved = 0;
	for (uint32_t i = 0; i < s->n; i++)
		starved += (double)s->rate[i] < alone / 10;
	qsort(s->rate, s->n, sizeof(*s->rate), cmp_u64);
	uint64_t min = s->n ? s->rate[0] : 0, p10 = s->n ? s->rate[s->n / 10] : 0, med = s->n ? s->rate[s->n / 2] : 0;
	printf(",\"bulk_rate_with_high\":{\"interval_ms\":%d,\"samples\":%u,\"min\":%" PRIu64 ",\"p10\":%" PRIu64
	       ",\"median\":%" PRIu64 ",\"starved_fraction\":%.3f}",
	       SAMPLE_MS, s->n, min, p10, med, s->n ? (double)starved / s->n : 0.0);
}

/* The bulk processes' stages per second, with nothing else running. */
static double bulk_alone(const struct opts *o, gpucmd_client *c, struct bulkwork w, struct cpu_share *busy)
{
	struct bulk_run b = bulk_start(o, w, NULL, NULL);
	struct bulk_window win;
	cpu_share_begin(o, busy);
	bulk_window_begin(c, &win);
	usleep((useconds_t)(o->seconds * 1e6));
	double rate = bulk_window_rate(c, &win);
	cpu_share_end(o, busy);
	bulk_stop_all(&b);
	return rate;
}

/* One HIGH round trip of the timeline's, while the bulk processes start. */
struct timeline_run { struct addjob *h; uint64_t *lat, *at, cap, n, t0; };
static void timeline_step(void *arg)
{
	struct timeline_run *r = arg;
	if (r->n < r->cap)
		r->n += high_loop(r->h, r->lat + r->n, r->at + r->n, 1, 1.0, r->t0);
}

/* The HIGH latency over time while bulk work starts (after `seconds`) and
 * is told to stop (`seconds` later; the last `seconds` include its drain
 * and the bulk clients' disconnects): the median and the longest round
 * trip (a stall shows there, in the bin where it ends) over bins of a
 * tenth of that, as "timeline". */
static void priority_timeline(const struct opts *o, struct addjob *h, struct bulkwork w)
{
	uint64_t cap = 1u << 20, *lat = malloc(cap * sizeof *lat), *at = malloc(cap * sizeof *at);
	if (!lat || !at)
		die("out of memory");
	uint64_t t0 = now_ns(), n = high_loop(h, lat, at, cap, o->seconds, t0), mark[2];
	struct timeline_run tr = {h, lat, at, cap, n, t0};
	struct bulk_run b = bulk_start(o, w, timeline_step, &tr);
	n = tr.n;
	mark[0] = now_ns() - t0;
	n += high_loop(h, lat + n, at + n, cap - n, o->seconds, t0);
	mark[1] = now_ns() - t0;
	bulk_signal_stop(&b);
	n += high_loop(h, lat + n, at + n, cap - n, o->seconds, t0);
	bulk_collect(&b);
	enum { BINS = 64 };
	uint64_t span = now_ns() - t0, bin = (uint64_t)(o->seconds * 1e8) + 1, tmp[4096];
	double med[BINS], most[BINS];
	uint32_t nb = 0;
	for (uint64_t b0 = 0, i = 0; b0 < span && nb < BINS; b0 += bin, nb++) {
		uint64_t k = 0, top = 0;
		for (; i < n && at[i] < b0 + bin; i++) {
			if (k < 4096)
				tmp[k++] = lat[i];
			top = lat[i] > top ? lat[i] : top;
		}
		med[nb] = k ? (double)summarize(tmp, k).median / 1000.0 : 0.0;
		most[nb] = (double)top / 1000.0;
	}
	printf(",\"timeline\":{\"bulk_start_ms\":%.1f,\"bulk_stop_ms\":%.1f,\"bin_ms\":%.2f,\"median_us\":[",
	       (double)mark[0] / 1e6, (double)mark[1] / 1e6, (double)bin / 1e6);
	for (uint32_t j = 0; j < nb; j++)
		printf("%s%.1f", j ? "," : "", med[j]);
	printf("],\"max_us\":[");
	for (uint32_t j = 0; j < nb; j++)
		printf("%s%.1f", j ? "," : "", most[j]);
	printf("]}");
	free(lat), free(at);
}

/* priority: the HIGH client's rtt alone, then while o->procs bulk processes
 * stream; the bulk throughput without and with the HIGH client. */
static int bench_priority(const struct opts *o)
{
	/* Says so at the handshake, as a latency-critical client would: gpucmdd
	 * serves it on its HIGH shard where it runs one. */
	gpucmd_client *c = connect_as(o, GPUCMD_PRIORITY_HIGH);
	struct names nm = query_names(c);
	struct bulkwork w = calibrate(c, (double)o->kernel_us, o->quick);
	struct addjob h;
	addjob_init(&h, c, SMALL_N, "bench-priority-high");
	GC(c, gpucmd_session_close(c, h.s));
	GC(c, gpucmd_session_open_priority(c, "bench-priority-high", GPUCMD_PRIORITY_HIGH, &h.s));
	/* The shared phase lasts o->seconds, like the bulk-alone one. */
	uint64_t busy_cap = (uint64_t)(o->seconds * 1e5) + o->iters;
	uint64_t *alone[2], *busy = malloc(busy_cap * sizeof *busy), n_alone[2];
	alone[0] = malloc(o->iters * sizeof *alone[0]), alone[1] = malloc(o->iters * sizeof *alone[1]);
	if (!alone[0] || !alone[1] || !busy)
		die("out of memory");
	for (uint64_t i = 0; i < o->warmup; i++)
		addjob_step(&h);
	n_alone[0] = high_loop(&h, alone[0], NULL, o->iters, o->seconds, 0);
	double rate_alone[2];
	struct cpu_share cpu[2] = {0};
	rate_alone[0] = bulk_alone(o, c, w, &cpu[0]);
	struct bulk_run b = bulk_start(o, w, NULL, NULL);
	struct bulk_window win;
	cpu_share_begin(o, &cpu[1]);
	static struct bulk_sampler sampler;
	bulk_sampler_start(&sampler, o);
	bulk_window_begin(c, &win);
	uint64_t t_busy = now_ns();
	uint64_t n_busy = high_loop(&h, busy, NULL, busy_cap, o->seconds, 0);
	t_busy = now_ns() - t_busy;
	double rate_with = bulk_window_rate(c, &win);
	bulk_sampler_stop(&sampler);
	cpu_share_end(o, &cpu[1]);
	/* The daemon's own view of the same round trips (its newest 1024),
	 * taken before the bulk processes stop: read later, it would be the
	 * alone phases' that the timeline ends with. */
	struct gpucmd_status st;
	GC(c, gpucmd_status(c, &st));
	bulk_stop_all(&b);
	/* Both alone again after the shared phase: the HIGH client's baseline
	 * is baseline()'s, the bulk rate alone (58-81 k stages/s between runs
	 * on the H200) the mean of the two. */
	n_alone[1] = high_loop(&h, alone[1], NULL, o->iters, o->seconds, 0);
	rate_alone[1] = bulk_alone(o, c, w, &(struct cpu_share){0});
	struct stats sab[2] = {summarize(alone[0], n_alone[0]), summarize(alone[1], n_alone[1])};
	struct stats sa = baseline(sab[0], sab[1]), sb = summarize(busy, n_busy);
	json_head("priority", nm.device, nm.driver);
	printf(",\"procs\":%" PRIu64 ",\"kernel\":\"%s\",\"kernel_target_us\":%" PRIu64 ",\"kernel_us\":%.1f"
	       ",\"matmul\":{\"m\":%u,\"k\":%u}",
	       o->procs, w.m ? "matmul_f32" : "add_f32", o->kernel_us, w.kernel_us, w.m, w.k);
	printf(",\"high_iters\":{\"alone\":%" PRIu64 ",\"with_bulk\":%" PRIu64 ",\"with_bulk_s\":%.3f}",
	       n_alone[0] + n_alone[1], n_busy, (double)t_busy / 1e9);
	json_stats("high_alone_before_ns", sab[0], true);
	json_stats("high_alone_after_ns", sab[1], true);
	json_stats("high_alone_ns", sa, true);
	json_stats("high_with_bulk_ns", sb, true);
	printf(",\"rtt_ratio\":%.3f,\"p99_ratio\":%.3f", (double)sb.median / (double)sa.median,
	       (double)sb.p99 / (double)sa.median);
	double rate_mean = (rate_alone[0] + rate_alone[1]) / 2;
	printf(",\"bulk_stages_per_s\":{\"alone_before\":%.1f,\"alone_after\":%.1f,\"alone\":%.1f,\"with_high\":%.1f}"
	       ",\"bulk_throughput_ratio\":%.3f",
	       rate_alone[0], rate_alone[1], rate_mean, rate_with, rate_with / rate_mean);
	bulk_sampler_report(&sampler, rate_mean);
	if (o->daemon_pid)
		printf(",\"daemon_busy\":{\"bulk_alone\":{\"loop\":%.3f,\"high\":%.3f,\"retire\":%.3f},"
		       "\"with_high\":{\"loop\":%.3f,\"high\":%.3f,\"retire\":%.3f}}",
		       cpu[0].loop, cpu[0].high, cpu[0].retire, cpu[1].loop, cpu[1].high, cpu[1].retire);
	priority_timeline(o, &h, w);
	const struct gpucmd_priority_status *ph = &st.priorities[GPUCMD_PRIORITY_HIGH];
	printf(",\"daemon\":{\"high_queue\":%s,\"bulk_kept_back\":%" PRIu64 ",\"high_rtt_median_us\":%u,"
	       "\"high_rtt_p99_us\":%u,\"shards\":%u,\"parks\":%" PRIu64 "}",
	       st.high_queue ? "true" : "false", st.bulk_kept_back, ph->rtt_median_us, ph->rtt_p99_us, st.shards, st.parks);
	gpucmd_status_free(&st);
	addjob_clear(&h);
	addjob_step(&h);
	addjob_check(&h, "priority");
	printf(",\"valid\":true}\n");
	free(alone[0]), free(alone[1]), free(busy);
	addjob_destroy(&h);
	gpucmd_disconnect(c);
	return 0;
}

/* ---- command line --------------------------------------------------------- */

static const struct {
	const char *name;
	int (*run)(const struct opts *);
	const char *flags; /* options it accepts, besides --socket */
} benches[] = {
	{"rtt", bench_rtt, "--iters --warmup"},
	{"stream", bench_stream, "--dispatches --repeats --outputs --daemon-pid --eager"},
	{"coldstart", bench_coldstart, ""},
	{"multiproc", bench_multiproc, "--procs --seconds"},
	{"transfer", bench_transfer, "--mib --repeats"},
	{"fairness", bench_fairness, "--iters --warmup --mib"},
	{"replay", bench_replay, "--nodes --iters --warmup"},
	{"priority", bench_priority, "--iters --warmup --procs --seconds --kernel-us --quick --daemon-pid"},
};

static _Noreturn void usage(void)
{
	fputs("usage: bench-gpucmd rtt [--iters N] [--warmup W]\n"
	      "       bench-gpucmd stream [--dispatches N] [--repeats R] [--outputs K] [--daemon-pid PID] [--eager]\n"
	      "       bench-gpucmd coldstart\n"
	      "       bench-gpucmd multiproc --procs P [--seconds S]\n"
	      "       bench-gpucmd transfer [--mib M] [--repeats R]\n"
	      "       bench-gpucmd fairness [--iters N] [--warmup W] [--mib M]\n"
	      "       bench-gpucmd replay [--nodes K] [--iters N] [--warmup W]\n"
	      "       bench-gpucmd priority [--iters N] [--warmup W] [--procs P] [--seconds S] [--kernel-us T] [--quick] [--daemon-pid PID]\n"
	      "options for all: --socket PATH (default: $GPUCMD_SOCKET, then libgpucmd's default)\n", stderr);
	exit(2);
}

static uint64_t parse_count(const char *flag, const char *s, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &end, 10) : 0;
	if (!s || errno || *end || *s == '-' || v < min || v > max)
		die("%s wants a whole number in [%" PRIu64 ", %" PRIu64 "], got '%s'", flag, min, max, s ? s : "");
	return v;
}

int main(int argc, char **argv)
{
	struct opts o = {.t0 = now_ns(), .dispatches = 10000, .outputs = 1, .repeats = 5, .mib = 256, .nodes = 100,
			.seconds = 2.0};
	if (argc < 2)
		usage();
	size_t b = 0, nb = sizeof benches / sizeof benches[0];
	while (b < nb && strcmp(argv[1], benches[b].name))
		b++;
	if (b == nb)
		usage();
	bool is_rtt = b == 0 || !strcmp(argv[1], "fairness") || !strcmp(argv[1], "priority");
	if (!strcmp(argv[1], "fairness"))
		o.mib = 16;
	o.iters = is_rtt ? 10000 : 1000;
	o.warmup = is_rtt ? 100 : 10;

	for (int i = 2; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *hit = strstr(benches[b].flags, f);
		size_t len = strlen(f);
		bool mine = hit && (hit[len] == ' ' || hit[len] == 0) && len > 2 && !strchr(f, ' ');
		if (!strcmp(f, "--socket")) {
			if (!v || !*v)
				die("--socket wants a path");
			o.socket = v, i++;
		} else if (!mine) {
			die("%s: unknown option '%s' (try: %s --socket)", argv[1], f, benches[b].flags);
		} else if (!strcmp(f, "--seconds")) {
			char *end;
			o.seconds = v ? strtod(v, &end) : 0;
			if (!v || *end || !isfinite(o.seconds) || o.seconds <= 0 || o.seconds > 3600)
				die("--seconds wants a number in (0, 3600]");
			i++;
		} else if (!strcmp(f, "--eager")) {
			o.eager = true;
		} else if (!strcmp(f, "--quick")) {
			o.quick = true;
		} else if (!strcmp(f, "--daemon-pid")) {
			o.daemon_pid = (long)parse_count(f, v, 1, 1u << 30), i++;
		} else {
			uint64_t n = parse_count(f, v, !strcmp(f, "--warmup") || !strcmp(f, "--kernel-us") ? 0 : 1, 1u << 30);
			i++;
			if (!strcmp(f, "--iters")) o.iters = n;
			else if (!strcmp(f, "--warmup")) o.warmup = n;
			else if (!strcmp(f, "--dispatches")) o.dispatches = n;
			else if (!strcmp(f, "--repeats")) o.repeats = n;
			else if (!strcmp(f, "--outputs")) o.outputs = n;
			else if (!strcmp(f, "--procs")) o.procs = n;
			else if (!strcmp(f, "--mib")) o.mib = n;
			else if (!strcmp(f, "--nodes")) o.nodes = n;
			else if (!strcmp(f, "--kernel-us")) o.kernel_us = n;
		}
	}
	if (!strcmp(argv[1], "priority") && !o.procs)
		o.procs = 8;
	if ((!strcmp(argv[1], "multiproc") || !strcmp(argv[1], "priority")) && (o.procs == 0 || o.procs > 1024))
		die("multiproc needs --procs P (1..1024)");
	return benches[b].run(&o);
}
