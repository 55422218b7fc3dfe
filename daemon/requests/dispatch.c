/*
 * requests.c — request handlers (see requests.h). Each handler validates all
 * of its request before it changes anything, and every refusal says what was
 * wrong in words the client can act on. Streamed requests (dispatch, commit,
 * begin/fence/reset, close, non-final write chunks) do not reply: their
 * failure is kept by the session, or by the connection when no session is
 * named, and reported by the next synchronising call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/account.h"
#include "requests/admin.h"
#include "model/buffer.h"
#include "model/client.h"
#include "requests/reply.h"
#include "wire.h"
#include "model/core.h"
#include "device/gpu.h"
#include "gpucmd_defs.h"
#include "requests/kernels.h"
#include "device/memory.h"
#include "device/registry.h"
#include "requests/requests.h"
#include "submit/scheduler.h"
#include "model/encoder.h"
#include "model/session.h"
#include "model/memfd.h"
#include "requests/transfer.h"

typedef Gpucmd__Request Req;

static void reply_error(struct gd_client *c, uint64_t id, int code, const char *msg)
{
	gd_reply_status(c, id, code, 0, msg);
}

static void reply_ok(struct gd_client *c, Gpucmd__Reply *rep, uint64_t id)
{
	rep->id = id;
	gd_client_send(c, rep);
}

static bool is_streamed(const Req *req)
{
	switch (req->body_case) {
	case GPUCMD__REQUEST__BODY_SESSION_CLOSE:
	case GPUCMD__REQUEST__BODY_BEGIN_STAGE:
	case GPUCMD__REQUEST__BODY_DISPATCH:
	case GPUCMD__REQUEST__BODY_RESET_STAGE:
	case GPUCMD__REQUEST__BODY_WAIT_FENCE:
	case GPUCMD__REQUEST__BODY_BUFFER_COPY:
	case GPUCMD__REQUEST__BODY_BUFFER_FILL:
	case GPUCMD__REQUEST__BODY_RESIDENCY:
	case GPUCMD__REQUEST__BODY_CAPTURE_BEGIN:
	case GPUCMD__REQUEST__BODY_GRAPH_REPLAY:
	case GPUCMD__REQUEST__BODY_PROFILE:
		return true;
	case GPUCMD__REQUEST__BODY_COMMIT:
		return req->commit->mode != GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	case GPUCMD__REQUEST__BODY_BUFFER_WRITE:
		return !req->buffer_write->last;
	default:
		return false;
	}
}

bool gd_request_takes_fd(const Req *req)
{
	return req->body_case == GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED;
}

static void hello(struct gd_client *c, const Req *req)
{
	const Gpucmd__Hello *h = req->hello;
	struct gd_core *d = c->d;
	if (h->protocol_version != GW_PROTOCOL_VERSION) {
		char msg[160];
		snprintf(msg, sizeof(msg), "protocol version %u is not supported: gpucmdd %s speaks version %u",
			 h->protocol_version, GD_VERSION, GW_PROTOCOL_VERSION);
		gd_reply_status(c, req->id, GPUCMD_E_VERSION, 0, msg);
		return;
	}
	snprintf(c->name, sizeof(c->name), "%s", h->client_name);
	if (!c->greeted)
		c->acct->parent->handshakes--;
	c->greeted = true;
	const VkPhysicalDeviceLimits *l = &d->gpu->props.limits;
	Gpucmd__HelloReply hr = GPUCMD__HELLO_REPLY__INIT;
	hr.protocol_version = GW_PROTOCOL_VERSION;
	hr.daemon_version = GD_VERSION;
	hr.device_name = d->gpu->props.deviceName;
	hr.max_frame = d->cfg.max_frame;
	hr.max_buffer_size = d->gpu->max_buffer_size;
	hr.max_groups_x = l->maxComputeWorkGroupCount[0];
	hr.max_groups_y = l->maxComputeWorkGroupCount[1];
	hr.max_groups_z = l->maxComputeWorkGroupCount[2];
	hr.storage_offset_alignment = (uint32_t)l->minStorageBufferOffsetAlignment;
	hr.shared_alignment = gd_shared_alignment(d);
	hr.reply_poll_us = gd_scheduler_loop_poll_us(d->sched);
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_HELLO;
	rep.hello = &hr;
	reply_ok(c, &rep, req->id);
}

static void info(struct gd_client *c, const Req *req)
{
	struct gd_core *d = c->d;
	struct gd_gpu *gpu = d->gpu;
	Gpucmd__InfoReply ir = GPUCMD__INFO_REPLY__INIT;
	char api[32];
	uint32_t v = gpu->props.apiVersion;
	snprintf(api, sizeof(api), "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
		 VK_API_VERSION_PATCH(v));
	ir.daemon_version = GD_VERSION;
	ir.protocol_version = GW_PROTOCOL_VERSION;
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
	ir.clients = d->stats.clients;
	ir.live_buffers = d->stats.live_buffers;
	ir.live_sessions = d->stats.live_sessions;
	ir.submissions = d->stats.submissions;
	ir.dispatches = d->stats.dispatches;
	ir.barriers = d->stats.barriers;
	ir.barriers_elided = d->stats.barriers_elided;
	ir.concurrent_groups = d->stats.groups;
	ir.gpu_ns = d->stats.gpu_ns;
	ir.timestamp_valid_bits = gpu->families[gpu->family].timestampValidBits;
	ir.timestamp_period = gpu->props.limits.timestampPeriod;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_INFO;
	rep.info = &ir;
	reply_ok(c, &rep, req->id);
}


static struct gd_buffer *find_buffer(struct gd_client *c, uint32_t handle)
{
	return gd_handles_get(&c->buffers, handle);
}

static struct gd_session *find_session(struct gd_client *c, uint32_t handle)
{
	return gd_handles_get(&c->sessions, handle);
}

/* Sessions held by every connection of uid. */
static uint32_t sessions_of(const struct gd_client *c)
{
	return c->sessions.count;
}

