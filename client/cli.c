/*
 * cli.c — the gpucmd command: looks at a running gpucmdd (info, kernels,
 * memory, status, trace, ping), checks a SPIR-V module the way the daemon
 * would run it (kernel-add), proves it computes correctly (selftest) and
 * lets an administrator evict a client. Options are parsed per command
 * (parse_args). Exit status 0 on success, 1 when the daemon cannot be
 * reached or a check fails, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gpucmd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gpucmd [--socket PATH] COMMAND [OPTIONS] [ARGS]\n"
		   "       gpucmd --help | --version\n"
		   "Options may come before or after the command, as --opt VALUE or --opt=VALUE.\n"
		   "  info [--json]      daemon, protocol and device facts\n"
		   "  kernels [--json]   the kernels the daemon can run\n"
		   "  kernel-add FILE.spv NAME [--json]\n"
		   "                     validate, reflect and compile a SPIR-V kernel in the daemon\n"
		   "                     and print what it found; the kernel belongs to this command's\n"
		   "                     connection and is gone when gpucmd exits\n"
		   "  selftest           add, mul and fill on 1M floats, every element checked\n"
		   "  memory [--json]    heaps, budget, and the buffer memory of each client\n"
		   "                     (your uid's clients; every client for root)\n"
		   "  status [--json | --prometheus] [--watch]\n"
		   "                     the daemon, its device and every client you may see\n"
		   "                     (your uid's; all for root): sessions, work on the GPU,\n"
		   "                     memory; --watch reports every second (redrawn on a terminal)\n"
		   "  trace --session LABEL [-o FILE] [--clear]\n"
		   "                     GPU timeline of a profiled session (gpucmd_profile) of one of\n"
		   "                     your connections, as Chrome trace-event JSON (Perfetto,\n"
		   "                     chrome://tracing); default FILE: trace.json\n"
		   "  ping               one round trip, and how long it took\n"
		   "  evict CLIENT [--reason TEXT]\n"
		   "                     close client CLIENT's connection (root or gpucmdd's user only):\n"
		   "                     it is told why, its work is discarded, nothing else changes\n"
		   "  bench OUTDIR       the benchmark suite against in-process Vulkan (its own daemon;\n"
		   "                     BENCH_QUICK=1 shortens it), progress on stderr, results in\n"
		   "                     OUTDIR/results.json (from a bench bundle or the source tree)\n");
}

double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

void print_heaps(const struct gpucmd_heap *h, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		printf("heap %u:     %.1f GiB%s, budget %.1f MiB, in use %.1f MiB (gpucmdd holds %.1f MiB, %.1f MiB in "
		       "buffers)\n",
		       k, (double)h[k].size / (1 << 30), h[k].device_local ? " device-local" : "", mib(h[k].budget),
		       mib(h[k].usage), mib(h[k].allocated), mib(h[k].used));
}

static void print_usage(const char *who, const struct gpucmd_memory_usage *u)
{
	char limit[32] = "none";
	if (u->limit)
		snprintf(limit, sizeof(limit), "%.1f MiB", mib(u->limit));
	printf("%-28s %10.1f MiB %8llu buffers %8llu resident  peak %.1f MiB  limit %s", who, mib(u->bytes),
	       (unsigned long long)u->buffers, (unsigned long long)u->resident_buffers, mib(u->peak), limit);
	if (u->gpu_ns)
		printf("  gpu %.3f ms", (double)u->gpu_ns / 1e6);
	printf("\n");
}

static int cmd_memory(gpucmd_client *c, bool json)
{
	struct gpucmd_memory_report m;
	if (gpucmd_memory_report(c, &m) < 0) {
		fprintf(stderr, "gpucmd: memory: %s\n", gpucmd_last_error(c));
		return 1;
	}
	if (json) {
		struct json_object *o = json_object_new_object(), *cl = json_object_new_array();
		jset(o, "heaps", jheaps(m.heaps, m.n_heaps));
		jset_u64(o, "device_allocations", m.device_allocations);
		jset_u64(o, "max_allocations", m.max_allocations);
		jset_u64(o, "live_buffers", m.live_buffers);
		jset_u64(o, "resident_buffers", m.resident_buffers);
		jset_u64(o, "kept_allocations", m.kept_allocations);
		jset_u64(o, "kept_bytes", m.kept_bytes);
		jset_u64(o, "reused_allocations", m.reused_allocations);
		jset(o, "user", jusage(&m.user));
		for (size_t k = 0; k < m.n_clients; k++)
			json_object_array_add(cl, jusage(&m.clients[k]));
		jset(o, "clients", cl);
		json_print(o);
	} else {
		print_heaps(m.heaps, m.n_heaps);
		/* The driver's "no limit" is the largest uint32 (lavapipe). */
		char most[32] = "no limit";
		if (m.max_allocations != UINT32_MAX)
			snprintf(most, sizeof(most), "of %u", m.max_allocations);
		printf("device allocations %u (%s), buffers %u (%u resident); kept for reuse %u (%.1f MiB), reused %llu\n",
		       m.device_allocations, most, m.live_buffers, m.resident_buffers, m.kept_allocations,
		       m.kept_bytes / 1048576.0, (unsigned long long)m.reused_allocations);
		char who[96], name[64];
		snprintf(who, sizeof(who), "uid %u (all its clients)", m.user.uid);
		print_usage(who, &m.user);
		for (size_t k = 0; k < m.n_clients; k++) {
			snprintf(who, sizeof(who), "client %u pid %d %s%s", m.clients[k].client, m.clients[k].pid,
				 text_safe(m.clients[k].name, name, 13), m.clients[k].client == m.self.client ? "*" : "");
			print_usage(who, &m.clients[k]);
		}
	}
	free(m.clients);
	return 0;
}

