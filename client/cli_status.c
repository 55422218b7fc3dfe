/*
 * cli_status.c — `gpucmd status`: a table for people (redrawn with
 * --watch), JSON for programs, and the Prometheus text exposition format
 * for scrapers (node_exporter's textfile collector reads a file of it).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

static const char *const priority_name[] = {"normal", "high", "low"};

static uint64_t client_sum(const struct gpucmd_client_status *c, bool dispatches)
{
	uint64_t n = 0;
	for (size_t i = 0; i < c->n_sessions; i++)
		n += dispatches ? c->sessions[i].dispatches : c->sessions[i].command_buffers;
	return n;
}

static void print_text(const struct gpucmd_status *st)
{
	uint64_t up = st->uptime_ms / 1000;
	printf("gpucmdd %s on %s, up %lluh%02llum%02llus: %u clients, %u sessions, %u buffers, %llu submissions, "
	       "%llu dispatches\n",
	       st->daemon_version, st->device_name, (unsigned long long)(up / 3600),
	       (unsigned long long)(up / 60 % 60), (unsigned long long)(up % 60), st->clients, st->live_sessions,
	       st->live_buffers, (unsigned long long)st->submissions, (unsigned long long)st->dispatches);
	if (st->device_losses)
		printf("device lost and recreated %u time%s since start\n", st->device_losses,
		       st->device_losses == 1 ? "" : "s");
	print_heaps(st->heaps, st->n_heaps);
	printf("%6s %7s %6s %-15s %4s %8s %11s %7s %10s %11s %s\n", "CLIENT", "PID", "UID", "COMMAND", "SESS",
	       "INFLIGHT", "MEMORY", "BUFFERS", "SUBMITTED", "DISPATCHES", "STATE");
	for (size_t i = 0; i < st->n_clients; i++) {
		const struct gpucmd_client_status *c = &st->client_list[i];
		printf("%6u %7d %6u %-15s %4zu %8u %7.1f MiB %7llu %10llu %11llu %s\n", c->client, c->pid, c->uid,
		       c->comm[0] ? c->comm : c->name, c->n_sessions, c->in_flight, mib(c->memory.bytes),
		       (unsigned long long)c->memory.buffers, (unsigned long long)client_sum(c, false),
		       (unsigned long long)client_sum(c, true),
		       c->stalled ? "waiting" : c->in_flight ? "running" : "idle");
		for (size_t k = 0; k < c->n_sessions; k++) {
			const struct gpucmd_session_status *s = &c->sessions[k];
			printf("%14s session %u \"%s\" %s: %u in flight, %llu command buffers, %llu dispatches, "
			       "fence %llu",
			       "", s->session, s->label, priority_name[s->priority % 3], s->in_flight,
			       (unsigned long long)s->command_buffers, (unsigned long long)s->dispatches,
			       (unsigned long long)s->fence_value);
			if (s->gpu_ns)
				printf(", GPU %.3f ms", (double)s->gpu_ns / 1e6);
			putchar('\n');
		}
	}
}

static void print_json(const struct gpucmd_status *st)
{
	printf("{\"daemon_version\":");
	json_str(st->daemon_version);
	printf(",\"device\":");
	json_str(st->device_name);
	printf(",\"uptime_ms\":%llu,\"clients\":%u,\"sessions\":%u,\"buffers\":%u,\"submissions\":%llu,"
	       "\"dispatches\":%llu,\"max_inflight_per_client\":%u,\"device_losses\":%u,\"heaps\":[",
	       (unsigned long long)st->uptime_ms, st->clients, st->live_sessions, st->live_buffers,
	       (unsigned long long)st->submissions, (unsigned long long)st->dispatches, st->max_inflight_per_client,
	       st->device_losses);
	json_heaps(st->heaps, st->n_heaps);
	printf("],\"client_list\":[");
	for (size_t i = 0; i < st->n_clients; i++) {
		const struct gpucmd_client_status *c = &st->client_list[i];
		printf("%s{\"client\":%u,\"pid\":%d,\"uid\":%u,\"gid\":%u,\"name\":", i ? "," : "", c->client, c->pid,
		       c->uid, c->gid);
		json_str(c->name);
		printf(",\"comm\":");
		json_str(c->comm);
		printf(",\"connected_ms\":%llu,\"in_flight\":%u,\"stalled\":%s,\"fence_waiters\":%u,\"memory\":",
		       (unsigned long long)c->connected_ms, c->in_flight, c->stalled ? "true" : "false",
		       c->fence_waiters);
		json_usage(&c->memory);
		printf(",\"sessions\":[");
		for (size_t k = 0; k < c->n_sessions; k++) {
			const struct gpucmd_session_status *s = &c->sessions[k];
			printf("%s{\"session\":%u,\"label\":", k ? "," : "", s->session);
			json_str(s->label);
			printf(",\"priority\":\"%s\",\"in_flight\":%u,\"command_buffers\":%llu,\"dispatches\":%llu,"
			       "\"completed\":%llu,\"fence_value\":%llu,\"gpu_ns\":%llu}",
			       priority_name[s->priority % 3], s->in_flight, (unsigned long long)s->command_buffers,
			       (unsigned long long)s->dispatches, (unsigned long long)s->completed,
			       (unsigned long long)s->fence_value, (unsigned long long)s->gpu_ns);
		}
		printf("]}");
	}
	printf("]}\n");
}

/* A label value: backslash, double quote and newline escaped. */
static void prom_value(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
	putchar('"');
}