static void session_open(struct gd_client *c, const Req *req)
{
	const struct gd_config *cfg = &c->d->cfg;
	const char *where = cfg->config_path ? cfg->config_path : "the configuration";
	const Gpucmd__SessionOpen *so_req = req->session_open;
	struct gd_session *s;
	uint32_t h, held;
	char msg[256];
	if (cfg->max_sessions_per_client && c->sessions.count >= cfg->max_sessions_per_client) {
		snprintf(msg, sizeof(msg),
			 "session open: this client already holds %u sessions, the most max_sessions_per_client "
			 "allows (%u, set in %s); close one first",
			 c->sessions.count, cfg->max_sessions_per_client, where);
		reply_error(c, req->id, -EMFILE, msg);
		return;
	}
	if (cfg->max_sessions_per_uid && (held = gd_client_uid_sum(c->d, c->uid, sessions_of)) >= cfg->max_sessions_per_uid) {
		snprintf(msg, sizeof(msg),
			 "session open: uid %u already holds %u sessions over all its clients, the most "
			 "max_sessions_per_uid allows (%u, set in %s)", (unsigned)c->uid, held, cfg->max_sessions_per_uid,
			 where);
		reply_error(c, req->id, -EMFILE, msg);
		return;
	}
	if ((unsigned)so_req->priority >= GD_PRIORITY_COUNT) {
		snprintf(msg, sizeof(msg), "session open: unknown priority %d (0 normal, 1 high, 2 low)",
			 (int)so_req->priority);
		reply_error(c, req->id, -EINVAL, msg);
		return;
	}
	if (so_req->flags & ~(uint32_t)GPUCMD_SESSION_EAGER) {
		snprintf(msg, sizeof(msg), "session open: unknown flags 0x%x (this daemon knows GPUCMD_SESSION_EAGER)",
			 so_req->flags & ~(uint32_t)GPUCMD_SESSION_EAGER);
		reply_error(c, req->id, -EINVAL, msg);
		return;
	}
	int r = gd_session_create(c->d, c, &gd_reply_session_events, so_req->label, (enum gd_priority)so_req->priority,
				  so_req->flags & GPUCMD_SESSION_EAGER, &s);
	if (r < 0) {
		reply_error(c, req->id, r, "session open: daemon out of memory");
		return;
	}
	r = gd_handles_add(&c->sessions, s, &h);
	if (r < 0) {
		gd_session_close(s);
		reply_error(c, req->id, r, "this connection holds the most sessions it may");
		return;
	}
	Gpucmd__SessionOpened so = GPUCMD__SESSION_OPENED__INIT;
	so.session = h;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_SESSION_OPENED;
	rep.session_opened = &so;
	reply_ok(c, &rep, req->id);
}