static int cmd_info(gpucmd_client *c, bool json)
{
	struct gpucmd_info i;
	if (gpucmd_info(c, &i) < 0) {
		fprintf(stderr, "gpucmd: info: %s\n", gpucmd_last_error(c));
		return 1;
	}
	if (json) {
		struct json_object *o = json_object_new_object(), *qf = json_object_new_array();
		jset(o, "daemon_version", jstr(i.daemon_version));
		jset_u64(o, "protocol_version", i.protocol_version);
		jset(o, "socket", jstr(gpucmd_socket_path(c)));
		jset(o, "device", jstr(i.device_name));
		jset(o, "device_type", jstr(i.device_type));
		jset_u64(o, "vendor_id", i.vendor_id);
		jset_u64(o, "device_id", i.device_id);
		jset(o, "driver", jstr(i.driver_name));
		jset(o, "driver_info", jstr(i.driver_info));
		jset(o, "vulkan", jstr(i.api_version));
		jset_u64(o, "queue_family", i.queue_family);
		for (uint32_t k = 0; k < i.n_queue_families; k++) {
			struct json_object *q = json_object_new_object();
			jset_u64(q, "index", i.queue_families[k].index);
			jset_u64(q, "count", i.queue_families[k].count);
			jset_u64(q, "flags", i.queue_families[k].flags);
			json_object_array_add(qf, q);
		}
		jset(o, "queue_families", qf);
		jset(o, "heaps", jheaps(i.heaps, i.n_heaps));
		jset(o, "validation", json_object_new_boolean(i.validation));
		jset_u64(o, "validation_messages", i.validation_messages);
		jset_u64(o, "clients", i.clients);
		jset_u64(o, "live_buffers", i.live_buffers);
		jset_u64(o, "live_sessions", i.live_sessions);
		jset_u64(o, "submissions", i.submissions);
		jset_u64(o, "dispatches", i.dispatches);
		jset_u64(o, "barriers", i.barriers);
		jset_u64(o, "barriers_elided", i.barriers_elided);
		jset_u64(o, "concurrent_groups", i.concurrent_groups);
		jset_u64(o, "gpu_ns", i.gpu_ns);
		jset_u64(o, "max_frame", i.max_frame);
		json_print(o);
		return 0;
	}
	printf("gpucmdd %s, protocol %u, socket %s\n", i.daemon_version, i.protocol_version, gpucmd_socket_path(c));
	printf("device:     %s (%s, vendor 0x%04x, device 0x%04x)\n", i.device_name, i.device_type, i.vendor_id,
	       i.device_id);
	printf("driver:     %s %s\n", i.driver_name, i.driver_info);
	printf("vulkan:     %s\n", i.api_version);
	printf("queues:    ");
	for (uint32_t k = 0; k < i.n_queue_families; k++) {
		uint32_t f = i.queue_families[k].flags;
		printf(" [%u] %u×%s%s%s%s", i.queue_families[k].index, i.queue_families[k].count, f & 1 ? "G" : "",
		       f & 2 ? "C" : "", f & 4 ? "T" : "", k == i.queue_family ? " (used)" : "");
	}
	printf("\n");
	print_heaps(i.heaps, i.n_heaps);
	printf("validation: %s, %llu messages\n", i.validation ? "on" : "off",
	       (unsigned long long)i.validation_messages);
	printf("clients %u, buffers %u, sessions %u, submissions %llu, dispatches %llu\n", i.clients,
	       i.live_buffers, i.live_sessions, (unsigned long long)i.submissions, (unsigned long long)i.dispatches);
	printf("barriers:   %llu inserted, %llu elided, %llu concurrent groups\n", (unsigned long long)i.barriers,
	       (unsigned long long)i.barriers_elided, (unsigned long long)i.concurrent_groups);
	if (i.timestamp_valid_bits)
		printf("gpu time:   %.3f ms profiled (timestamps: %u bits, %g ns per tick)\n", (double)i.gpu_ns / 1e6,
		       i.timestamp_valid_bits, i.timestamp_period);
	else
		printf("gpu time:   profiling unsupported (the queue writes no timestamps)\n");
	return 0;
}

