/*
 * status.c — libgpucmd's questions to the daemon and its one administrative
 * call: ping, the device and daemon (info), memory use (memory_report), every
 * visible client and session (status), and evicting a client. Each copies a
 * reply into the structs of gpucmd.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "client_internal.h"

int gpucmd_ping(gpucmd_client *c)
{
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	return gc_call(c, &p.base, GC_ANY_BODY, NULL);
}

int gpucmd_evict(gpucmd_client *c, uint32_t client, const char *reason)
{
	Gpucmd__ClientEvict e = GPUCMD__CLIENT_EVICT__INIT;
	e.client = client;
	e.reason = (char *)(reason ? reason : "");
	return gc_call(c, &e.base, GC_ANY_BODY, NULL);
}

static uint32_t copy_heaps(struct gpucmd_heap *dst, Gpucmd__Heap **src, size_t n)
{
	if (n > GPUCMD_MAX_HEAPS)
		n = GPUCMD_MAX_HEAPS;
	for (size_t k = 0; k < n; k++)
		dst[k] = (struct gpucmd_heap){
			.size = src[k]->size,
			.device_local = src[k]->device_local,
			.budget = src[k]->budget,
			.usage = src[k]->usage,
			.allocated = src[k]->allocated,
			.used = src[k]->used,
		};
	return (uint32_t)n;
}

int gpucmd_info(gpucmd_client *c, struct gpucmd_info *ret)
{
	Gpucmd__Info in = GPUCMD__INFO__INIT;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &in.base, GPUCMD__REPLY__BODY_INFO, &rep);
	if (r < 0)
		return r;
	Gpucmd__InfoReply *ir = rep->info;
	struct gpucmd_info i = c->hello;
	gc_copy_str(i.daemon_version, sizeof(i.daemon_version), ir->daemon_version);
	i.protocol_version = ir->protocol_version;
	gc_copy_str(i.device_name, sizeof(i.device_name), ir->device_name);
	i.vendor_id = ir->vendor_id;
	i.device_id = ir->device_id;
	gc_copy_str(i.device_type, sizeof(i.device_type), ir->device_type);
	gc_copy_str(i.driver_name, sizeof(i.driver_name), ir->driver_name);
	gc_copy_str(i.driver_info, sizeof(i.driver_info), ir->driver_info);
	gc_copy_str(i.api_version, sizeof(i.api_version), ir->api_version);
	for (size_t k = 0; k < ir->n_queue_families && k < GPUCMD_MAX_QUEUE_FAMILIES; k++) {
		i.queue_families[k].index = ir->queue_families[k]->index;
		i.queue_families[k].count = ir->queue_families[k]->count;
		i.queue_families[k].flags = ir->queue_families[k]->flags;
		i.n_queue_families = (uint32_t)k + 1;
	}
	i.queue_family = ir->queue_family;
	i.n_heaps = copy_heaps(i.heaps, ir->heaps, ir->n_heaps);
	i.validation = ir->validation;
	i.validation_messages = ir->validation_messages;
	i.clients = ir->clients;
	i.live_buffers = ir->live_buffers;
	i.live_sessions = ir->live_sessions;
	i.submissions = ir->submissions;
	i.dispatches = ir->dispatches;
	i.barriers = ir->barriers;
	i.barriers_elided = ir->barriers_elided;
	i.concurrent_groups = ir->concurrent_groups;
	i.gpu_ns = ir->gpu_ns;
	i.timestamp_valid_bits = ir->timestamp_valid_bits;
	i.timestamp_period = ir->timestamp_period;
	*ret = i;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

static void copy_usage(struct gpucmd_memory_usage *dst, const Gpucmd__ClientUsage *src)
{
	if (!src) {
		*dst = (struct gpucmd_memory_usage){0};
		return;
	}
	*dst = (struct gpucmd_memory_usage){
		.client = src->client,
		.pid = src->pid,
		.uid = src->uid,
		.bytes = src->bytes,
		.buffers = src->buffers,
		.peak = src->peak,
		.resident_buffers = src->resident_buffers,
		.resident_bytes = src->resident_bytes,
		.limit = src->limit,
		.gpu_ns = src->gpu_ns,
	};
	gc_copy_str(dst->name, sizeof(dst->name), src->name);
}

int gpucmd_memory_report(gpucmd_client *c, struct gpucmd_memory_report *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "memory_report: ret_report is required");
	Gpucmd__MemoryQuery q = GPUCMD__MEMORY_QUERY__INIT;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &q.base, GPUCMD__REPLY__BODY_MEMORY, &rep);
	if (r < 0)
		return r;
	Gpucmd__MemoryReport *mr = rep->memory;
	*ret = (struct gpucmd_memory_report){
		.device_allocations = mr->device_allocations,
		.max_allocations = mr->max_allocations,
		.live_buffers = mr->live_buffers,
		.resident_buffers = mr->resident_buffers,
		.kept_allocations = mr->kept_allocations,
		.kept_bytes = mr->kept_bytes,
		.reused_allocations = mr->reused_allocations,
	};
	ret->n_heaps = copy_heaps(ret->heaps, mr->heaps, mr->n_heaps);
	copy_usage(&ret->self, mr->self);
	copy_usage(&ret->user, mr->user);
	ret->clients = calloc(mr->n_clients ? mr->n_clients : 1, sizeof(*ret->clients));
	if (!ret->clients) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, -ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < mr->n_clients; k++)
		copy_usage(&ret->clients[k], mr->clients[k]);
	ret->n_clients = mr->n_clients;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

void gpucmd_status_free(struct gpucmd_status *st)
{
	for (size_t i = 0; st && st->client_list && i < st->n_clients; i++)
		free(st->client_list[i].sessions);
	if (st) {
		free(st->client_list);
		st->client_list = NULL;
		st->n_clients = 0;
	}
}

/* One client of a StatusReply, its sessions in a new array of its own
 * (o->sessions). 0 or -ENOMEM. */