/* A streamed request named a session this connection does not have. */
struct gd_session *gd_request_session(struct gd_client *c, const Req *req, uint32_t handle)
{
	struct gd_session *s = find_session(c, handle);
	if (!s)
		gd_client_fail(c, req->id, -ENOENT, "%s: no session %u on this connection", gw_request_name(req), handle);
	return s;
}

/* "binding 3" or "binding 3 element 1", for messages. */
static const char *slot_name(const struct gd_iface *f, uint32_t slot, char *buf, size_t len)
{
	if (f->count[slot] > 1)
		snprintf(buf, len, "binding %u element %u", f->binding[slot], f->element[slot]);
	else
		snprintf(buf, len, "binding %u", f->binding[slot]);
	return buf;
}

/* Checks one bound range against its buffer, the kernel's slot and the
 * device's limits; fills *ret. */
static bool bind_slot(struct gd_client *c, struct gd_session *s, const Req *req, const struct gd_kernel *k,
		      uint32_t slot, const Gpucmd__Binding *b, struct gd_bound *ret)
{
	const struct gd_iface *f = &k->prog->iface;
	const VkPhysicalDeviceLimits *l = &c->d->gpu->props.limits;
	bool uniform = f->kind[slot] == GD_SLOT_UNIFORM;
	uint64_t align = uniform ? l->minUniformBufferOffsetAlignment : l->minStorageBufferOffsetAlignment;
	uint32_t max = uniform ? l->maxUniformBufferRange : l->maxStorageBufferRange;
	char at[48];
	struct gd_buffer *buf = find_buffer(c, b->buffer);
	if (!buf) {
		gd_session_fail(s, req->id, -ENOENT, "dispatch of kernel '%s': %s names no buffer %u on this connection",
				k->name, slot_name(f, slot, at, sizeof(at)), b->buffer);
		return false;
	}
	uint64_t range = b->size ? b->size : (b->offset < buf->size ? buf->size - b->offset : 0);
	if (!gd_buffer_range_ok(buf, b->offset, range) || range == 0) {
		gd_session_fail(s, req->id, -ERANGE,
				"dispatch of kernel '%s': %s: offset %" PRIu64 " + %" PRIu64 " exceeds buffer size %" PRIu64,
				k->name, slot_name(f, slot, at, sizeof(at)), b->offset, b->size, buf->size);
		return false;
	}
	if (b->offset % align) {
		gd_session_fail(s, req->id, -EINVAL,
				"dispatch of kernel '%s': %s: offset %" PRIu64 " is not a multiple of %" PRIu64 " (%s)",
				k->name, slot_name(f, slot, at, sizeof(at)), b->offset, align,
				uniform ? "minUniformBufferOffsetAlignment" : "minStorageBufferOffsetAlignment");
		return false;
	}
	if (range > max) {
		gd_session_fail(s, req->id, -ERANGE, "dispatch of kernel '%s': %s: range %" PRIu64 " exceeds %s %u%s",
				k->name, slot_name(f, slot, at, sizeof(at)), range,
				uniform ? "maxUniformBufferRange" : "maxStorageBufferRange", max,
				uniform && !b->size ? " (a uniform buffer takes a sized range of a larger buffer)" : "");
		return false;
	}
	if (range < f->min_size[slot]) {
		gd_session_fail(s, req->id, -ERANGE,
				"dispatch of kernel '%s': %s: range %" PRIu64 " is smaller than the %u bytes the kernel declares",
				k->name, slot_name(f, slot, at, sizeof(at)), range, f->min_size[slot]);
		return false;
	}
	*ret = (struct gd_bound){buf, b->offset, range};
	return true;
}

/* The slot each of the dispatch's bindings fills: its position, or with
 * by_binding the binding number and element it names, each slot once. */
