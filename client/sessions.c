/*
 * sessions.c — libgpucmd's encoder sessions: opening and closing them, the
 * streamed commands recorded into a stage (dispatches, copies, fills,
 * residency changes), commits and the next stage, and the session's state.
 * Streamed calls only append to the send buffer (transport.c); the daemon
 * keeps a session's first failure for its next commit_and_wait.
 */
#include <errno.h>

#include "client_internal.h"

int gpucmd_session_open(gpucmd_client *c, const char *label, gpucmd_session *ret)
{
	return gpucmd_session_open_priority(c, label, GPUCMD_PRIORITY_NORMAL, ret);
}

int gpucmd_session_open_priority(gpucmd_client *c, const char *label, enum gpucmd_priority priority,
				 gpucmd_session *ret)
{
	return gpucmd_session_open_flags(c, label, priority, 0, ret);
}

int gpucmd_session_open_flags(gpucmd_client *c, const char *label, enum gpucmd_priority priority, uint32_t flags,
			      gpucmd_session *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "session_open: ret_session is required");
	Gpucmd__SessionOpen so = GPUCMD__SESSION_OPEN__INIT;
	so.label = (char *)(label ? label : "");
	so.priority = (Gpucmd__Priority)priority;
	so.flags = flags;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &so.base, GPUCMD__REPLY__BODY_SESSION_OPENED, &rep);
	if (r < 0)
		return r;
	*ret = rep->session_opened->session;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_session_close(gpucmd_client *c, gpucmd_session s)
{
	Gpucmd__SessionClose sc = GPUCMD__SESSION_CLOSE__INIT;
	sc.session = s;
	return gc_stream(c, &sc.base);
}

int gpucmd_begin_stage(gpucmd_client *c, gpucmd_session s, const char *label)
{
	Gpucmd__BeginStage bs = GPUCMD__BEGIN_STAGE__INIT;
	bs.session = s;
	bs.label = (char *)(label ? label : "");
	return gc_stream(c, &bs.base);
}

/* ---- dispatches ---------------------------------------------------------- */

/* One dispatch, its bindings given by position (pos) or by binding number
 * (at): whichever is not NULL when n > 0. */
static int send_dispatch(gpucmd_client *c, gpucmd_session s, gpucmd_kernel kernel, const struct gpucmd_binding *pos,
			 const struct gpucmd_binding_at *at, uint32_t n, const void *push, uint32_t push_size,
			 uint32_t gx, uint32_t gy, uint32_t gz, uint32_t flags)
{
	if (n > GPUCMD_MAX_BINDINGS)
		return gc_fail(c, -EINVAL, "dispatch: %u bindings, at most %d", n, GPUCMD_MAX_BINDINGS);
	if ((n && !pos && !at) || (push_size && !push))
		return gc_fail(c, -EINVAL, "dispatch: bindings or push constants missing");
	Gpucmd__Binding b[GPUCMD_MAX_BINDINGS], *bp[GPUCMD_MAX_BINDINGS];
	for (uint32_t i = 0; i < n; i++) {
		b[i] = (Gpucmd__Binding)GPUCMD__BINDING__INIT;
		b[i].buffer = at ? at[i].buffer : pos[i].buffer;
		b[i].offset = at ? at[i].offset : pos[i].offset;
		b[i].size = at ? at[i].size : pos[i].size;
		if (at) {
			b[i].binding = at[i].binding;
			b[i].element = at[i].element;
		}
		bp[i] = &b[i];
	}
	Gpucmd__Dispatch d = GPUCMD__DISPATCH__INIT;
	d.session = s;
	d.kernel = kernel;
	d.n_bindings = n;
	d.bindings = bp;
	d.by_binding = at != NULL;
	d.push.data = (uint8_t *)push;
	d.push.len = push_size;
	d.groups_x = gx;
	d.groups_y = gy;
	d.groups_z = gz;
	d.flags = flags;
	return gc_stream(c, &d.base);
}

int gpucmd_dispatch(gpucmd_client *c, gpucmd_session s, gpucmd_kernel kernel, const struct gpucmd_binding *bindings,
		    uint32_t n_bindings, const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz)
{
	return send_dispatch(c, s, kernel, bindings, NULL, n_bindings, push, push_size, gx, gy, gz, 0);
}

int gpucmd_dispatch_flags(gpucmd_client *c, gpucmd_session s, gpucmd_kernel kernel,
			  const struct gpucmd_binding *bindings, uint32_t n_bindings, const void *push,
			  uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t flags)
{
	return send_dispatch(c, s, kernel, bindings, NULL, n_bindings, push, push_size, gx, gy, gz, flags);
}

int gpucmd_dispatch_at(gpucmd_client *c, gpucmd_session s, gpucmd_kernel kernel,
		       const struct gpucmd_binding_at *bindings, uint32_t n_bindings, const void *push,
		       uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz, uint32_t flags)
{
	return send_dispatch(c, s, kernel, NULL, bindings, n_bindings, push, push_size, gx, gy, gz, flags);
}

