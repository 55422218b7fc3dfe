/*
 * tokens.c — the requests that reach across connections through
 * capability tokens (fence.h): exporting and importing buffers, exporting
 * fences, GPU waits on another session's fence, and host and fd waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/account.h"
#include "model/buffer.h"
#include "model/client.h"
#include "requests/reply.h"
#include "wire.h"
#include "model/core.h"
#include "model/fence.h"
#include "model/token.h"
#include "requests/requests.h"
#include "model/session.h"
#include "requests/transfer.h"

typedef Gpucmd__Request Req;

void gd_request_reply_token(struct gd_client *c, uint64_t id, const uint8_t *token)
{
	Gpucmd__Token t = GPUCMD__TOKEN__INIT;
	t.token.data = (uint8_t *)token;
	t.token.len = GPUCMD_TOKEN_BYTES;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.body_case = GPUCMD__REPLY__BODY_TOKEN;
	rep.token = &t;
	rep.id = id;
	gd_client_send(c, &rep);
}

void gd_request_buffer_export(struct gd_client *c, const Req *req)
{
	struct gd_buffer *b = gd_handles_get(&c->buffers, req->buffer_export->buffer);
	uint8_t token[GPUCMD_TOKEN_BYTES];
	if (!b) {
		char msg[96];
		snprintf(msg, sizeof(msg), "buffer export: no buffer %u on this connection", req->buffer_export->buffer);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	int r = gd_token_issue(c, GD_TOKEN_BUFFER, b, token);
	if (r < 0) {
		gd_reply_status(c, req->id, r, 0, "buffer export: no token could be made");
		return;
	}
	gd_request_reply_token(c, req->id, token);
}

/* The object a token names; a wrong length or an unknown token is an
 * error reply (or kept failure, for a streamed request). */
static void *lookup_token(struct gd_client *c, const Req *req, enum gd_token_kind kind, ProtobufCBinaryData tok)
{
	void *obj = NULL;
	int r = tok.len == GPUCMD_TOKEN_BYTES ? gd_token_lookup(c->d, kind, tok.data, &obj) : -EINVAL;
	if (obj)
		return obj;
	char msg[300];
	snprintf(msg, sizeof(msg), "%s: %s", gw_request_name(req),
		 r == -EINVAL		  ? "a token is 16 bytes"
		 : r == -EXDEV		  ? GD_TOKEN_ELSEWHERE
		 : kind == GD_TOKEN_FENCE ? "unknown fence token (never issued, or its session closed)"
					  : "unknown buffer token (never issued, or its exporter freed the buffer)");
	if (req->body_case != GPUCMD__REQUEST__BODY_WAIT_FENCE)
		gd_reply_status(c, req->id, r == -EXDEV ? -EXDEV : -ENOENT, 0, msg);
	return NULL;
}

void gd_request_buffer_import(struct gd_client *c, const Req *req)
{
	struct gd_buffer *b = lookup_token(c, req, GD_TOKEN_BUFFER, req->buffer_import->token);
	if (b)
		gd_reply_new_buffer(c, req->id, gd_buffer_ref(b), false);
}

void gd_request_fence_export(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_handles_get(&c->sessions, req->fence_export->session);
	if (!s) {
		char msg[96];
		snprintf(msg, sizeof(msg), "fence export: no session %u on this connection", req->fence_export->session);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	if (!s->exported) {
		if (!gd_session_fence(s) || gd_token_issue(c, GD_TOKEN_FENCE, s->fence, s->fence_token) < 0) {
			gd_reply_status(c, req->id, -ENOMEM, 0, "fence export: out of memory");
			return;
		}
		s->exported = true;
	}
	gd_request_reply_token(c, req->id, s->fence_token);
}

void gd_request_wait_fence(struct gd_client *c, const Req *req)
{
	const Gpucmd__WaitFence *w = req->wait_fence;
	struct gd_session *s = gd_request_session(c, req, w->session);
	if (!s)
		return;
	struct gd_fence *f = lookup_token(c, req, GD_TOKEN_FENCE, w->token);
	if (!f) {
		gd_session_fail(s, req->id, -ENOENT, w->token.len != GPUCMD_TOKEN_BYTES ? "wait_fence: a token is 16 bytes"
				: "wait_fence: unknown fence token (never issued, or its session closed)");
		return;
	}
	gd_session_wait_fence(s, req->id, f, w->value);
}

/* The reply to a fence_wait that was parked (gd_fence_wait). */
static void answer_wait(struct gd_client *c, uint64_t req, int status, const char *msg)
{
	gd_reply_status(c, req, status, 0, msg);
}

/* fence_wait (answered when the value comes) and fence_fd (answered at once
 * with the read end of a pipe the daemon writes when it comes). The daemon
 * never writes into a file its client can fill or make blocking: the write
 * end of that pipe is the daemon's alone, non-blocking and written once. */
void gd_request_fence_wait(struct gd_client *c, const Req *req)
{
	bool by_fd = req->body_case == GPUCMD__REQUEST__BODY_FENCE_FD;
	ProtobufCBinaryData tok = by_fd ? req->fence_fd->token : req->fence_wait->token;
	uint64_t value = by_fd ? req->fence_fd->value : req->fence_wait->value;
	const char *what = by_fd ? "fence_fd" : "fence_wait";
	struct gd_fence *f = lookup_token(c, req, GD_TOKEN_FENCE, tok);
	if (!f)
		return;
	char msg[256], why[200];
	int r = gd_account_may_wait(c->acct, why, sizeof(why));
	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", what, why);
		gd_reply_status(c, req->id, r, 0, msg);
		return;
	}
	int p[2] = {-1, -1};
	if (by_fd && pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		r = -errno;
		snprintf(msg, sizeof(msg), "fence_fd: the daemon could not make a pipe: %s", strerror(errno));
		gd_reply_status(c, req->id, r, 0, msg);
		return;
	}
	r = gd_fence_wait(f, c, req->id, value, by_fd ? 0 : req->fence_wait->timeout_ms, p[1], answer_wait);
	if (r < 0) {
		if (by_fd) {
			close(p[0]);
			close(p[1]);
		}
		snprintf(msg, sizeof(msg), "%s: daemon out of memory", what);
		gd_reply_status(c, req->id, r, 0, msg);
		return;
	}
	if (!by_fd)
		return;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	r = gd_client_send_fd(c, &rep, p[0]);
	if (r < 0)
		gd_reply_status(c, req->id, r, 0, r == -EBUSY ? "fence_fd: the descriptors of earlier replies are not received "
							"yet (read the replies first)" : "fence_fd: daemon out of memory");
	else
		gd_client_flush(c);
}