static const char *binding_access(const struct gpucmd_kernel_info *k, uint32_t b, bool json)
{
	if (k->bindings[b].read_only)
		return json ? "read" : "r";
	if (k->bindings[b].write_only)
		return json ? "write" : "w";
	return json ? "read_write" : "rw";
}

static struct json_object *json_kernel(const struct gpucmd_kernel_info *k)
{
	struct json_object *o = json_object_new_object(), *ls = json_object_new_array(), *bs = json_object_new_array();
	jset_u64(o, "id", k->id);
	jset(o, "name", jstr(k->name));
	jset(o, "client", json_object_new_boolean(k->client));
	jset(o, "entry_point", jstr(k->entry_point));
	jset_u64(o, "push_size", k->push_size);
	for (int d = 0; d < 3; d++)
		json_object_array_add(ls, json_object_new_uint64(k->local_size[d]));
	jset(o, "local_size", ls);
	for (uint32_t b = 0; b < k->n_bindings; b++) {
		struct json_object *x = json_object_new_object();
		jset_u64(x, "binding", k->bindings[b].binding);
		jset_u64(x, "element", k->bindings[b].element);
		jset(x, "kind", json_object_new_string(k->bindings[b].uniform ? "uniform" : "storage"));
		jset(x, "access", json_object_new_string(binding_access(k, b, true)));
		jset_u64(x, "min_size", k->bindings[b].min_size);
		json_object_array_add(bs, x);
	}
	jset(o, "bindings", bs);
	jset(o, "variant", jstr(k->variant));
	return o;
}

