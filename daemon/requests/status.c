/*
 * status.c — the status report behind `gpucmd status`: the daemon and its
 * device, and for every client the asker may see (its own uid's; all of
 * them for root) who it is, its sessions, its work on the GPU and its
 * memory. Built on the stack of the request: no state of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "model/account.h"
#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "device/gpu.h"
#include "requests/requests.h"
#include "model/session.h"

/* Fills st (and its session messages from ss/ssp) for connection o. */
static void describe_client(const struct gd_client *o, uint64_t now, Gpucmd__ClientStatus *st, Gpucmd__ClientUsage *u,
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

void gd_request_status(struct gd_client *c, const Gpucmd__Request *req)
{
	struct gd_core *d = c->d;
	uint64_t now = uv_now(d->loop);
	size_t n = 0, n_sessions = 0;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->clients) {
		const struct gd_client *o = gd_container_of(pos, struct gd_client, link);
		if (c->uid == 0 || o->uid == c->uid) {
			n++;
			n_sessions += o->sessions.count;
		}
	}
	Gpucmd__ClientStatus *cs = calloc(n, sizeof(*cs)), **csp = calloc(n, sizeof(*csp));
	Gpucmd__ClientUsage *cu = calloc(n, sizeof(*cu));
	Gpucmd__SessionStatus *ss = calloc(n_sessions + 1, sizeof(*ss)), **ssp = calloc(n_sessions + 1, sizeof(*ssp));
	if (!cs || !csp || !cu || !ss || !ssp) {
		gd_reply_status(c, req->id, -ENOMEM, 0, "status: daemon out of memory");
		goto out;
	}
	Gpucmd__StatusReply sr = GPUCMD__STATUS_REPLY__INIT;
	Gpucmd__Heap hp[VK_MAX_MEMORY_HEAPS], *hpp[VK_MAX_MEMORY_HEAPS];
	sr.n_heaps = gd_request_heaps(d, hp, hpp);
	sr.heaps = hpp;
	sr.daemon_version = GD_VERSION;
	sr.device_name = d->proc->gpu->props.deviceName;
	sr.uptime_ms = now - d->started_ms;
	sr.clients = d->stats.clients;
	sr.live_sessions = d->stats.live_sessions;
	sr.live_buffers = d->stats.live_buffers;
	sr.submissions = gd_core_submissions(d);
	sr.dispatches = d->stats.dispatches;
	sr.max_inflight_per_client = d->proc->cfg.max_inflight_per_client;
	sr.device_losses = d->proc->device_losses;
	sr.self = c->id;
	sr.connections = d->stats.connections;
	Gpucmd__PriorityStatus ps[GD_PRIORITY_COUNT], *psp[GD_PRIORITY_COUNT];
	for (int p = 0; p < GD_PRIORITY_COUNT; p++) {
		const struct gd_priority_stats *x = &d->stats.priority[p];
		ps[p] = (Gpucmd__PriorityStatus)GPUCMD__PRIORITY_STATUS__INIT;
		ps[p].priority = (Gpucmd__Priority)p;
		ps[p].sessions = x->sessions;
		ps[p].stages = x->stages;
		ps[p].round_trips = x->rtt.count;
		ps[p].rtt_median_us = gd_latency_quantile(&x->rtt, 0.5);
		ps[p].rtt_p99_us = gd_latency_quantile(&x->rtt, 0.99);
		psp[p] = &ps[p];
	}
	sr.priorities = psp;
	sr.n_priorities = GD_PRIORITY_COUNT;
	sr.high_queue = d->proc->gpu->queue_high != d->proc->gpu->queue;
	sr.bulk_kept_back = gd_scheduler_kept_back(d->sched);
	sr.round_trip_queue = d->proc->gpu->queue_round_trip != d->proc->gpu->queue;
	sr.round_trip_stages = gd_scheduler_round_trips(d->sched);
	struct timespec cpu; /* requests are handled on the loop thread: this is its clock */
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
		sr.loop_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
	sr.retire_cpu_ns = gd_core_retire_cpu_ns(d);
	size_t used = 0;
	gd_list_for_each_safe(pos, tmp, &d->clients) {
		const struct gd_client *o = gd_container_of(pos, struct gd_client, link);
		if (c->uid != 0 && o->uid != c->uid)
			continue;
		describe_client(o, now, &cs[sr.n_client_list], &cu[sr.n_client_list], ss + used, ssp + used);
		used += cs[sr.n_client_list].n_sessions;
		csp[sr.n_client_list] = &cs[sr.n_client_list];
		sr.n_client_list++;
	}
	sr.client_list = csp;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	rep.body_case = GPUCMD__REPLY__BODY_STATUS_REPLY;
	rep.status_reply = &sr;
	gd_client_send(c, &rep);
out:
	free(cs), free(csp), free(cu), free(ss), free(ssp);
}