/* ---- copies, fills, residency ------------------------------------------- */

int gpucmd_buffer_copy(gpucmd_client *c, gpucmd_session s, gpucmd_buffer src, uint64_t src_offset, gpucmd_buffer dst,
		       uint64_t dst_offset, uint64_t size)
{
	Gpucmd__BufferCopy cp = GPUCMD__BUFFER_COPY__INIT;
	cp.session = s;
	cp.src = src;
	cp.src_offset = src_offset;
	cp.dst = dst;
	cp.dst_offset = dst_offset;
	cp.size = size;
	return gc_stream(c, &cp.base);
}

int gpucmd_buffer_fill(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer, uint64_t offset, uint64_t size,
		       uint32_t value)
{
	Gpucmd__BufferFill f = GPUCMD__BUFFER_FILL__INIT;
	f.session = s;
	f.buffer = buffer;
	f.offset = offset;
	f.size = size;
	f.value = value;
	return gc_stream(c, &f.base);
}

static int residency(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer, bool add)
{
	Gpucmd__Residency rs = GPUCMD__RESIDENCY__INIT;
	rs.session = s;
	rs.buffer = buffer;
	rs.add = add;
	return gc_stream(c, &rs.base);
}

int gpucmd_residency_add(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer)
{
	return residency(c, s, buffer, true);
}

int gpucmd_residency_remove(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer)
{
	return residency(c, s, buffer, false);
}

/* ---- commits and stages ------------------------------------------------- */

/* A commit; COMMIT_AND_WAIT is a round trip whose reply goes to *ret (may
 * be NULL), the other modes are streamed. */
static int commit(gpucmd_client *c, gpucmd_session s, Gpucmd__CommitMode mode, const char *label, Gpucmd__Reply **ret)
{
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = s;
	cm.mode = mode;
	cm.has_label = label != NULL;
	cm.label = (char *)(label ? label : "");
	return mode == GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT ? gc_call(c, &cm.base, GC_ANY_BODY, ret)
							    : gc_stream(c, &cm.base);
}

int gpucmd_commit_stage(gpucmd_client *c, gpucmd_session s)
{
	return commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_STAGE, NULL, NULL);
}

int gpucmd_commit_and_wait(gpucmd_client *c, gpucmd_session s)
{
	return commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT, NULL, NULL);
}

int gpucmd_commit_and_wait_timed(gpucmd_client *c, gpucmd_session s, struct gpucmd_gpu_times *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "commit_and_wait_timed: ret_times is required");
	Gpucmd__Reply *rep;
	int r = commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT, NULL, &rep);
	if (r < 0)
		return r;
	/* Only a profiling session's reply carries the times. */
	*ret = (struct gpucmd_gpu_times){0, 0};
	if (rep->body_case == GPUCMD__REPLY__BODY_GPU_TIMES)
		*ret = (struct gpucmd_gpu_times){rep->gpu_times->start_ns, rep->gpu_times->end_ns};
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_fence_stage(gpucmd_client *c, gpucmd_session s, const char *label)
{
	return commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_FENCE, label, NULL);
}

int gpucmd_reset_for_next_stage(gpucmd_client *c, gpucmd_session s)
{
	Gpucmd__ResetStage rs = GPUCMD__RESET_STAGE__INIT;
	rs.session = s;
	return gc_stream(c, &rs.base);
}

int gpucmd_session_query(gpucmd_client *c, gpucmd_session s, struct gpucmd_session_state *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "session_query: ret_state is required");
	Gpucmd__SessionQuery q = GPUCMD__SESSION_QUERY__INIT;
	q.session = s;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &q.base, GPUCMD__REPLY__BODY_SESSION_STATE, &rep);
	if (r < 0)
		return r;
	Gpucmd__SessionState *st = rep->session_state;
	*ret = (struct gpucmd_session_state){
		.drained = st->drained,
		.fence_pending = st->fence_pending,
		.has_event = st->has_event,
		.fence_value = st->fence_value,
		.wait_value = st->wait_value,
		.wait_count = st->wait_count,
		.syncs = st->syncs,
		.dispatches = st->dispatches,
		.command_buffers = st->command_buffers,
		.barriers = st->barriers,
		.barriers_elided = st->barriers_elided,
		.barriers_forced = st->barriers_forced,
		.concurrent_groups = st->concurrent_groups,
		.replays = st->replays,
		.capturing = st->capturing,
		.profiling = st->profiling,
		.gpu_ns = st->gpu_ns,
		.eager = st->eager,
		.parts = st->parts,
		.completed = st->completed,
		.residency_requests = st->residency_requests,
		.residency_pending = st->residency_pending,
		.submit_order = st->submit_order,
	};
	gc_copy_str(ret->last_label, sizeof(ret->last_label), st->last_label);
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}
