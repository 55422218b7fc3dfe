/*
 * status.c — the status report behind `gpucmd status`: the daemon and its
 * device, and for every client the asker may see (its own uid's; all of
 * them for root) who it is, its sessions, its work on the GPU and its
 * memory, over every shard. Built on the stack of the request: no state
 * of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/account.h"
#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "model/park.h"
#include "device/gpu.h"
#include "requests/requests.h"
#include "model/session.h"

/* Fills st (and its session messages from ss/ssp) for connection o. */
static void describe_client(const struct gd_client *o, uint32_t shard, uint64_t now, Gpucmd__ClientStatus *st, Gpucmd__ClientUsage *u,
			    Gpucmd__SessionStatus *ss, Gpucmd__SessionStatus **ssp)
{
	*st = (Gpucmd__ClientStatus)GPUCMD__CLIENT_STATUS__INIT;
	st->client = o->id;
	st->pid = o->pid;
	st->uid = o->uid;
	st->gid = o->gid;
	st->name = (char *)o->name;
	st->comm = (char *)o->comm;
	st->connected_ms = now - o->connected_ms;
	st->in_flight = o->acct->in_flight;
	st->stalled = o->stalled;
	st->command_buffers = o->command_buffers;
	st->dispatches = o->dispatches;
	st->fence_waiters = o->acct->fence_waiters;
	st->gpu_util = o->gpu_util;
	st->shard = shard;
	gd_request_client_usage(o, u);
	st->memory = u;
	uint32_t cursor = 0, h;
	struct gd_session *s;
	while ((s = gd_handles_next(&o->sessions, &cursor, &h))) {
		Gpucmd__SessionStatus *x = &ss[st->n_sessions];
		*x = (Gpucmd__SessionStatus)GPUCMD__SESSION_STATUS__INIT;
		x->session = h;
		x->label = s->name;
		x->priority = (Gpucmd__Priority)s->lane.priority;
		x->in_flight = s->in_flight;
		x->command_buffers = s->command_buffers;
		x->dispatches = s->dispatches;
		x->completed = s->completed;
		x->fence_value = s->fence_value;
		x->gpu_ns = s->gpu_ns;
		ssp[st->n_sessions++] = x;
	}
	st->sessions = ssp;
}

/* CPU time of the thread running shard x's loop. */
static uint64_t loop_cpu_ns(const struct gd_core *x)
{
	clockid_t id;
	struct timespec cpu;
	if (pthread_getcpuclockid(x->thread, &id) != 0 || clock_gettime(id, &cpu) != 0)
		return 0;
	return (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
}

void gd_request_stats_sum(struct gd_core *d, struct gd_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < d->proc->n_shards; i++) {
		const struct gd_core *x = d->proc->shards[i];
		const struct gd_stats *st = &x->stats;
		sum->clients += st->clients;
		sum->connections += st->connections;
		sum->live_buffers += st->live_buffers;
		sum->resident_buffers += st->resident_buffers;
		sum->live_sessions += st->live_sessions;
		sum->live_graphs += st->live_graphs;
		struct gd_scheduler_counts n = gd_core_counts(x);
		sum->submissions += n.submissions;
		sum->retire_cpu_ns += n.retire_cpu_ns;
		sum->dispatches += st->dispatches;
		sum->barriers += st->barriers;
		sum->barriers_elided += st->barriers_elided;
		sum->groups += st->groups;
		sum->gpu_ns += st->gpu_ns;
		for (int p = 0; p < GD_PRIORITY_COUNT; p++) {
			sum->priority[p].sessions += st->priority[p].sessions;
			sum->priority[p].stages += st->priority[p].stages;
			gd_latency_merge(&sum->priority[p].rtt, &st->priority[p].rtt);
		}
	}
}

/* The daemon's counters, summed over the shards. */
static void fill_counters(struct gd_core *d, Gpucmd__StatusReply *sr, Gpucmd__PriorityStatus *ps,
			  Gpucmd__PriorityStatus **psp)
{
	struct gd_process *proc = d->proc;
	struct gd_stats sum;
	gd_request_stats_sum(d, &sum);
	sr->clients = sum.clients;
	sr->live_sessions = sum.live_sessions;
	sr->live_buffers = sum.live_buffers;
	sr->submissions = sum.submissions;
	sr->dispatches = sum.dispatches;
	sr->connections = sum.connections;
	sr->retire_cpu_ns = sum.retire_cpu_ns;
	sr->shards = proc->n_shards;
	uint64_t held_ns;
	sr->parks = gd_park_count(d, &held_ns);
	sr->parked_us = held_ns / 1000;
	for (uint32_t i = 0; i < proc->n_shards; i++) {
		struct gd_scheduler_counts n;
		gd_scheduler_get_counts(proc->shards[i]->sched, &n);
		sr->bulk_kept_back += n.kept_back;
		sr->round_trip_stages += n.round_trips;
		sr->loop_cpu_ns += loop_cpu_ns(proc->shards[i]);
	}
	for (int p = 0; p < GD_PRIORITY_COUNT; p++) {
		const struct gd_priority_stats *x = &sum.priority[p];
		ps[p] = (Gpucmd__PriorityStatus)GPUCMD__PRIORITY_STATUS__INIT;
		ps[p].priority = (Gpucmd__Priority)p;
		ps[p].sessions = x->sessions;
		ps[p].stages = x->stages;
		ps[p].round_trips = x->rtt.count;
		ps[p].rtt_median_us = gd_latency_quantile(&x->rtt, 0.5);
		ps[p].rtt_p99_us = gd_latency_quantile(&x->rtt, 0.99);
		psp[p] = &ps[p];
	}
	sr->priorities = psp;
	sr->n_priorities = GD_PRIORITY_COUNT;
}

