/*
 * transfer.c — staged writes, reads and clears of unmappable buffers (see
 * transfer.h). Runs on the loop thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model/buffer.h"
#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "model/encoder.h"
#include "model/session.h"
#include "requests/transfer.h"

void gd_reply_new_buffer(struct gd_client *c, uint64_t id, struct gd_buffer *b, bool zero_copy)
{
	uint32_t handle;
	int r = gd_handles_add(&c->buffers, b, &handle);
	if (r < 0) {
		gd_buffer_unref(b);
		gd_reply_status(c, id, r, 0, r == -ENOMEM ? "buffer: daemon out of memory"
							  : "buffer: this connection holds the most buffers it may");
		return;
	}
	Gpucmd__BufferCreated bc = GPUCMD__BUFFER_CREATED__INIT;
	bc.buffer = handle;
	bc.zero_copy = zero_copy;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = id;
	rep.body_case = GPUCMD__REPLY__BODY_BUFFER_CREATED;
	rep.buffer_created = &bc;
	gd_client_send(c, &rep);
}

void gd_reply_buffer_data(struct gd_client *c, uint64_t id, const void *data, size_t len)
{
	Gpucmd__BufferData bd = GPUCMD__BUFFER_DATA__INIT;
	bd.data.data = (uint8_t *)data;
	bd.data.len = len;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = id;
	rep.body_case = GPUCMD__REPLY__BODY_BUFFER_DATA;
	rep.buffer_data = &bd;
	gd_client_send(c, &rep);
}

/* The connection's transfer session, opened on first use. */
static struct gd_session *session_of(struct gd_client *c)
{
	if (!c->xfer && gd_session_create(c->d, c, &gd_reply_session_events, "transfers", GD_PRIORITY_NORMAL, false, &c->xfer) < 0)
		c->xfer = NULL;
	return c->xfer;
}

/* Moves a failure the transfer session kept to the client: as the reply to
 * `req`, or kept on the connection when `req` gets no reply. */
static bool report_failure(struct gd_client *c, struct gd_session *s, uint64_t req, bool reply)
{
	if (!s->err.code)
		return false;
	if (reply)
		gd_reply_status(c, req, s->err.code, 0, s->err.msg);
	else
		gd_client_fail(c, req, s->err.code, "%s", s->err.msg);
	gd_kept_clear(&s->err);
	return true;
}

/* Retirement of a transfer: the client hears the result now. */
static void answer(struct gd_submission *sub)
{
	struct gd_session *s = sub->session;
	struct gd_client *c = s->client;
	struct gd_buffer *staging = sub->hook_buf, *made = sub->hook_new;
	sub->hook_buf = sub->hook_new = NULL;
	if (c && !report_failure(c, s, sub->hook_id, true)) {
		if (staging)
			gd_reply_buffer_data(c, sub->hook_id, staging->map, sub->hook_size);
		else if (made)
			gd_reply_new_buffer(c, sub->hook_id, made, false);
		else
			gd_reply_status(c, sub->hook_id, 0, 0, NULL);
		made = NULL;
		gd_client_flush(c);
	}
	gd_buffer_unref(staging);
	gd_buffer_unref(made);
}

/* Submits what the transfer session recorded. With `reply`, `req` is
 * answered at retirement, with hook_buf/hook_new saying how. */
static struct gd_submission *submit(struct gd_client *c, struct gd_session *s, uint64_t req, bool reply)
{
	c->xfer_staged = 0;
	gd_session_commit(s, req, GD_COMMIT_STAGE, NULL);
	gd_session_reset(s);
	if (report_failure(c, s, req, reply))
		return NULL;
	struct gd_submission *sub = s->newest;
	if (reply) {
		sub->on_retire = answer;
		sub->hook_id = req;
	}
	return sub;
}

/* A staging buffer of len bytes, or NULL after telling the client why. */
static struct gd_buffer *staging(struct gd_client *c, uint64_t req, uint64_t len, bool reply)
{
	char err[200];
	struct gd_buffer *st;
	int r = gd_buffer_create(c->d, NULL, len, GD_BUFFER_STAGING, &st, NULL, err, sizeof(err));
	if (r == 0)
		return st;
	if (reply)
		gd_reply_status(c, req, r, 0, err);
	else
		gd_client_fail(c, req, r, "buffer write: staging: %s", err);
	return NULL;
}

void gd_transfer_clear(struct gd_client *c, uint64_t req, struct gd_buffer *b)
{
	struct gd_session *s = session_of(c);
	if (!s) {
		gd_buffer_unref(b);
		gd_reply_status(c, req, -ENOMEM, 0, "buffer create: daemon out of memory");
		return;
	}
	gd_session_fill(s, req, b, 0, VK_WHOLE_SIZE, 0);
	struct gd_submission *sub = submit(c, s, req, true);
	if (sub)
		sub->hook_new = b;
	else
		gd_buffer_unref(b);
}

void gd_transfer_write(struct gd_client *c, uint64_t req, struct gd_buffer *b, uint64_t offset, const void *data,
		       size_t len, bool last)
{
	struct gd_session *s = session_of(c);
	if (!s) {
		if (last)
			gd_reply_status(c, req, -ENOMEM, 0, "buffer write: daemon out of memory");
		else
			gd_client_fail(c, req, -ENOMEM, "buffer write: daemon out of memory");
		return;
	}
	if (len) {
		struct gd_buffer *st = staging(c, req, len, last);
		if (!st)
			return;
		memcpy(st->map, data, len);
		gd_session_copy(s, req, st, 0, b, offset, len);
		gd_buffer_unref(st); /* the command buffer holds it now */
		c->xfer_staged += len;
	}
	if (last || c->xfer_staged >= GD_TRANSFER_FLUSH)
		submit(c, s, req, last);
	else
		report_failure(c, s, req, false);
}

void gd_transfer_read(struct gd_client *c, uint64_t req, struct gd_buffer *b, uint64_t offset, uint64_t size)
{
	struct gd_session *s = session_of(c);
	if (!s) {
		gd_reply_status(c, req, -ENOMEM, 0, "buffer read: daemon out of memory");
		return;
	}
	if (size == 0) {
		gd_reply_buffer_data(c, req, NULL, 0);
		return;
	}
	struct gd_buffer *st = staging(c, req, size, true);
	if (!st)
		return;
	gd_session_copy(s, req, b, offset, st, 0, size);
	struct gd_submission *sub = submit(c, s, req, true);
	if (sub) {
		sub->hook_buf = st;
		sub->hook_size = size;
	} else
		gd_buffer_unref(st);
}