static int copy_client_status(struct gpucmd_client_status *o, const Gpucmd__ClientStatus *cs)
{
	*o = (struct gpucmd_client_status){
		.client = cs->client,
		.pid = cs->pid,
		.uid = cs->uid,
		.gid = cs->gid,
		.connected_ms = cs->connected_ms,
		.in_flight = cs->in_flight,
		.stalled = cs->stalled,
		.command_buffers = cs->command_buffers,
		.dispatches = cs->dispatches,
		.fence_waiters = cs->fence_waiters,
		.gpu_util = cs->gpu_util,
		.shard = cs->shard,
	};
	gc_copy_str(o->name, sizeof(o->name), cs->name);
	gc_copy_str(o->comm, sizeof(o->comm), cs->comm);
	copy_usage(&o->memory, cs->memory);
	o->sessions = calloc(cs->n_sessions ? cs->n_sessions : 1, sizeof(*o->sessions));
	if (!o->sessions)
		return -ENOMEM;
	for (size_t k = 0; k < cs->n_sessions; k++) {
		const Gpucmd__SessionStatus *ss = cs->sessions[k];
		o->sessions[k] = (struct gpucmd_session_status){
			.session = ss->session,
			.priority = (enum gpucmd_priority)ss->priority,
			.in_flight = ss->in_flight,
			.command_buffers = ss->command_buffers,
			.dispatches = ss->dispatches,
			.completed = ss->completed,
			.fence_value = ss->fence_value,
			.gpu_ns = ss->gpu_ns,
		};
		gc_copy_str(o->sessions[k].label, sizeof(o->sessions[k].label), ss->label);
	}
	o->n_sessions = cs->n_sessions;
	return 0;
}

int gpucmd_status(gpucmd_client *c, struct gpucmd_status *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "status: ret_status is required");
	Gpucmd__StatusQuery q = GPUCMD__STATUS_QUERY__INIT;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &q.base, GPUCMD__REPLY__BODY_STATUS_REPLY, &rep);
	if (r < 0)
		return r;
	Gpucmd__StatusReply *sr = rep->status_reply;
	*ret = (struct gpucmd_status){
		.uptime_ms = sr->uptime_ms,
		.clients = sr->clients,
		.live_sessions = sr->live_sessions,
		.live_buffers = sr->live_buffers,
		.submissions = sr->submissions,
		.dispatches = sr->dispatches,
		.max_inflight_per_client = sr->max_inflight_per_client,
		.device_losses = sr->device_losses,
		.self = sr->self,
		.connections = sr->connections,
		.high_queue = sr->high_queue,
		.bulk_kept_back = sr->bulk_kept_back,
		.round_trip_queue = sr->round_trip_queue,
		.round_trip_stages = sr->round_trip_stages,
		.loop_cpu_ns = sr->loop_cpu_ns,
		.retire_cpu_ns = sr->retire_cpu_ns,
		.shards = sr->shards,
		.parks = sr->parks,
		.parked_us = sr->parked_us,
	};
	for (size_t i = 0; i < sr->n_priorities; i++) {
		const Gpucmd__PriorityStatus *p = sr->priorities[i];
		if ((unsigned)p->priority < 3)
			ret->priorities[p->priority] = (struct gpucmd_priority_status){
				p->sessions, p->stages, p->round_trips, p->rtt_median_us, p->rtt_p99_us};
	}
	gc_copy_str(ret->daemon_version, sizeof(ret->daemon_version), sr->daemon_version);
	gc_copy_str(ret->device_name, sizeof(ret->device_name), sr->device_name);
	ret->n_heaps = copy_heaps(ret->heaps, sr->heaps, sr->n_heaps);
	ret->client_list = calloc(sr->n_client_list ? sr->n_client_list : 1, sizeof(*ret->client_list));
	r = ret->client_list ? 0 : -ENOMEM;
	/* n_clients counts the entries made, so that status_free frees what
	 * a failure left behind. */
	for (size_t i = 0; r == 0 && i < sr->n_client_list; i++) {
		r = copy_client_status(&ret->client_list[i], sr->client_list[i]);
		ret->n_clients = i + 1;
	}
	gpucmd__reply__free_unpacked(rep, NULL);
	if (r < 0) {
		gpucmd_status_free(ret);
		return gc_fail(c, r, "out of memory");
	}
	return 0;
}
