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

static void print_text(const struct gpucmd_status *st)
{
	uint64_t up = st->uptime_ms / 1000;
	char dev[256], who[64], label[256];
	printf("gpucmdd %s on %s, up %lluh%02llum%02llus: %u clients, %u sessions, %u buffers, %llu submissions, "
	       "%llu dispatches\n",
	       st->daemon_version, text_safe(st->device_name, dev, sizeof(dev)), (unsigned long long)(up / 3600),
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
		       text_safe(c->comm[0] ? c->comm : c->name, who, sizeof(who)), c->n_sessions, c->in_flight,
		       mib(c->memory.bytes), (unsigned long long)c->memory.buffers,
		       (unsigned long long)c->command_buffers, (unsigned long long)c->dispatches,
		       c->stalled ? "waiting" : c->in_flight ? "running" : "idle");
		for (size_t k = 0; k < c->n_sessions; k++) {
			const struct gpucmd_session_status *s = &c->sessions[k];
			printf("%14s session %u \"%s\" %s: %u in flight, %llu command buffers, %llu dispatches, "
			       "fence %llu",
			       "", s->session, text_safe(s->label, label, sizeof(label)), priority_name[s->priority % 3],
			       s->in_flight, (unsigned long long)s->command_buffers, (unsigned long long)s->dispatches,
			       (unsigned long long)s->fence_value);
			if (s->gpu_ns)
				printf(", GPU %.3f ms", (double)s->gpu_ns / 1e6);
			putchar('\n');
		}
	}
}

static struct json_object *json_session(const struct gpucmd_session_status *s)
{
	struct json_object *o = json_object_new_object();
	jset_u64(o, "session", s->session);
	jset(o, "label", jstr(s->label));
	jset(o, "priority", json_object_new_string(priority_name[s->priority % 3]));
	jset_u64(o, "in_flight", s->in_flight);
	jset_u64(o, "command_buffers", s->command_buffers);
	jset_u64(o, "dispatches", s->dispatches);
	jset_u64(o, "completed", s->completed);
	jset_u64(o, "fence_value", s->fence_value);
	jset_u64(o, "gpu_ns", s->gpu_ns);
	return o;
}

static struct json_object *json_client(const struct gpucmd_client_status *c)
{
	struct json_object *o = json_object_new_object(), *ss = json_object_new_array();
	jset_u64(o, "client", c->client);
	jset(o, "pid", json_object_new_int(c->pid));
	jset_u64(o, "uid", c->uid);
	jset_u64(o, "gid", c->gid);
	jset(o, "name", jstr(c->name));
	jset(o, "comm", jstr(c->comm));
	jset_u64(o, "connected_ms", c->connected_ms);
	jset_u64(o, "in_flight", c->in_flight);
	jset(o, "stalled", json_object_new_boolean(c->stalled));
	jset_u64(o, "command_buffers", c->command_buffers);
	jset_u64(o, "dispatches", c->dispatches);
	jset(o, "memory", jusage(&c->memory));
	for (size_t k = 0; k < c->n_sessions; k++)
		json_object_array_add(ss, json_session(&c->sessions[k]));
	jset(o, "sessions", ss);
	return o;
}

static void print_json(const struct gpucmd_status *st)
{
	struct json_object *o = json_object_new_object(), *cl = json_object_new_array();
	jset(o, "daemon_version", jstr(st->daemon_version));
	jset(o, "device", jstr(st->device_name));
	jset_u64(o, "uptime_ms", st->uptime_ms);
	jset_u64(o, "clients", st->clients);
	jset_u64(o, "connections", st->connections);
	jset_u64(o, "self", st->self);
	jset_u64(o, "sessions", st->live_sessions);
	jset_u64(o, "buffers", st->live_buffers);
	jset_u64(o, "submissions", st->submissions);
	jset_u64(o, "dispatches", st->dispatches);
	jset_u64(o, "max_inflight_per_client", st->max_inflight_per_client);
	jset_u64(o, "device_losses", st->device_losses);
	jset(o, "heaps", jheaps(st->heaps, st->n_heaps));
	for (size_t i = 0; i < st->n_clients; i++)
		json_object_array_add(cl, json_client(&st->client_list[i]));
	jset(o, "client_list", cl);
	json_print(o);
}

/* A label value: UTF-8 (other bytes become U+FFFD), with backslash, double
 * quote and newline escaped as the text format wants. */