static void prom_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_client(const struct gpucmd_client_status *c)
{
	printf("{client=\"%u\",pid=\"%d\",uid=\"%u\",comm=", c->client, c->pid, c->uid);
	prom_value(c->comm[0] ? c->comm : c->name);
	printf("}");
}

static void print_prometheus(const struct gpucmd_status *st)
{
	prom_head("gpucmd_up", "gauge", "1 when gpucmdd answered.");
	printf("gpucmd_up{device=");
	prom_value(st->device_name);
	printf(",version=");
	prom_value(st->daemon_version);
	printf("} 1\n");
	prom_head("gpucmd_uptime_seconds", "gauge", "Seconds since gpucmdd started.");
	printf("gpucmd_uptime_seconds %.3f\n", (double)st->uptime_ms / 1000);
	prom_head("gpucmd_clients", "gauge", "Connected clients.");
	printf("gpucmd_clients %u\n", st->clients);
	prom_head("gpucmd_sessions", "gauge", "Open encoder sessions.");
	printf("gpucmd_sessions %u\n", st->live_sessions);
	prom_head("gpucmd_buffers", "gauge", "Live buffers, including those kept for work in flight.");
	printf("gpucmd_buffers %u\n", st->live_buffers);
	prom_head("gpucmd_submissions_total", "counter", "Command buffers submitted to the GPU.");
	printf("gpucmd_submissions_total %llu\n", (unsigned long long)st->submissions);
	prom_head("gpucmd_dispatches_total", "counter", "Dispatches recorded.");
	printf("gpucmd_dispatches_total %llu\n", (unsigned long long)st->dispatches);
	prom_head("gpucmd_device_losses_total", "counter", "Devices lost (and made again) since gpucmdd started.");
	printf("gpucmd_device_losses_total %u\n", st->device_losses);
	static const struct { const char *name, *help; size_t off; } heap[] = {
		{"gpucmd_heap_size_bytes", "Size of the device memory heap.", offsetof(struct gpucmd_heap, size)},
		{"gpucmd_heap_budget_bytes", "What the driver lets this process use of the heap.",
		 offsetof(struct gpucmd_heap, budget)},
		{"gpucmd_heap_usage_bytes", "The driver's count of this process's use of the heap.",
		 offsetof(struct gpucmd_heap, usage)},
		{"gpucmd_heap_allocated_bytes", "Device memory gpucmdd holds in the heap.",
		 offsetof(struct gpucmd_heap, allocated)},
		{"gpucmd_heap_used_bytes", "Of that, bytes in buffers.", offsetof(struct gpucmd_heap, used)},
	};
	for (size_t m = 0; m < sizeof(heap) / sizeof(heap[0]); m++) {
		prom_head(heap[m].name, "gauge", heap[m].help);
		for (uint32_t h = 0; h < st->n_heaps; h++)
			printf("%s{heap=\"%u\",device_local=\"%s\"} %llu\n", heap[m].name, h,
			       st->heaps[h].device_local ? "true" : "false",
			       (unsigned long long)*(const uint64_t *)((const char *)&st->heaps[h] + heap[m].off));
	}
	enum { MEM, BUFS, SESS, FLIGHT, CBS, DISPATCHES, GPU_NS };
	static const struct { const char *name, *type, *help; } per[] = {
		{"gpucmd_client_memory_bytes", "gauge", "Bytes of buffers the client holds."},
		{"gpucmd_client_buffers", "gauge", "Buffers the client holds."},
		{"gpucmd_client_sessions", "gauge", "Sessions the client has open."},
		{"gpucmd_client_in_flight", "gauge", "Command buffers of the client on the GPU."},
		{"gpucmd_client_command_buffers_total", "counter", "Command buffers of the client's open sessions."},
		{"gpucmd_client_dispatches_total", "counter", "Dispatches of the client's open sessions."},
		{"gpucmd_client_gpu_nanoseconds_total", "counter", "GPU time of the client's profiled command buffers."},
	};
	for (int m = MEM; m <= GPU_NS; m++) {
		prom_head(per[m].name, per[m].type, per[m].help);
		for (size_t i = 0; i < st->n_clients; i++) {
			const struct gpucmd_client_status *c = &st->client_list[i];
			uint64_t v = m == MEM ? c->memory.bytes : m == BUFS ? c->memory.buffers : m == SESS ? c->n_sessions
				   : m == FLIGHT ? c->in_flight : m == GPU_NS ? c->memory.gpu_ns : client_sum(c, m == DISPATCHES);
			printf("%s", per[m].name);
			prom_client(c);
			printf(" %llu\n", (unsigned long long)v);
		}
	}
}

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

int cmd_status(gpucmd_client *c, enum status_format format, bool watch)
{
	if (watch)
		signal(SIGINT, on_interrupt);
	do {
		struct gpucmd_status st;
		if (gpucmd_status(c, &st) < 0) {
			fprintf(stderr, "gpucmd: status: %s\n", gpucmd_last_error(c));
			return 1;
		}
		if (watch && format == STATUS_TEXT)
			printf("\033[H\033[2J");
		if (format == STATUS_JSON)
			print_json(&st);
		else if (format == STATUS_PROMETHEUS)
			print_prometheus(&st);
		else
			print_text(&st);
		fflush(stdout);
		gpucmd_status_free(&st);
	} while (watch && !interrupted && sleep(1) == 0 && !interrupted);
	return 0;
}