static bool slots_of(struct gd_session *s, const Req *req, const struct gd_kernel *k, uint32_t *ret_slot)
{
	const Gpucmd__Dispatch *dp = req->dispatch;
	const struct gd_iface *f = &k->prog->iface;
	uint32_t seen = 0;
	char at[48];
	for (uint32_t i = 0; i < dp->n_bindings; i++) {
		const Gpucmd__Binding *b = dp->bindings[i];
		int slot = dp->by_binding ? gd_iface_slot(f, b->binding, b->element) : (int)i;
		if (slot < 0) {
			int any = gd_iface_slot(f, b->binding, 0);
			if (any >= 0)
				gd_session_fail(s, req->id, -EINVAL, "dispatch of kernel '%s': binding %u has %u element%s, "
						"element %u named", k->name, b->binding, f->count[any],
						f->count[any] == 1 ? "" : "s", b->element);
			else
				gd_session_fail(s, req->id, -EINVAL, "dispatch of kernel '%s': the kernel has no binding %u",
						k->name, b->binding);
			return false;
		}
		if (seen & (1u << slot)) {
			gd_session_fail(s, req->id, -EINVAL, "dispatch of kernel '%s': %s is bound twice", k->name,
					slot_name(f, (uint32_t)slot, at, sizeof(at)));
			return false;
		}
		seen |= 1u << slot;
		ret_slot[i] = (uint32_t)slot;
	}
	return true;
}

/* Validates a dispatch completely, then records it. */
static void dispatch(struct gd_client *c, const Req *req)
{
	const Gpucmd__Dispatch *dp = req->dispatch;
	struct gd_session *s = gd_request_session(c, req, dp->session);
	if (!s)
		return;
	const struct gd_kernel *k = gd_kernel_resolve(c, dp->kernel);
	const VkPhysicalDeviceLimits *l = &c->d->gpu->props.limits;
	if (!k) {
		gd_session_fail(s, req->id, -ENOENT, "dispatch: no kernel with id %u on this connection", dp->kernel);
		return;
	}
	const struct gd_iface *f = &k->prog->iface;
	if (dp->n_bindings != f->n_bindings) {
		gd_session_fail(s, req->id, -EINVAL, "dispatch of kernel '%s': %zu buffers bound, the kernel takes %u%s",
				k->name, dp->n_bindings, f->n_bindings,
				f->n_bindings && f->binding[f->n_bindings - 1] != f->n_bindings - 1
					? " (gpucmd kernels lists its binding numbers and array elements)" : "");
		return;
	}
	if (dp->push.len != f->push_size) {
		gd_session_fail(s, req->id, -EINVAL,
				"dispatch of kernel '%s': %zu bytes of push constants, the kernel takes %u", k->name,
				dp->push.len, f->push_size);
		return;
	}
	if (dp->flags & ~(uint32_t)GPUCMD_DISPATCH_BARRIER_BEFORE) {
		gd_session_fail(s, req->id, -EINVAL, "dispatch of kernel '%s': unknown flags 0x%x (this daemon knows GPUCMD_DISPATCH_BARRIER_BEFORE)",
				k->name, dp->flags);
		return;
	}
	const uint32_t groups[3] = {dp->groups_x, dp->groups_y, dp->groups_z};
	for (int i = 0; i < 3; i++) {
		if (groups[i] == 0 || groups[i] > l->maxComputeWorkGroupCount[i]) {
			gd_session_fail(s, req->id, -EINVAL,
					"dispatch of kernel '%s': group count %c = %u, must be 1..%u (maxComputeWorkGroupCount)",
					k->name, "xyz"[i], groups[i], l->maxComputeWorkGroupCount[i]);
			return;
		}
	}
	struct gd_bound bound[GD_MAX_BINDINGS];
	uint32_t slot[GD_MAX_BINDINGS];
	if (!slots_of(s, req, k, slot))
		return;
	for (uint32_t i = 0; i < f->n_bindings; i++)
		if (!bind_slot(c, s, req, k, slot[i], dp->bindings[i], &bound[slot[i]]))
			return;
	gd_session_dispatch(s, req->id, k, bound, dp->push.data, groups, dp->flags & GPUCMD_DISPATCH_BARRIER_BEFORE);
}

static void commit(struct gd_client *c, const Req *req)
{
	const Gpucmd__Commit *cm = req->commit;
	enum gd_commit_mode mode;
	switch (cm->mode) {
	case GPUCMD__COMMIT_MODE__COMMIT_STAGE: mode = GD_COMMIT_STAGE; break;
	case GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT: mode = GD_COMMIT_AND_WAIT; break;
	case GPUCMD__COMMIT_MODE__COMMIT_FENCE: mode = GD_COMMIT_FENCE; break;
	default:
		gd_client_fail(c, req->id, -EINVAL, "commit: unknown mode %d", (int)cm->mode);
		return;
	}
	struct gd_session *s = find_session(c, cm->session);
	if (!s) {
		char msg[96];
		snprintf(msg, sizeof(msg), "commit: no session %u on this connection", cm->session);
		if (mode == GD_COMMIT_AND_WAIT)
			reply_error(c, req->id, -ENOENT, msg);
		else
			gd_client_fail(c, req->id, -ENOENT, "%s", msg);
		return;
	}
	if (mode == GD_COMMIT_AND_WAIT && s->sync_id) {
		reply_error(c, req->id, -EBUSY, "a commit_and_wait is already waiting on this session");
		return;
	}
	gd_session_commit(s, req->id, mode, cm->has_label ? cm->label : NULL);
}