static void print_kernel(const struct gpucmd_kernel_info *k)
{
	char name[64];
	printf("%6u %-20s push %3u B  local %ux%ux%u  bindings:", k->id, text_safe(k->name, name, sizeof(name)),
	       k->push_size, k->local_size[0], k->local_size[1], k->local_size[2]);
	/* binding[element]:access, u for a uniform buffer: " 0u:r 2:r 4[1]:r 7:w" */
	for (uint32_t b = 0; b < k->n_bindings; b++) {
		bool array = (b > 0 && k->bindings[b - 1].binding == k->bindings[b].binding) ||
			     (b + 1 < k->n_bindings && k->bindings[b + 1].binding == k->bindings[b].binding);
		printf(" %u", k->bindings[b].binding);
		if (array)
			printf("[%u]", k->bindings[b].element);
		printf("%s:%s", k->bindings[b].uniform ? "u" : "", binding_access(k, b, false));
		if (k->bindings[b].min_size)
			printf("(>=%uB)", k->bindings[b].min_size);
	}
	if (k->variant[0])
		printf("  variant: %s", k->variant);
	printf("\n");
}

static int cmd_kernels(gpucmd_client *c, bool json)
{
	struct gpucmd_kernel_info *k;
	size_t n;
	if (gpucmd_kernel_list(c, &k, &n) < 0) {
		fprintf(stderr, "gpucmd: kernels: %s\n", gpucmd_last_error(c));
		return 1;
	}
	struct json_object *a = json ? json_object_new_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (json)
			json_object_array_add(a, json_kernel(&k[i]));
		else
			print_kernel(&k[i]);
	}
	if (json)
		json_print(a);
	free(k);
	return 0;
}

/* Registers FILE under NAME and prints what the daemon made of it. The
 * kernel dies with this connection: this is a check, not an install. */
static int cmd_kernel_add(gpucmd_client *c, const char *path, const char *name, bool json)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "gpucmd: kernel-add: cannot open %s: %m\n", path);
		return 1;
	}
	size_t cap = 1u << 16, len = 0;
	uint8_t *buf = malloc(cap);
	for (size_t n; buf && (n = fread(buf + len, 1, cap - len, f)) > 0;) {
		len += n;
		if (len == cap && len <= (8u << 20)) {
			uint8_t *grown = realloc(buf, cap *= 2);
			if (!grown)
				free(buf);
			buf = grown;
		}
	}
	fclose(f);
	if (!buf) {
		fprintf(stderr, "gpucmd: kernel-add: out of memory\n");
		return 1;
	}
	struct gpucmd_kernel_info k;
	int r = gpucmd_kernel_register(c, name, buf, len, &k);
	free(buf);
	if (r < 0) {
		fprintf(stderr, "gpucmd: kernel-add: %s\n", gpucmd_last_error(c));
		return 1;
	}
	if (json) {
		json_print(json_kernel(&k));
	} else {
		print_kernel(&k);
		printf("%s: valid; kernel '%s' compiled. It lived on this command's connection only and is gone now;\n"
		       "register it from your program with gpucmd_kernel_register().\n", path, name);
	}
	return 0;
}