static void prom_value(const char *s)
{
	struct json_object *j = jstr(s);
	putchar('"');
	for (const char *p = j ? json_object_get_string(j) : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			printf("\\%c", *p);
		else if (*p == '\n')
			printf("\\n");
		else
			putchar(*p);
	}
	putchar('"');
	json_object_put(j);
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

static void prom_daemon(const struct gpucmd_status *st)
{
	prom_head("gpucmd_up", "gauge", "1 when gpucmdd answered.");
	printf("gpucmd_up 1\n");
	prom_head("gpucmd_build_info", "gauge", "Always 1; the daemon's version and device as labels.");
	printf("gpucmd_build_info{version=");
	prom_value(st->daemon_version);
	printf(",device=");
	prom_value(st->device_name);
	printf("} 1\n");
	prom_head("gpucmd_uptime_seconds", "gauge", "Seconds since gpucmdd started.");
	printf("gpucmd_uptime_seconds %.3f\n", (double)st->uptime_ms / 1000);
	/* The scraper's own connection is not a client worth a series. */
	prom_head("gpucmd_clients", "gauge", "Connected clients, this scrape's connection left out.");
	printf("gpucmd_clients %u\n", st->clients ? st->clients - 1 : 0);
	prom_head("gpucmd_sessions", "gauge", "Open encoder sessions.");
	printf("gpucmd_sessions %u\n", st->live_sessions);
	prom_head("gpucmd_buffers", "gauge", "Live buffers, including those kept for work in flight.");
	printf("gpucmd_buffers %u\n", st->live_buffers);
	prom_head("gpucmd_connections_total", "counter", "Connections accepted since start, scrapes included.");
	printf("gpucmd_connections_total %llu\n", (unsigned long long)st->connections);
	prom_head("gpucmd_submissions_total", "counter", "Command buffers submitted to the GPU since start.");
	printf("gpucmd_submissions_total %llu\n", (unsigned long long)st->submissions);
	prom_head("gpucmd_dispatches_total", "counter", "Dispatches recorded since start.");
	printf("gpucmd_dispatches_total %llu\n", (unsigned long long)st->dispatches);
	prom_head("gpucmd_device_losses_total", "counter", "Devices lost (and made again) since gpucmdd started.");
	printf("gpucmd_device_losses_total %u\n", st->device_losses);
}

static void prom_heaps(const struct gpucmd_status *st)
{
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
}

/* Per client, the scraper itself left out. Its series end when it
 * disconnects; while it lives its counters only grow (closed sessions
 * included). */
static void prom_clients(const struct gpucmd_status *st)
{
	enum { MEM, BUFS, SESS, FLIGHT, CBS, DISPATCHES, GPU_NS };
	static const struct { const char *name, *type, *help; } per[] = {
		{"gpucmd_client_memory_bytes", "gauge", "Bytes of buffers the client holds."},
		{"gpucmd_client_buffers", "gauge", "Buffers the client holds."},
		{"gpucmd_client_sessions", "gauge", "Sessions the client has open."},
		{"gpucmd_client_in_flight", "gauge", "Command buffers of the client on the GPU."},
		{"gpucmd_client_command_buffers_total", "counter", "Command buffers the client committed, closed "
								   "sessions included."},
		{"gpucmd_client_dispatches_total", "counter", "Dispatches the client recorded, closed sessions included."},
		{"gpucmd_client_gpu_nanoseconds_total", "counter", "GPU time of the client's profiled command buffers."},
	};
	for (int m = MEM; m <= GPU_NS; m++) {
		prom_head(per[m].name, per[m].type, per[m].help);
		for (size_t i = 0; i < st->n_clients; i++) {
			const struct gpucmd_client_status *c = &st->client_list[i];
			if (c->client == st->self)
				continue;
			uint64_t v = m == MEM ? c->memory.bytes : m == BUFS ? c->memory.buffers : m == SESS ? c->n_sessions
				   : m == FLIGHT ? c->in_flight : m == GPU_NS ? c->memory.gpu_ns
				   : m == CBS ? c->command_buffers : c->dispatches;
			printf("%s", per[m].name);
			prom_client(c);
			printf(" %llu\n", (unsigned long long)v);
		}
	}
}

static void print_prometheus(const struct gpucmd_status *st)
{
	prom_daemon(st);
	prom_heaps(st);
	prom_clients(st);
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
		/* Redraw on a terminal only: a pipe or file gets one report after
		 * another, no escape sequences. */
		if (watch && format == STATUS_TEXT && isatty(STDOUT_FILENO))
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
