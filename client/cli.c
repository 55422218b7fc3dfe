/*
 * cli.c — the gpucmd command: looks at a running gpucmdd (info, kernels, trace),
 * checks a SPIR-V module the way the daemon would run it (kernel-add) and
 * proves it computes correctly (selftest). Exit status 0 on success,
 * 1 when the daemon cannot be reached or a check fails, 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gpucmd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gpucmd [--socket PATH] COMMAND\n"
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
		   "                     memory; --watch redraws every second\n"
		   "  trace --session LABEL [-o FILE] [--clear]\n"
		   "                     GPU timeline of a profiled session (gpucmd_profile) of one of\n"
		   "                     your connections, as Chrome trace-event JSON (Perfetto,\n"
		   "                     chrome://tracing); default FILE: trace.json\n"
		   "  ping               one round trip\n"
		   "  bench OUTDIR       the benchmark suite against in-process Vulkan (its own daemon;\n"
		   "                     BENCH_QUICK=1 shortens it), progress on stderr, results in\n"
		   "                     OUTDIR/results.json (from a bench bundle or the source tree)\n");
}

/* Prints s as a JSON string. */
void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
}

void json_heaps(const struct gpucmd_heap *h, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		printf("%s{\"size\":%llu,\"device_local\":%s,\"budget\":%llu,\"usage\":%llu,\"allocated\":%llu,"
		       "\"used\":%llu}",
		       k ? "," : "", (unsigned long long)h[k].size, h[k].device_local ? "true" : "false",
		       (unsigned long long)h[k].budget, (unsigned long long)h[k].usage,
		       (unsigned long long)h[k].allocated, (unsigned long long)h[k].used);
}

void print_heaps(const struct gpucmd_heap *h, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		printf("heap %u:     %.1f GiB%s, budget %.1f MiB, in use %.1f MiB (gpucmdd holds %.1f MiB, %.1f MiB in "
		       "buffers)\n",
		       k, (double)h[k].size / (1 << 30), h[k].device_local ? " device-local" : "", mib(h[k].budget),
		       mib(h[k].usage), mib(h[k].allocated), mib(h[k].used));
}

