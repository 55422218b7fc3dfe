/*
 * dispatch.c — one decoded request to its handler (see requests.h), after
 * the handshake check, a failure kept from streamed requests, and
 * backpressure. Each handler validates all of its request before it
 * changes anything, and every refusal says what was wrong in words the
 * client can act on. Streamed requests (dispatch, commit, begin/fence/
 * reset, close, non-final write chunks) do not reply: their failure is kept
 * by the session, or by the client when no session is named, and reported
 * by the next synchronising call.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/account.h"
#include "model/client.h"
#include "model/core.h"
#include "model/park.h"
#include "requests/admin.h"
#include "requests/kernels.h"
#include "requests/reply.h"
#include "requests/requests.h"

typedef Gpucmd__Request Req;

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

typedef void handler_fn(struct gd_client *c, const Req *req);

static void ping(struct gd_client *c, const Req *req)
{
	gd_reply_status(c, req->id, 0, 0, NULL);
}

/* The requests that are handled at once, whatever the GPU is doing. */
static handler_fn *const handlers[] = {
	[GPUCMD__REQUEST__BODY_HELLO] = gd_request_hello,
	[GPUCMD__REQUEST__BODY_INFO] = gd_request_info,
	[GPUCMD__REQUEST__BODY_PING] = ping,
	[GPUCMD__REQUEST__BODY_KERNEL_LIST] = gd_kernel_list,
	[GPUCMD__REQUEST__BODY_KERNEL_LOOKUP] = gd_kernel_lookup,
	[GPUCMD__REQUEST__BODY_KERNEL_UNREGISTER] = gd_kernel_unregister,
	[GPUCMD__REQUEST__BODY_BUFFER_CREATE] = gd_request_buffer_create,
	[GPUCMD__REQUEST__BODY_BUFFER_FREE] = gd_request_buffer_free,
	[GPUCMD__REQUEST__BODY_BUFFER_COPY] = gd_request_buffer_copy,
	[GPUCMD__REQUEST__BODY_BUFFER_FILL] = gd_request_buffer_fill,
	[GPUCMD__REQUEST__BODY_RESIDENCY] = gd_request_residency,
	[GPUCMD__REQUEST__BODY_MEMORY_QUERY] = gd_request_memory_query,
	[GPUCMD__REQUEST__BODY_STATUS_QUERY] = gd_request_status,
	[GPUCMD__REQUEST__BODY_CLIENT_EVICT] = gd_request_evict,
	[GPUCMD__REQUEST__BODY_SESSION_OPEN] = gd_request_session_open,
	[GPUCMD__REQUEST__BODY_SESSION_CLOSE] = gd_request_session_close,
	[GPUCMD__REQUEST__BODY_BEGIN_STAGE] = gd_request_begin_stage,
	[GPUCMD__REQUEST__BODY_DISPATCH] = gd_request_dispatch,
	[GPUCMD__REQUEST__BODY_COMMIT] = gd_request_commit,
	[GPUCMD__REQUEST__BODY_RESET_STAGE] = gd_request_reset_stage,
	[GPUCMD__REQUEST__BODY_SESSION_QUERY] = gd_request_session_query,
	[GPUCMD__REQUEST__BODY_BUFFER_EXPORT] = gd_request_buffer_export,
	[GPUCMD__REQUEST__BODY_BUFFER_IMPORT] = gd_request_buffer_import,
	[GPUCMD__REQUEST__BODY_FENCE_EXPORT] = gd_request_fence_export,
	[GPUCMD__REQUEST__BODY_WAIT_FENCE] = gd_request_wait_fence,
	[GPUCMD__REQUEST__BODY_FENCE_WAIT] = gd_request_fence_wait,
	[GPUCMD__REQUEST__BODY_FENCE_FD] = gd_request_fence_wait,
	[GPUCMD__REQUEST__BODY_CAPTURE_BEGIN] = gd_request_capture_begin,
	[GPUCMD__REQUEST__BODY_CAPTURE_END] = gd_request_capture_end,
	[GPUCMD__REQUEST__BODY_GRAPH_REPLAY] = gd_request_graph_replay,
	[GPUCMD__REQUEST__BODY_GRAPH_FREE] = gd_request_graph_free,
	[GPUCMD__REQUEST__BODY_GRAPH_EXPORT] = gd_request_graph_export,
	[GPUCMD__REQUEST__BODY_GRAPH_IMPORT] = gd_request_graph_import,
	[GPUCMD__REQUEST__BODY_PROFILE] = gd_request_profile,
	[GPUCMD__REQUEST__BODY_PROFILE_FETCH] = gd_request_profile_fetch,
};