static void session_query(struct gd_client *c, const Req *req)
{
	struct gd_session *s = find_session(c, req->session_query->session);
	if (!s) {
		char msg[96];
		snprintf(msg, sizeof(msg), "session query: no session %u on this connection", req->session_query->session);
		reply_error(c, req->id, -ENOENT, msg);
		return;
	}
	Gpucmd__SessionState st = GPUCMD__SESSION_STATE__INIT;
	st.drained = s->drained;
	st.fence_pending = s->fence_pending;
	st.has_event = s->fence != NULL;
	st.fence_value = s->fence_value;
	st.wait_value = s->wait_value;
	st.wait_count = s->wait_count;
	st.last_label = s->last_label;
	st.syncs = s->syncs;
	st.dispatches = s->dispatches;
	st.command_buffers = s->command_buffers;
	st.barriers = s->barriers;
	st.completed = s->completed;
	st.residency_requests = s->residency_requests;
	st.residency_pending = s->n_residency;
	st.submit_order = s->lane.last_value;
	st.barriers_elided = s->barriers_elided;
	st.concurrent_groups = s->groups;
	st.barriers_forced = s->barriers_forced;
	st.replays = s->replays;
	st.capturing = s->capture != NULL;
	st.profiling = s->profiling;
	st.gpu_ns = s->gpu_ns;
	st.eager = s->eager;
	st.parts = s->parts;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_SESSION_STATE;
	rep.session_state = &st;
	reply_ok(c, &rep, req->id);
}

/* Backpressure for eager sessions: when a part is due and the client has
 * its fill of work in flight, the command waits for some of it to retire
 * (the connection is not read meanwhile) instead of growing the part: a
 * stage that outruns the GPU would otherwise end as one long command buffer
 * that starts only at its commit. */
static bool part_blocked(struct gd_client *c, uint32_t session)
{
	const struct gd_session *s = gd_handles_get(&c->sessions, session);
	return s && gd_session_part_due(s) && gd_account_saturated(c->acct);
}

