/*
 * sessions.c — the session requests: open and close, stages (begin, commit,
 * reset), dispatch with its bindings checked against the kernel's
 * reflection, the session query, and the eager sessions' backpressure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/idlist.h"
#include "device/gpu.h"
#include "device/registry.h"
#include "gpucmd_defs.h"
#include "model/account.h"
#include "model/buffer.h"
#include "model/client.h"
#include "model/core.h"
#include "model/encoder.h"
#include "model/session.h"
#include "requests/admin.h"
#include "requests/kernels.h"
#include "requests/reply.h"
#include "requests/requests.h"
#include "wire.h"

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

void gd_request_session_open(struct gd_client *c, const Req *req)
{
	const struct gd_config *cfg = &c->d->proc->cfg;
	const Gpucmd__SessionOpen *so_req = req->session_open;
	struct gd_session *s;
	uint32_t h, held;
	char msg[256];
	if (cfg->max_sessions_per_client && c->sessions.count >= cfg->max_sessions_per_client) {
		snprintf(msg, sizeof(msg),
			 "session open: this client already holds %u sessions, the most max_sessions_per_client "
			 "allows (%u, set in %s); close one first",
			 c->sessions.count, cfg->max_sessions_per_client, gd_config_where(cfg));
		reply_error(c, req->id, -EMFILE, msg);
		return;
	}
	if (cfg->max_sessions_per_uid && (held = gd_client_uid_sum(c->d, c->uid, sessions_of)) >= cfg->max_sessions_per_uid) {
		snprintf(msg, sizeof(msg),
			 "session open: uid %u already holds %u sessions over all its clients, the most "
			 "max_sessions_per_uid allows (%u, set in %s)", (unsigned)c->uid, held, cfg->max_sessions_per_uid,
			 gd_config_where(cfg));
		reply_error(c, req->id, -EMFILE, msg);
		return;
	}
	if ((unsigned)so_req->priority >= GD_PRIORITY_COUNT) {
		snprintf(msg, sizeof(msg), "session open: unknown priority %d (0 normal, 1 high, 2 low)",
			 (int)so_req->priority);
		reply_error(c, req->id, -EINVAL, msg);
		return;
	}
	if (so_req->priority == GPUCMD__PRIORITY__PRIORITY_HIGH && gd_request_may_high(c, "session open", msg, sizeof(msg))) {
		reply_error(c, req->id, -EPERM, msg);
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
		reply_error(c, req->id, r, r == -ENOMEM ? "session open: daemon out of memory"
							  : "session open: the device refused a command pool (the daemon's log says why)");
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
	const VkPhysicalDeviceLimits *l = &c->d->proc->gpu->props.limits;
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
void gd_request_dispatch(struct gd_client *c, const Req *req)
{
	const Gpucmd__Dispatch *dp = req->dispatch;
	struct gd_session *s = gd_request_session(c, req, dp->session);
	if (!s)
		return;
	const struct gd_kernel *k = gd_kernel_resolve(c, dp->kernel);
	const VkPhysicalDeviceLimits *l = &c->d->proc->gpu->props.limits;
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
	struct gd_bound bound[GPUCMD_MAX_BINDINGS];
	uint32_t slot[GPUCMD_MAX_BINDINGS];
	if (!slots_of(s, req, k, slot))
		return;
	for (uint32_t i = 0; i < f->n_bindings; i++)
		if (!bind_slot(c, s, req, k, slot[i], dp->bindings[i], &bound[slot[i]]))
			return;
	gd_session_dispatch(s, req->id, k, bound, dp->push.data, groups, dp->flags & GPUCMD_DISPATCH_BARRIER_BEFORE);
}

void gd_request_commit(struct gd_client *c, const Req *req)
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

void gd_request_session_query(struct gd_client *c, const Req *req)
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
	st.submit_order = s->lane.submit_order;
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
bool gd_request_part_blocked(struct gd_client *c, uint32_t session)
{
	const struct gd_session *s = gd_handles_get(&c->sessions, session);
	return s && gd_session_part_due(s) && gd_account_saturated(c->acct);
}

void gd_request_session_close(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_handles_remove(&c->sessions, req->session_close->session);
	if (s)
		gd_session_close(s);
	else
		gd_client_fail(c, req->id, -ENOENT, "session close: no session %u on this connection",
			       req->session_close->session);
}

void gd_request_begin_stage(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_request_session(c, req, req->begin_stage->session);
	if (s)
		gd_session_begin_stage(s, req->begin_stage->label);
}

void gd_request_reset_stage(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_request_session(c, req, req->reset_stage->session);
	if (s)
		gd_session_reset(s);
}