void json_usage(const struct gpucmd_memory_usage *u)
{
	printf("{\"client\":%u,\"pid\":%d,\"uid\":%u,\"name\":", u->client, u->pid, u->uid);
	json_str(u->name);
	printf(",\"bytes\":%llu,\"buffers\":%llu,\"peak\":%llu,\"resident_buffers\":%llu,\"resident_bytes\":%llu,"
	       "\"limit\":%llu,\"gpu_ns\":%llu}",
	       (unsigned long long)u->bytes, (unsigned long long)u->buffers, (unsigned long long)u->peak,
	       (unsigned long long)u->resident_buffers, (unsigned long long)u->resident_bytes,
	       (unsigned long long)u->limit, (unsigned long long)u->gpu_ns);
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
		printf("{\"heaps\":[");
		json_heaps(m.heaps, m.n_heaps);
		printf("],\"device_allocations\":%u,\"max_allocations\":%u,\"live_buffers\":%u,\"resident_buffers\":%u,"
		       "\"user\":",
		       m.device_allocations, m.max_allocations, m.live_buffers, m.resident_buffers);
		json_usage(&m.user);
		printf(",\"clients\":[");
		for (size_t k = 0; k < m.n_clients; k++) {
			printf(k ? "," : "");
			json_usage(&m.clients[k]);
		}
		printf("]}\n");
	} else {
		print_heaps(m.heaps, m.n_heaps);
		printf("device allocations %u of %u, buffers %u (%u resident)\n", m.device_allocations,
		       m.max_allocations, m.live_buffers, m.resident_buffers);
		char who[64];
		snprintf(who, sizeof(who), "uid %u (all its clients)", m.user.uid);
		print_usage(who, &m.user);
		for (size_t k = 0; k < m.n_clients; k++) {
			snprintf(who, sizeof(who), "client %u pid %d %.12s%s", m.clients[k].client, m.clients[k].pid,
				 m.clients[k].name, m.clients[k].client == m.self.client ? "*" : "");
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
		printf("{\"daemon_version\":");
		json_str(i.daemon_version);
		printf(",\"protocol_version\":%u,\"socket\":", i.protocol_version);
		json_str(gpucmd_socket_path(c));
		printf(",\"device\":");
		json_str(i.device_name);
		printf(",\"device_type\":");
		json_str(i.device_type);
		printf(",\"vendor_id\":%u,\"device_id\":%u,\"driver\":", i.vendor_id, i.device_id);
		json_str(i.driver_name);
		printf(",\"driver_info\":");
		json_str(i.driver_info);
		printf(",\"vulkan\":");
		json_str(i.api_version);
		printf(",\"queue_family\":%u,\"queue_families\":[", i.queue_family);
		for (uint32_t k = 0; k < i.n_queue_families; k++)
			printf("%s{\"index\":%u,\"count\":%u,\"flags\":%u}", k ? "," : "", i.queue_families[k].index,
			       i.queue_families[k].count, i.queue_families[k].flags);
		printf("],\"heaps\":[");
		json_heaps(i.heaps, i.n_heaps);
		printf("],\"validation\":%s,\"validation_messages\":%llu,\"clients\":%u,\"live_buffers\":%u,"
		       "\"live_sessions\":%u,\"submissions\":%llu,\"dispatches\":%llu,\"barriers\":%llu,"
		       "\"barriers_elided\":%llu,\"concurrent_groups\":%llu,\"gpu_ns\":%llu,\"max_frame\":%u}\n",
		       i.validation ? "true" : "false", (unsigned long long)i.validation_messages, i.clients,
		       i.live_buffers, i.live_sessions, (unsigned long long)i.submissions,
		       (unsigned long long)i.dispatches, (unsigned long long)i.barriers,
		       (unsigned long long)i.barriers_elided, (unsigned long long)i.concurrent_groups,
		       (unsigned long long)i.gpu_ns, i.max_frame);
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

static void print_kernel(const struct gpucmd_kernel_info *k, bool json)
{
	if (json) {
		printf("{\"id\":%u,\"name\":", k->id);
		json_str(k->name);
		printf(",\"client\":%s,\"entry_point\":", k->client ? "true" : "false");
		json_str(k->entry_point);
		printf(",\"push_size\":%u,\"local_size\":[%u,%u,%u],\"bindings\":[", k->push_size, k->local_size[0],
		       k->local_size[1], k->local_size[2]);
		for (uint32_t b = 0; b < k->n_bindings; b++)
			printf("%s{\"binding\":%u,\"element\":%u,\"kind\":\"%s\",\"access\":\"%s\",\"min_size\":%u}",
			       b ? "," : "", k->bindings[b].binding, k->bindings[b].element,
			       k->bindings[b].uniform ? "uniform" : "storage", binding_access(k, b, true),
			       k->bindings[b].min_size);
		printf("]}");
		return;
	}
	printf("%6u %-20s push %3u B  local %ux%ux%u  bindings:", k->id, k->name, k->push_size, k->local_size[0],
	       k->local_size[1], k->local_size[2]);
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
	if (json)
		printf("[");
	for (size_t i = 0; i < n; i++) {
		if (json && i)
			printf(",");
		print_kernel(&k[i], json);
	}
	if (json)
		printf("]\n");
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
	print_kernel(&k, json);
	if (json)
		printf("\n");
	else
		printf("%s: valid; kernel '%s' compiled. It lived on this command's connection only and is gone now;\n"
		       "register it from your program with gpucmd_kernel_register().\n", path, name);
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
	execl(path, path, out, (char *)NULL);
	fprintf(stderr, "gpucmd: bench: run-bench is neither beside %s nor in %s/../bench: %s "
		"(make bench-bundle, or make bench in the source tree)\n", dir, dir, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},         {0},
	};
	const char *socket = NULL, *label = NULL, *out = "trace.json";
	bool json = false, watch = false, prometheus = false, clear = false;
	for (int o; (o = getopt_long(argc, argv, "+", opts, NULL)) != -1;) {
		switch (o) {
		case 's': socket = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind++];
	bool status = !strcmp(cmd, "status"), trace = !strcmp(cmd, "trace");
	const char *args[2] = {NULL, NULL};
	int n_args = 0;
	for (; optind < argc; optind++) {
		const char *a = argv[optind];
		bool has_value = optind + 1 < argc;
		if (!strcmp(a, "--json") && !trace)
			json = true;
		else if (status && !strcmp(a, "--watch"))
			watch = true;
		else if (status && !strcmp(a, "--prometheus"))
			prometheus = true;
		else if (trace && !strcmp(a, "--session") && has_value)
			label = argv[++optind];
		else if (trace && (!strcmp(a, "-o") || !strcmp(a, "--output")) && has_value)
			out = argv[++optind];
		else if (trace && !strcmp(a, "--clear"))
			clear = true;
		else if (n_args < 2 && a[0] != '-')
			args[n_args++] = a;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (trace && !label) {
		fprintf(stderr, "gpucmd: trace needs --session LABEL (the label the session was opened with)\n");
		return 2;
	}
	if (!strcmp(cmd, "bench")) {
		if (n_args != 1) {
			usage(stderr);
			return 2;
		}
		return cmd_bench(args[0]);
	}
	bool known = !strcmp(cmd, "info") || !strcmp(cmd, "kernels") || !strcmp(cmd, "selftest") ||
		     !strcmp(cmd, "ping") || !strcmp(cmd, "kernel-add") || !strcmp(cmd, "memory") || status || trace;
	if (known && (strcmp(cmd, "kernel-add") ? n_args != 0 : n_args != 2)) {
		usage(stderr);
		return 2;
	}
	if (!known) {
		fprintf(stderr, "gpucmd: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	gpucmd_client *c = gpucmd_connect(socket);
	if (!c) {
		fprintf(stderr, "gpucmd: %s\n", gpucmd_last_error(NULL));
		return 1;
	}
	int r;
	if (!strcmp(cmd, "info"))
		r = cmd_info(c, json);
	else if (!strcmp(cmd, "kernels"))
		r = cmd_kernels(c, json);
	else if (!strcmp(cmd, "memory"))
		r = cmd_memory(c, json);
	else if (status)
		r = cmd_status(c, json ? STATUS_JSON : prometheus ? STATUS_PROMETHEUS : STATUS_TEXT, watch);
	else if (!strcmp(cmd, "kernel-add"))
		r = cmd_kernel_add(c, args[0], args[1], json);
	else if (!strcmp(cmd, "selftest"))
		r = cmd_selftest(c);
	else if (trace)
		r = cmd_trace(c, label, out, clear);
	else if ((r = gpucmd_ping(c) < 0 ? 1 : 0))
		fprintf(stderr, "gpucmd: ping: %s\n", gpucmd_last_error(c));
	gpucmd_disconnect(c);
	return r;
}