/* Whether the request parks the other shards (model/park.h). */
static bool parks(const struct gd_client *c, const Req *req)
{
	const struct gd_config *cfg = &c->d->proc->cfg;
	switch (req->body_case) {
	case GPUCMD__REQUEST__BODY_STATUS_QUERY:
	case GPUCMD__REQUEST__BODY_INFO: return true;
	case GPUCMD__REQUEST__BODY_SESSION_OPEN: return cfg->max_sessions_per_uid != 0;
	/* Handled again once its build is done, it counts nothing. */
	case GPUCMD__REQUEST__BODY_KERNEL_REGISTER: return cfg->max_kernels_per_uid != 0 && !c->kernels.job;
	default: return false;
	}
}

/* Backpressure: whether the request must wait (-EAGAIN) for some of the
 * client's work on the GPU to retire before it is handled. A client with
 * its fill of work in flight is not read further meanwhile; one whose
 * request would park the other shards waits for its turn to. */
static int must_wait(struct gd_client *c, const Req *req)
{
	uint32_t session;
	if (parks(c, req))
		return gd_park_admit(c->d, gd_request_is_admin(c));
	switch (req->body_case) {
	/* A transfer or a clear is a command buffer of its own, with staging
	 * and a reply owed at retirement: counted like a commit. */
	case GPUCMD__REQUEST__BODY_COMMIT:
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE:
	case GPUCMD__REQUEST__BODY_BUFFER_READ:
	case GPUCMD__REQUEST__BODY_BUFFER_WRITE: return gd_account_saturated(c->acct) ? -EAGAIN : 0;
	case GPUCMD__REQUEST__BODY_DISPATCH: session = req->dispatch->session; break;
	case GPUCMD__REQUEST__BODY_BUFFER_COPY: session = req->buffer_copy->session; break;
	case GPUCMD__REQUEST__BODY_BUFFER_FILL: session = req->buffer_fill->session; break;
	case GPUCMD__REQUEST__BODY_GRAPH_REPLAY: session = req->graph_replay->session; break;
	default: return 0;
	}
	return gd_request_part_blocked(c, session) ? -EAGAIN : 0;
}

/* A round trip first reports a failure kept from earlier streamed requests
 * of this client, and is not run: true when it did so. */
static bool report_kept(struct gd_client *c, const Req *req)
{
	if (!c->err.code || is_streamed(req))
		return false;
	char msg[400];
	snprintf(msg, sizeof(msg), "%s (request %" PRIu64 " was not run)", c->err.msg, req->id);
	gd_reply_status(c, req->id, c->err.code, c->err.req, msg);
	gd_kept_clear(&c->err);
	if (gd_request_takes_fd(req)) {
		int fd = gd_client_take_fd(c);
		if (fd >= 0)
			close(fd);
	}
	return true;
}

int gd_request_handle(struct gd_client *c, const Req *req)
{
	if (!c->greeted && req->body_case != GPUCMD__REQUEST__BODY_HELLO) {
		gd_client_close(c, "request before the handshake", "the first request must be hello");
		return 0;
	}
	c->d->stats.requests++;
	if (report_kept(c, req))
		return 0;
	int r = must_wait(c, req);
	if (r < 0)
		return r;
	switch (req->body_case) {
	case GPUCMD__REQUEST__BODY_KERNEL_REGISTER: return gd_kernel_register(c, req);
	case GPUCMD__REQUEST__BODY_BUFFER_WRITE: return gd_request_buffer_write(c, req);
	case GPUCMD__REQUEST__BODY_BUFFER_READ: return gd_request_buffer_read(c, req);
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED:
		gd_request_buffer_create_shared(c, req, gd_client_take_fd(c));
		return 0;
	default:
		break;
	}
	size_t i = (size_t)req->body_case;
	if (i >= sizeof(handlers) / sizeof(handlers[0]) || !handlers[i]) {
		gd_client_close(c, "request with no known body", "request with no known body (newer client?)");
		return 0;
	}
	handlers[i](c, req);
	return 0;
}
