/*
 * hello.c — the handshake (protocol version, the device's limits the client
 * plans with) and the info request (the device, its queues and heaps, the
 * daemon's counters).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "device/gpu.h"
#include "gpucmd_defs.h"
#include "model/account.h"
#include "model/client.h"
#include "model/core.h"
#include "model/memfd.h"
#include "model/park.h"
#include "requests/admin.h"
#include "requests/reply.h"
#include "requests/requests.h"
#include "submit/scheduler.h"
#include "wire.h"

typedef Gpucmd__Request Req;

void gd_request_hello(struct gd_client *c, const Req *req)
{
	const Gpucmd__Hello *h = req->hello;
	struct gd_core *d = c->d;
	if (h->protocol_version != GPUCMD_PROTOCOL_VERSION) {
		char msg[160];
		snprintf(msg, sizeof(msg), "protocol version %u is not supported: gpucmdd %s speaks version %u",
			 h->protocol_version, GD_VERSION, GPUCMD_PROTOCOL_VERSION);
		gd_reply_status(c, req->id, GPUCMD_E_VERSION, 0, msg);
		return;
	}
	if (h->priority == GPUCMD__PRIORITY__PRIORITY_HIGH) {
		char msg[300];
		int r = gd_request_may_high(c, "hello", msg, sizeof(msg));
		if (r < 0) {
			gd_reply_status(c, req->id, r, 0, msg);
			return;
		}
		/* The HIGH shard takes it from its first handshake on (a
		 * connection holds nothing yet); where it cannot (stopping),
		 * it is served here. proc->high is the main shard's to read. */
		struct gd_core *high = d->index == 0 ? d->proc->high : NULL;
		int moved = high && !c->greeted && !d->stopping ? c->ops->move(c, high) : -ESHUTDOWN;
		if (moved == 0)
			return;
		static struct gd_ratelimit unmoved = GD_RATELIMIT_CLIENT;
		if (moved != -ESHUTDOWN)
			gd_log_limited(&unmoved, GD_LOG_WARN, &GD_CLIENT_LOG_FIELDS(c), "client %u asked for high priority "
				       "and is served on the main loop, not the HIGH shard: %s", c->id, strerror(-moved));
	}
	snprintf(c->name, sizeof(c->name), "%s", h->client_name);
	if (!c->greeted)
		c->acct->parent->handshakes--;
	c->greeted = true;
	const VkPhysicalDeviceLimits *l = &d->proc->gpu->props.limits;
	Gpucmd__HelloReply hr = GPUCMD__HELLO_REPLY__INIT;
	hr.protocol_version = GPUCMD_PROTOCOL_VERSION;
	hr.daemon_version = GD_VERSION;
	hr.device_name = d->proc->gpu->props.deviceName;
	hr.max_frame = d->proc->cfg.max_frame;
	hr.max_buffer_size = d->proc->gpu->max_buffer_size;
	hr.max_groups_x = l->maxComputeWorkGroupCount[0];
	hr.max_groups_y = l->maxComputeWorkGroupCount[1];
	hr.max_groups_z = l->maxComputeWorkGroupCount[2];
	hr.storage_offset_alignment = (uint32_t)l->minStorageBufferOffsetAlignment;
	hr.shared_alignment = gd_memfd_alignment(d);
	hr.reply_poll_us = gd_scheduler_loop_poll_us(d->sched);
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_HELLO;
	rep.hello = &hr;
	rep.id = req->id;
	gd_client_send(c, &rep);
}

void gd_request_info(struct gd_client *c, const Req *req)
{
	struct gd_core *d = c->d;
	struct gd_gpu *gpu = d->proc->gpu;
	Gpucmd__InfoReply ir = GPUCMD__INFO_REPLY__INIT;
	char api[32];
	uint32_t v = gpu->props.apiVersion;
	snprintf(api, sizeof(api), "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
		 VK_API_VERSION_PATCH(v));
	ir.daemon_version = GD_VERSION;
	ir.protocol_version = GPUCMD_PROTOCOL_VERSION;
	ir.device_name = gpu->props.deviceName;
	ir.vendor_id = gpu->props.vendorID;
	ir.device_id = gpu->props.deviceID;
	ir.device_type = (char *)gd_gpu_type_name(gpu->props.deviceType);
	ir.driver_name = gpu->driver.driverName;
	ir.driver_info = gpu->driver.driverInfo;
	ir.api_version = api;
	Gpucmd__QueueFamily qf[16], *qfp[16];
	for (uint32_t i = 0; i < gpu->n_families; i++) {
		qf[i] = (Gpucmd__QueueFamily)GPUCMD__QUEUE_FAMILY__INIT;
		qf[i].index = i;
		qf[i].count = gpu->families[i].queueCount;
		qf[i].flags = gpu->families[i].queueFlags;
		qfp[i] = &qf[i];
	}
	ir.n_queue_families = gpu->n_families;
	ir.queue_families = qfp;
	ir.queue_family = gpu->family;
	Gpucmd__Heap hp[VK_MAX_MEMORY_HEAPS], *hpp[VK_MAX_MEMORY_HEAPS];
	ir.n_heaps = gd_request_heaps(d, hp, hpp);
	ir.heaps = hpp;
	ir.validation = gpu->validate;
	ir.validation_messages = atomic_load(&gpu->validation_messages);
	struct gd_stats sum;
	gd_park_others(d);
	gd_request_stats_sum(d, &sum);
	gd_unpark_others(d);
	ir.clients = sum.clients;
	ir.live_buffers = sum.live_buffers;
	ir.live_sessions = sum.live_sessions;
	ir.submissions = sum.submissions;
	ir.dispatches = sum.dispatches;
	ir.barriers = sum.barriers;
	ir.barriers_elided = sum.barriers_elided;
	ir.concurrent_groups = sum.groups;
	ir.gpu_ns = sum.gpu_ns;
	ir.timestamp_valid_bits = gpu->families[gpu->family].timestampValidBits;
	ir.timestamp_period = gpu->props.limits.timestampPeriod;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_INFO;
	rep.info = &ir;
	rep.id = req->id;
	gd_client_send(c, &rep);
}
