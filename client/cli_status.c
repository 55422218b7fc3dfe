/*
 * cli_status.c — `gpucmd status`: a table for people (redrawn with
 * --watch on a terminal), JSON for programs, and the Prometheus text
 * exposition format (prometheus.c) for scrapers.
 */
#include <signal.h>
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
	printf("priorities (%s):", st->high_queue ? "high on a queue of its own" : "one queue for all");
	for (int p = 0; p < 3; p++) {
		const struct gpucmd_priority_status *x = &st->priorities[p];
		printf("%s %s %u sessions, %llu stages, %llu round trips (median %u µs, p99 %u µs)", p ? ";" : "",
		       priority_name[p], x->sessions, (unsigned long long)x->stages, (unsigned long long)x->round_trips,
		       x->rtt_median_us, x->rtt_p99_us);
	}
	printf("; bulk kept back in %llu turns; %llu round trips %s\n", (unsigned long long)st->bulk_kept_back,
	       (unsigned long long)st->round_trip_stages,
	       st->round_trip_queue ? "on a queue of their own" : "on the bulk queue");
	double up_s = st->uptime_ms ? (double)st->uptime_ms / 1e3 : 1;
	printf("daemon CPU since start, %u shard%s: loop threads %.2f s (%.0f %% of uptime), completion threads %.2f s "
	       "(%.0f %%); %llu parks, %.1f ms in all\n",
	       st->shards, st->shards == 1 ? "" : "s", (double)st->loop_cpu_ns / 1e9, (double)st->loop_cpu_ns / 1e7 / up_s,
	       (double)st->retire_cpu_ns / 1e9, (double)st->retire_cpu_ns / 1e7 / up_s, (unsigned long long)st->parks,
	       (double)st->parked_us / 1e3);
	printf("%6s %7s %6s %-15s %4s %4s %5s %8s %11s %7s %10s %11s %s\n", "CLIENT", "PID", "UID", "COMMAND", "LOOP",
	       "SESS", "GPU%", "INFLIGHT", "MEMORY", "BUFFERS", "SUBMITTED", "DISPATCHES", "STATE");
	for (size_t i = 0; i < st->n_clients; i++) {
		const struct gpucmd_client_status *c = &st->client_list[i];
		printf("%6u %7d %6u %-15s %4s %4zu %5.1f %8u %7.1f MiB %7llu %10llu %11llu %s\n", c->client, c->pid, c->uid,
		       text_safe(c->comm[0] ? c->comm : c->name, who, sizeof(who)), c->shard ? "high" : "main", c->n_sessions,
		       c->gpu_util / 10.0,
		       c->in_flight,
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
	jset_u64(o, "fence_waiters", c->fence_waiters);
	jset(o, "gpu_util", json_object_new_double(c->gpu_util / 1000.0));
	jset_u64(o, "shard", c->shard);
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
	struct json_object *pr = json_object_new_object();
	for (int p = 0; p < 3; p++) {
		const struct gpucmd_priority_status *x = &st->priorities[p];
		struct json_object *po = json_object_new_object();
		jset_u64(po, "sessions", x->sessions);
		jset_u64(po, "stages", x->stages);
		jset_u64(po, "round_trips", x->round_trips);
		jset_u64(po, "rtt_median_us", x->rtt_median_us);
		jset_u64(po, "rtt_p99_us", x->rtt_p99_us);
		jset(pr, priority_name[p], po);
	}
	jset(o, "priorities", pr);
	jset(o, "high_queue", json_object_new_boolean(st->high_queue));
	jset_u64(o, "bulk_kept_back", st->bulk_kept_back);
	jset(o, "round_trip_queue", json_object_new_boolean(st->round_trip_queue));
	jset_u64(o, "round_trip_stages", st->round_trip_stages);
	jset_u64(o, "loop_cpu_ns", st->loop_cpu_ns);
	jset_u64(o, "retire_cpu_ns", st->retire_cpu_ns);
	jset_u64(o, "shards", st->shards);
	jset_u64(o, "parks", st->parks);
	jset_u64(o, "parked_us", st->parked_us);
	for (size_t i = 0; i < st->n_clients; i++)
		json_object_array_add(cl, json_client(&st->client_list[i]));
	jset(o, "client_list", cl);
	json_print(o);
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
			prometheus_write(stdout, &st);
		else
			print_text(&st);
		fflush(stdout);
		gpucmd_status_free(&st);
	} while (watch && !interrupted && sleep(1) == 0 && !interrupted);
	return 0;
}
