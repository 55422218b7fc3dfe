/*
 * prometheus.c — gpucmd status in the Prometheus text exposition format,
 * for `gpucmd status --prometheus` (node_exporter's textfile collector)
 * and gpucmd-exporter. Daemon-wide counters only grow; per-client series
 * carry stable labels (client, pid, uid, comm), their counters include
 * closed sessions, and the asking connection (the scraper) has none.
 */
#include <stddef.h>
#include <stdio.h>

#include "cli.h"

/* A label value: UTF-8 (other bytes become U+FFFD), with backslash, double
 * quote and newline escaped as the text format wants. */
static void prom_value(FILE *f, const char *s)
{
	struct json_object *j = jstr(s);
	fputc('"', f);
	for (const char *p = j ? json_object_get_string(j) : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fprintf(f, "\\n");
		else
			fputc(*p, f);
	}
	fputc('"', f);
	json_object_put(j);
}

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_client(FILE *f, const struct gpucmd_client_status *c)
{
	fprintf(f, "{client=\"%u\",pid=\"%d\",uid=\"%u\",comm=", c->client, c->pid, c->uid);
	prom_value(f, c->comm[0] ? c->comm : c->name);
	fprintf(f, "}");
}

/* Per priority class: sessions, stages, commit_and_wait round trips and
 * their daemon-side latency (median and p99 of the newest 1024). */
static void prom_priorities(FILE *f, const struct gpucmd_status *st)
{
	static const char *const name[] = {"normal", "high", "low"};
	static const struct { const char *metric, *type, *help; } m[] = {
		{"gpucmd_priority_sessions", "gauge", "Open sessions of the priority class."},
		{"gpucmd_priority_stages_total", "counter", "Stages committed in the priority class since start."},
		{"gpucmd_priority_round_trips_total", "counter", "commit_and_wait round trips of the class since start."},
		{"gpucmd_priority_rtt_median_seconds", "gauge",
		 "Median commit_and_wait round trip in the daemon (request to reply), newest 1024."},
		{"gpucmd_priority_rtt_p99_seconds", "gauge", "The same, 99th percentile."},
	};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		prom_head(f, m[i].metric, m[i].type, m[i].help);
		for (int p = 0; p < 3; p++) {
			const struct gpucmd_priority_status *x = &st->priorities[p];
			double v[] = {x->sessions, (double)x->stages, (double)x->round_trips, x->rtt_median_us / 1e6,
				      x->rtt_p99_us / 1e6};
			fprintf(f, "%s{priority=\"%s\"} %.9g\n", m[i].metric, name[p], v[i]);
		}
	}
	prom_head(f, "gpucmd_bulk_kept_back_total", "counter", "Loop turns in which ready bulk work waited in the daemon.");
	fprintf(f, "gpucmd_bulk_kept_back_total %llu\n", (unsigned long long)st->bulk_kept_back);
	prom_head(f, "gpucmd_round_trip_stages_total", "counter",
		  "Command buffers of normal and low round trips (a commit-and-wait with nothing else of the client in flight).");
	fprintf(f, "gpucmd_round_trip_stages_total %llu\n", (unsigned long long)st->round_trip_stages);
	prom_head(f, "gpucmd_daemon_cpu_seconds_total", "counter",
		  "CPU time of gpucmdd's loop thread (every request) and completion thread; a loop rate near 1 means gpucmdd bounds throughput.");
	fprintf(f, "gpucmd_daemon_cpu_seconds_total{thread=\"loop\"} %.6f\n", (double)st->loop_cpu_ns / 1e9);
	fprintf(f, "gpucmd_daemon_cpu_seconds_total{thread=\"retire\"} %.6f\n", (double)st->retire_cpu_ns / 1e9);
	prom_head(f, "gpucmd_daemon_shards", "gauge", "Loop threads serving clients (2 with the HIGH shard).");
	fprintf(f, "gpucmd_daemon_shards %u\n", st->shards);
	prom_head(f, "gpucmd_daemon_parks_total", "counter",
		  "Times one of gpucmdd's loops stopped the others to read or change what they own (status, limits, reload).");
	fprintf(f, "gpucmd_daemon_parks_total %llu\n", (unsigned long long)st->parks);
	prom_head(f, "gpucmd_daemon_parked_seconds_total", "counter",
		  "Time those parks held the other loops stopped.");
	fprintf(f, "gpucmd_daemon_parked_seconds_total %.6f\n", (double)st->parked_us / 1e6);
}