/* Runs add, mul and fill over n floats and checks every element. */
static int cmd_selftest(gpucmd_client *c)
{
	const uint32_t n = 1u << 20;
	const size_t bytes = (size_t)n * sizeof(float);
	float *a = malloc(bytes), *b = malloc(bytes), *out = malloc(bytes);
	struct gpucmd_kernel_info add, mul, fill;
	gpucmd_buffer ba = 0, bb = 0, bo = 0;
	gpucmd_session s = 0;
	int status = 1;
	const char *step = "allocating host memory";
	if (!a || !b || !out)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		a[i] = (float)(i % 1000) * 0.5f;
		b[i] = (float)(i % 7) - 3.0f;
	}
	step = "looking up kernels";
	if (gpucmd_kernel_find(c, "add_f32", &add) < 0 || gpucmd_kernel_find(c, "mul_f32", &mul) < 0 ||
	    gpucmd_kernel_find(c, "fill_f32", &fill) < 0)
		goto out;
	step = "creating buffers";
	if (gpucmd_buffer_create(c, bytes, 0, &ba) < 0 || gpucmd_buffer_create(c, bytes, 0, &bb) < 0 ||
	    gpucmd_buffer_create(c, bytes, 0, &bo) < 0)
		goto out;
	step = "uploading";
	if (gpucmd_buffer_write(c, ba, 0, a, bytes) < 0 || gpucmd_buffer_write(c, bb, 0, b, bytes) < 0)
		goto out;
	step = "opening a session";
	if (gpucmd_session_open(c, "selftest", &s) < 0)
		goto out;
	const struct gpucmd_binding bind[3] = {{ba, 0, 0}, {bb, 0, 0}, {bo, 0, 0}};
	const uint32_t groups = (n + 255) / 256;
	const struct { const struct gpucmd_kernel_info *k; const char *name; } ops[] = {{&add, "add"}, {&mul, "mul"}};
	for (int op = 0; op < 2; op++) {
		step = ops[op].name;
		if (gpucmd_dispatch(c, s, ops[op].k->id, bind, 3, &n, sizeof(n), groups, 1, 1) < 0 ||
		    gpucmd_commit_and_wait(c, s) < 0 || gpucmd_buffer_read(c, bo, 0, out, bytes) < 0 ||
		    gpucmd_reset_for_next_stage(c, s) < 0)
			goto out;
		for (uint32_t i = 0; i < n; i++) {
			float want = op == 0 ? a[i] + b[i] : a[i] * b[i];
			if (out[i] != want) {
				fprintf(stderr, "gpucmd: selftest: %s: element %u is %g, expected %g\n", step, i, out[i], want);
				goto out;
			}
		}
		printf("%s_f32: %u elements correct\n", ops[op].name, n);
	}
	step = "fill";
	struct { uint32_t n; float v; } fp = {n, 42.5f};
	if (gpucmd_dispatch(c, s, fill.id, &bind[2], 1, &fp, sizeof(fp), groups, 1, 1) < 0 ||
	    gpucmd_commit_and_wait(c, s) < 0 || gpucmd_buffer_read(c, bo, 0, out, bytes) < 0)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		if (out[i] != 42.5f) {
			fprintf(stderr, "gpucmd: selftest: fill: element %u is %g, expected 42.5\n", i, out[i]);
			goto out;
		}
	printf("fill_f32: %u elements correct\n", n);
	printf("selftest passed\n");
	status = 0;
out:
	if (status && step && gpucmd_last_error(c)[0])
		fprintf(stderr, "gpucmd: selftest failed while %s: %s\n", step, gpucmd_last_error(c));
	if (s)
		gpucmd_session_close(c, s);
	if (ba)
		gpucmd_buffer_free(c, ba);
	if (bb)
		gpucmd_buffer_free(c, bb);
	if (bo)
		gpucmd_buffer_free(c, bo);
	free(a);
	free(b);
	free(out);
	return status;
}