int gd_request_handle(struct gd_client *c, const Req *req)
{
	if (!c->greeted && req->body_case != GPUCMD__REQUEST__BODY_HELLO) {
		gd_client_close(c, "request before the handshake", "the first request must be hello");
		return 0;
	}
	/* A round trip first reports a failure kept from earlier streamed
	 * requests of this connection, and is not run. */
	if (c->err.code && !is_streamed(req)) {
		char msg[400];
		snprintf(msg, sizeof(msg), "%s (request %" PRIu64 " was not run)", c->err.msg, req->id);
		gd_reply_status(c, req->id, c->err.code, c->err.req, msg);
		gd_kept_clear(&c->err);
		if (gd_request_takes_fd(req)) {
			int fd = gd_client_take_fd(c);
			if (fd >= 0)
				close(fd);
		}
		return 0;
	}
	switch (req->body_case) {
	case GPUCMD__REQUEST__BODY_HELLO: hello(c, req); return 0;
	case GPUCMD__REQUEST__BODY_INFO: info(c, req); return 0;
	case GPUCMD__REQUEST__BODY_KERNEL_LIST: gd_kernel_list(c, req); return 0;
	case GPUCMD__REQUEST__BODY_KERNEL_LOOKUP: gd_kernel_lookup(c, req); return 0;
	case GPUCMD__REQUEST__BODY_KERNEL_REGISTER: return gd_kernel_register(c, req);
	case GPUCMD__REQUEST__BODY_KERNEL_UNREGISTER: gd_kernel_unregister(c, req); return 0;
	case GPUCMD__REQUEST__BODY_PING: gd_reply_status(c, req->id, 0, 0, NULL); return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE: gd_request_buffer_create(c, req); return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_WRITE: return gd_request_buffer_write(c, req);
	case GPUCMD__REQUEST__BODY_BUFFER_READ: return gd_request_buffer_read(c, req);
	case GPUCMD__REQUEST__BODY_BUFFER_FREE: gd_request_buffer_free(c, req); return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_COPY:
		if (part_blocked(c, req->buffer_copy->session))
			return -EAGAIN;
		gd_request_buffer_copy(c, req);
		return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_FILL:
		if (part_blocked(c, req->buffer_fill->session))
			return -EAGAIN;
		gd_request_buffer_fill(c, req);
		return 0;
	case GPUCMD__REQUEST__BODY_RESIDENCY: gd_request_residency(c, req); return 0;
	case GPUCMD__REQUEST__BODY_MEMORY_QUERY: gd_request_memory_query(c, req); return 0;
	case GPUCMD__REQUEST__BODY_STATUS_QUERY: gd_request_status(c, req); return 0;
	case GPUCMD__REQUEST__BODY_CLIENT_EVICT: gd_request_evict(c, req); return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED:
		gd_request_buffer_create_shared(c, req, gd_client_take_fd(c));
		return 0;
	case GPUCMD__REQUEST__BODY_SESSION_OPEN: session_open(c, req); return 0;
	case GPUCMD__REQUEST__BODY_SESSION_CLOSE: {
		struct gd_session *s = gd_handles_remove(&c->sessions, req->session_close->session);
		if (s)
			gd_session_close(s);
		else
			gd_client_fail(c, req->id, -ENOENT, "session close: no session %u on this connection",
				     req->session_close->session);
		return 0;
	}
	case GPUCMD__REQUEST__BODY_BEGIN_STAGE: {
		struct gd_session *s = gd_request_session(c, req, req->begin_stage->session);
		if (s)
			gd_session_begin_stage(s, req->begin_stage->label);
		return 0;
	}
	case GPUCMD__REQUEST__BODY_DISPATCH:
		if (part_blocked(c, req->dispatch->session))
			return -EAGAIN;
		dispatch(c, req);
		return 0;
	case GPUCMD__REQUEST__BODY_COMMIT:
		/* Backpressure: a client with its fill of work on the GPU is
		 * not read until some of it retires. */
		if (gd_account_saturated(c->acct))
			return -EAGAIN;
		commit(c, req);
		return 0;
	case GPUCMD__REQUEST__BODY_RESET_STAGE: {
		struct gd_session *s = gd_request_session(c, req, req->reset_stage->session);
		if (s)
			gd_session_reset(s);
		return 0;
	}
	case GPUCMD__REQUEST__BODY_SESSION_QUERY: session_query(c, req); return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_EXPORT: gd_request_buffer_export(c, req); return 0;
	case GPUCMD__REQUEST__BODY_BUFFER_IMPORT: gd_request_buffer_import(c, req); return 0;
	case GPUCMD__REQUEST__BODY_FENCE_EXPORT: gd_request_fence_export(c, req); return 0;
	case GPUCMD__REQUEST__BODY_WAIT_FENCE: gd_request_wait_fence(c, req); return 0;
	case GPUCMD__REQUEST__BODY_FENCE_WAIT:
	case GPUCMD__REQUEST__BODY_FENCE_FD: gd_request_fence_wait(c, req); return 0;
	case GPUCMD__REQUEST__BODY_CAPTURE_BEGIN: gd_request_capture_begin(c, req); return 0;
	case GPUCMD__REQUEST__BODY_CAPTURE_END: gd_request_capture_end(c, req); return 0;
	case GPUCMD__REQUEST__BODY_GRAPH_REPLAY:
		if (part_blocked(c, req->graph_replay->session))
			return -EAGAIN;
		gd_request_graph_replay(c, req);
		return 0;
	case GPUCMD__REQUEST__BODY_GRAPH_FREE: gd_request_graph_free(c, req); return 0;
	case GPUCMD__REQUEST__BODY_GRAPH_EXPORT: gd_request_graph_export(c, req); return 0;
	case GPUCMD__REQUEST__BODY_GRAPH_IMPORT: gd_request_graph_import(c, req); return 0;
	case GPUCMD__REQUEST__BODY_PROFILE: gd_request_profile(c, req); return 0;
	case GPUCMD__REQUEST__BODY_PROFILE_FETCH: gd_request_profile_fetch(c, req); return 0;
	default:
		gd_client_close(c, "request with no known body", "request with no known body (newer client?)");
		return 0;
	}
}