static void prom_daemon(FILE *f, const struct gpucmd_status *st)
{
	prom_head(f, "gpucmd_up", "gauge", "1 when gpucmdd answered.");
	fprintf(f, "gpucmd_up 1\n");
	prom_head(f, "gpucmd_build_info", "gauge", "Always 1; the daemon's version and device as labels.");
	fprintf(f, "gpucmd_build_info{version=");
	prom_value(f, st->daemon_version);
	fprintf(f, ",device=");
	prom_value(f, st->device_name);
	fprintf(f, "} 1\n");
	prom_head(f, "gpucmd_uptime_seconds", "gauge", "Seconds since gpucmdd started.");
	fprintf(f, "gpucmd_uptime_seconds %.3f\n", (double)st->uptime_ms / 1000);
	/* The scraper's own connection is not a client worth a series. */
	prom_head(f, "gpucmd_clients", "gauge", "Connected clients, this scrape's connection left out.");
	fprintf(f, "gpucmd_clients %u\n", st->clients ? st->clients - 1 : 0);
	prom_head(f, "gpucmd_sessions", "gauge", "Open encoder sessions.");
	fprintf(f, "gpucmd_sessions %u\n", st->live_sessions);
	prom_head(f, "gpucmd_buffers", "gauge", "Live buffers, including those kept for work in flight.");
	fprintf(f, "gpucmd_buffers %u\n", st->live_buffers);
	prom_head(f, "gpucmd_connections_total", "counter", "Connections accepted since start, scrapes included.");
	fprintf(f, "gpucmd_connections_total %llu\n", (unsigned long long)st->connections);
	prom_head(f, "gpucmd_submissions_total", "counter", "Command buffers submitted to the GPU since start.");
	fprintf(f, "gpucmd_submissions_total %llu\n", (unsigned long long)st->submissions);
	prom_head(f, "gpucmd_dispatches_total", "counter", "Dispatches recorded since start.");
	fprintf(f, "gpucmd_dispatches_total %llu\n", (unsigned long long)st->dispatches);
	prom_head(f, "gpucmd_device_losses_total", "counter", "Devices lost (and made again) since gpucmdd started.");
	fprintf(f, "gpucmd_device_losses_total %u\n", st->device_losses);
	prom_priorities(f, st);
}

static void prom_heaps(FILE *f, const struct gpucmd_status *st)
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
		prom_head(f, heap[m].name, "gauge", heap[m].help);
		for (uint32_t h = 0; h < st->n_heaps; h++)
			fprintf(f, "%s{heap=\"%u\",device_local=\"%s\"} %llu\n", heap[m].name, h,
			       st->heaps[h].device_local ? "true" : "false",
			       (unsigned long long)*(const uint64_t *)((const char *)&st->heaps[h] + heap[m].off));
	}
}

/* Per client, the scraper itself left out. Its series end when it
 * disconnects; while it lives its counters only grow (closed sessions
 * included). */
static void prom_clients(FILE *f, const struct gpucmd_status *st)
{
	enum { MEM, BUFS, SESS, FLIGHT, WAITERS, UTIL, CBS, DISPATCHES, GPU_NS };
	static const struct { const char *name, *type, *help; } per[] = {
		{"gpucmd_client_memory_bytes", "gauge", "Bytes of buffers the client holds."},
		{"gpucmd_client_buffers", "gauge", "Buffers the client holds."},
		{"gpucmd_client_sessions", "gauge", "Sessions the client has open."},
		{"gpucmd_client_in_flight", "gauge", "Command buffers of the client on the GPU."},
		{"gpucmd_client_fence_waiters", "gauge", "Fence waits (fence_wait, fence_fd) the client has parked."},
		{"gpucmd_client_gpu_utilization_permille", "gauge", "The client's share of the GPU's time over the last "
								    "second, in 1/1000."},
		{"gpucmd_client_command_buffers_total", "counter", "Command buffers the client committed, closed "
								   "sessions included."},
		{"gpucmd_client_dispatches_total", "counter", "Dispatches the client recorded, closed sessions included."},
		{"gpucmd_client_gpu_nanoseconds_total", "counter", "GPU time of the client's command buffers (profiled ones, or all with gpu_accounting)."},
	};
	for (int m = MEM; m <= GPU_NS; m++) {
		prom_head(f, per[m].name, per[m].type, per[m].help);
		for (size_t i = 0; i < st->n_clients; i++) {
			const struct gpucmd_client_status *c = &st->client_list[i];
			if (c->client == st->self)
				continue;
			uint64_t v = m == MEM ? c->memory.bytes : m == BUFS ? c->memory.buffers : m == SESS ? c->n_sessions
				   : m == FLIGHT ? c->in_flight : m == WAITERS ? c->fence_waiters : m == UTIL ? c->gpu_util : m == GPU_NS ? c->memory.gpu_ns
				   : m == CBS ? c->command_buffers : c->dispatches;
			fprintf(f, "%s", per[m].name);
			prom_client(f, c);
			fprintf(f, " %llu\n", (unsigned long long)v);
		}
	}
}

void prometheus_write(FILE *f, const struct gpucmd_status *st)
{
	prom_daemon(f, st);
	prom_heaps(f, st);
	prom_clients(f, st);
}