/* Fetches a profiled session's records by label and writes the trace. */
static int cmd_trace(gpucmd_client *c, const char *label, const char *path, bool clear)
{
	struct gpucmd_profile p;
	if (gpucmd_profile_fetch(c, 0, label, clear, &p) < 0) {
		fprintf(stderr, "gpucmd: trace: %s\n", gpucmd_last_error(c));
		return 1;
	}
	FILE *f = fopen(path, "w");
	int r = f ? gpucmd_trace_write(&p, f) : -errno;
	if (f && fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		fprintf(stderr, "gpucmd: trace: cannot write %s: %s\n", path, strerror(-r));
	else
		printf("%s: %u command buffers, %u commands, %.3f ms of GPU time in the session%s\n", path,
		       p.n_command_buffers, p.n_commands, (double)p.gpu_ns / 1e6,
		       p.dropped ? " (older records were dropped)" : "");
	gpucmd_profile_free(&p);
	return r < 0 ? 1 : 0;
}

/*
 * gpucmd bench OUTDIR: the benchmark suite, bench/run-bench, found beside
 * this binary (a bundle from make bench-bundle) or in the source tree it was
 * built in. It starts its own daemon, prints its progress and writes
 * OUTDIR/results.json; its exit status is this command's.
 */
static int cmd_bench(const char *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	char *slash = n > 0 ? memrchr(dir, '/', (size_t)n) : NULL;
	if (!slash) {
		fprintf(stderr, "gpucmd: bench: cannot tell where this program is (/proc/self/exe)\n");
		return 1;
	}
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/run-bench", dir);
	if (access(path, X_OK) != 0)
		snprintf(path, sizeof(path), "%s/../bench/run-bench", dir);
	if (access(path, X_OK) != 0) {
		/* An installed gpucmd: the suite and its programs are not installed. */
		fprintf(stderr, "gpucmd: bench: the benchmark suite is not installed with gpucmd (%s has no run-bench "
			"beside it or in ../bench); run it from the source tree (make bench) or from a bundle "
			"(make bench-bundle, then bundle/gpucmd bench OUTDIR)\n", dir);
		return 1;
	}
	execl(path, path, out, (char *)NULL);
	fprintf(stderr, "gpucmd: bench: cannot run %s: %s\n", path, strerror(errno));
	return 1;
}

/* Options, each allowed only for the commands whose mask has its bit. */
enum opt {
	OPT_JSON = 1, OPT_PROMETHEUS = 2, OPT_WATCH = 4, OPT_SESSION = 8, OPT_OUTPUT = 16, OPT_CLEAR = 32,
	OPT_REASON = 64,
};
static const char *const opt_name[] = {"--json", "--prometheus", "--watch", "--session", "--output", "--clear",
				       "--reason"};

static const struct command {
	const char *name;
	int n_args;       /* positional arguments after the command */
	unsigned opts;    /* enum opt bits it takes */
} commands[] = {
	{"info", 0, OPT_JSON},
	{"kernels", 0, OPT_JSON},
	{"kernel-add", 2, OPT_JSON},
	{"selftest", 0, 0},
	{"memory", 0, OPT_JSON},
	{"status", 0, OPT_JSON | OPT_PROMETHEUS | OPT_WATCH},
	{"trace", 0, OPT_SESSION | OPT_OUTPUT | OPT_CLEAR},
	{"ping", 0, 0},
	{"bench", 1, 0},
	{"evict", 1, OPT_REASON},
};

struct args {
	const char *socket, *label, *out, *reason;
	unsigned seen;    /* enum opt bits given */
	const struct command *cmd;
	const char *pos[2];
};

/* getopt_long over the whole command line (GNU order: options before or
 * after the command, --opt=value), then each option checked against the
 * command. 0, 1 when --help or --version was answered, or 2 on bad usage
 * (said on stderr, naming the argument). */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"prometheus", no_argument, NULL, 'p'},   {"watch", no_argument, NULL, 'w'},
		{"session", required_argument, NULL, 'S'}, {"output", required_argument, NULL, 'o'},
		{"clear", no_argument, NULL, 'c'},        {"reason", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {0},
	};
	*a = (struct args){.out = "trace.json"};
	for (int o; (o = getopt_long(argc, argv, "o:hV", opts, NULL)) != -1;) {
		switch (o) {
		case 's': a->socket = optarg; break;
		case 'j': a->seen |= OPT_JSON; break;
		case 'p': a->seen |= OPT_PROMETHEUS; break;
		case 'w': a->seen |= OPT_WATCH; break;
		case 'S': a->seen |= OPT_SESSION, a->label = optarg; break;
		case 'o': a->seen |= OPT_OUTPUT, a->out = optarg; break;
		case 'c': a->seen |= OPT_CLEAR; break;
		case 'r': a->seen |= OPT_REASON, a->reason = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("gpucmd %s (library %s, protocol %u)\n", GPUCMD_VERSION, gpucmd_version(),
				 GPUCMD_PROTOCOL_VERSION);
			return 1;
		default: fprintf(stderr, "gpucmd --help lists the commands and their options\n"); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *name = argv[optind++];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			a->cmd = &commands[i];
	if (!a->cmd) {
		fprintf(stderr, "gpucmd: unknown command '%s' (gpucmd --help lists them)\n", name);
		return 2;
	}
	if (argc - optind != a->cmd->n_args) {
		if (argc - optind > a->cmd->n_args)
			fprintf(stderr, "gpucmd: %s: unexpected argument '%s'\n", name, argv[optind + a->cmd->n_args]);
		else
			fprintf(stderr, "gpucmd: %s needs %d argument%s (gpucmd --help)\n", name, a->cmd->n_args,
				a->cmd->n_args == 1 ? "" : "s");
		return 2;
	}
	for (int i = 0; i < a->cmd->n_args; i++)
		a->pos[i] = argv[optind + i];
	for (unsigned b = 0; b < sizeof(opt_name) / sizeof(opt_name[0]); b++)
		if ((a->seen & (1u << b)) && !(a->cmd->opts & (1u << b))) {
			fprintf(stderr, "gpucmd: %s does not take %s\n", name, opt_name[b]);
			return 2;
		}
	if ((a->seen & OPT_JSON) && (a->seen & OPT_PROMETHEUS)) {
		fprintf(stderr, "gpucmd: status: --json and --prometheus exclude each other\n");
		return 2;
	}
	if (a->cmd->opts & OPT_SESSION && !a->label) {
		fprintf(stderr, "gpucmd: trace needs --session LABEL (the label the session was opened with)\n");
		return 2;
	}
	return 0;
}

/* One round trip, timed. */
static int cmd_ping(gpucmd_client *c)
{
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (gpucmd_ping(c) < 0) {
		fprintf(stderr, "gpucmd: ping: %s\n", gpucmd_last_error(c));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("gpucmdd at %s answered in %.3f ms\n", gpucmd_socket_path(c),
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

/* Evicts client CLIENT (a number from gpucmd status). */
static int cmd_evict(gpucmd_client *c, const char *arg, const char *reason)
{
	char *end;
	unsigned long id = strtoul(arg, &end, 10);
	if (!*arg || *end || id > UINT32_MAX) {
		fprintf(stderr, "gpucmd: evict: '%s' is not a client number (gpucmd status lists them)\n", arg);
		return 2;
	}
	if (gpucmd_evict(c, (uint32_t)id, reason) < 0) {
		fprintf(stderr, "gpucmd: %s\n", gpucmd_last_error(c));
		return 1;
	}
	printf("client %lu evicted\n", id);
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	int r = parse_args(argc, argv, &a);
	if (r != 0)
		return r == 1 ? 0 : r;
	const char *cmd = a.cmd->name;
	bool json = a.seen & OPT_JSON;
	if (!strcmp(cmd, "bench"))
		return cmd_bench(a.pos[0]);
	gpucmd_client *c = gpucmd_connect(a.socket);
	if (!c) {
		fprintf(stderr, "gpucmd: %s\n", gpucmd_last_error(NULL));
		return 1;
	}
	if (!strcmp(cmd, "info"))
		r = cmd_info(c, json);
	else if (!strcmp(cmd, "kernels"))
		r = cmd_kernels(c, json);
	else if (!strcmp(cmd, "memory"))
		r = cmd_memory(c, json);
	else if (!strcmp(cmd, "status"))
		r = cmd_status(c, json ? STATUS_JSON : a.seen & OPT_PROMETHEUS ? STATUS_PROMETHEUS : STATUS_TEXT,
			       a.seen & OPT_WATCH);
	else if (!strcmp(cmd, "kernel-add"))
		r = cmd_kernel_add(c, a.pos[0], a.pos[1], json);
	else if (!strcmp(cmd, "selftest"))
		r = cmd_selftest(c);
	else if (!strcmp(cmd, "trace"))
		r = cmd_trace(c, a.label, a.out, a.seen & OPT_CLEAR);
	else if (!strcmp(cmd, "evict"))
		r = cmd_evict(c, a.pos[0], a.reason);
	else
		r = cmd_ping(c);
	gpucmd_disconnect(c);
	return r;
}