/* The clients of every shard the asker may see, and their sessions. */
struct client_list {
	Gpucmd__ClientStatus *cs, **csp;
	Gpucmd__ClientUsage *cu;
	Gpucmd__SessionStatus *ss, **ssp;
};

static bool visible(const struct gd_client *asker, const struct gd_client *o)
{
	return asker->uid == 0 || o->uid == asker->uid;
}

/* 0, or -ENOMEM; list_free frees it either way. */
static int list_clients(struct gd_client *c, uint64_t now, Gpucmd__StatusReply *sr, struct client_list *l)
{
	struct gd_process *proc = c->d->proc;
	size_t n = 0, n_sessions = 0, used = 0;
	struct gd_list *pos, *tmp;
	for (uint32_t i = 0; i < proc->n_shards; i++)
		gd_list_for_each_safe(pos, tmp, &proc->shards[i]->clients) {
			const struct gd_client *o = gd_container_of(pos, struct gd_client, link);
			n += visible(c, o);
			n_sessions += visible(c, o) ? o->sessions.count : 0;
		}
	l->cs = calloc(n + 1, sizeof(*l->cs)), l->csp = calloc(n + 1, sizeof(*l->csp));
	l->cu = calloc(n + 1, sizeof(*l->cu));
	l->ss = calloc(n_sessions + 1, sizeof(*l->ss)), l->ssp = calloc(n_sessions + 1, sizeof(*l->ssp));
	if (!l->cs || !l->csp || !l->cu || !l->ss || !l->ssp)
		return -ENOMEM;
	for (uint32_t i = 0; i < proc->n_shards; i++)
		gd_list_for_each_safe(pos, tmp, &proc->shards[i]->clients) {
			const struct gd_client *o = gd_container_of(pos, struct gd_client, link);
			if (!visible(c, o))
				continue;
			size_t k = sr->n_client_list++;
			describe_client(o, proc->shards[i]->index, now, &l->cs[k], &l->cu[k], l->ss + used, l->ssp + used);
			used += l->cs[k].n_sessions;
			l->csp[k] = &l->cs[k];
		}
	sr->client_list = l->csp;
	return 0;
}

static void list_free(struct client_list *l)
{
	free(l->cs), free(l->csp), free(l->cu), free(l->ss), free(l->ssp);
}

/* Built while the other shards are parked: their clients are listed too. */
void gd_request_status(struct gd_client *c, const Gpucmd__Request *req)
{
	struct gd_core *d = c->d;
	struct gd_process *proc = d->proc;
	uint64_t now = uv_now(d->loop);
	struct client_list l = {0};
	Gpucmd__StatusReply sr = GPUCMD__STATUS_REPLY__INIT;
	Gpucmd__Heap hp[VK_MAX_MEMORY_HEAPS], *hpp[VK_MAX_MEMORY_HEAPS];
	Gpucmd__PriorityStatus ps[GD_PRIORITY_COUNT], *psp[GD_PRIORITY_COUNT];
	gd_park_others(d);
	if (list_clients(c, now, &sr, &l) < 0) {
		gd_unpark_others(d);
		gd_reply_status(c, req->id, -ENOMEM, 0, "status: daemon out of memory");
		list_free(&l);
		return;
	}
	sr.n_heaps = gd_request_heaps(d, hp, hpp);
	sr.heaps = hpp;
	sr.daemon_version = GD_VERSION;
	sr.device_name = proc->gpu->props.deviceName;
	sr.uptime_ms = now - d->started_ms;
	sr.max_inflight_per_client = proc->cfg.max_inflight_per_client;
	sr.device_losses = proc->device_losses;
	sr.self = c->id;
	sr.high_queue = proc->gpu->queue_high != proc->gpu->queue;
	sr.round_trip_queue = proc->gpu->queue_round_trip != proc->gpu->queue;
	fill_counters(d, &sr, ps, psp);
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	rep.body_case = GPUCMD__REPLY__BODY_STATUS_REPLY;
	rep.status_reply = &sr;
	/* Packed here: the reply points into the other shards' clients. */
	gd_client_send(c, &rep);
	gd_unpark_others(d);
	list_free(&l);
}
