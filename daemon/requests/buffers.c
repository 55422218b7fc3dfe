/*
 * buffers.c — the buffer and memory requests: create, write,
 * read, free, copy, fill, residency and the memory report. Same rules as
 * dispatch.c: everything is validated before anything changes, and every
 * refusal names what was wrong.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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
#include "device/gpu.h"
#include "gpucmd_defs.h"
#include "device/memory.h"
#include "requests/requests.h"
#include "model/encoder.h"
#include "model/session.h"
#include "model/memfd.h"
#include "requests/transfer.h"

typedef Gpucmd__Request Req;

void gd_request_buffer_create(struct gd_client *c, const Req *req)
{
	const Gpucmd__BufferCreate *bc = req->buffer_create;
	char msg[256];
	if (bc->flags & ~(uint32_t)GPUCMD_BUFFER_HOST_VISIBLE) {
		snprintf(msg, sizeof(msg), "buffer create: unknown flags 0x%x (GPUCMD_BUFFER_HOST_VISIBLE is 0x%x)",
			 bc->flags & ~(uint32_t)GPUCMD_BUFFER_HOST_VISIBLE, GPUCMD_BUFFER_HOST_VISIBLE);
		gd_reply_status(c, req->id, -EINVAL, 0, msg);
		return;
	}
	struct gd_buffer *b;
	bool needs_clear;
	int r = gd_buffer_create(c->d, c->acct, bc->size, bc->flags, &b, &needs_clear, msg, sizeof(msg));
	if (r < 0) {
		gd_reply_status(c, req->id, r, 0, msg);
		return;
	}
	if (needs_clear)
		gd_transfer_clear(c, req->id, b);
	else
		gd_reply_new_buffer(c, req->id, b, false);
}

void gd_request_buffer_create_shared(struct gd_client *c, const Req *req, int fd)
{
	char msg[256], why[200];
	struct gd_shm shm;
	struct gd_buffer *b;
	bool zero_copy;
	uint64_t size = req->buffer_create_shared->size;
	if (fd < 0) {
		gd_reply_status(c, req->id, -EBADF, 0, "shared buffer create: the request came without a memfd");
		return;
	}
	int r = gd_memfd_map(c->d, fd, size, &shm, why, sizeof(why));
	close(fd); /* the mapping keeps the memory */
	if (r == 0) {
		r = gd_buffer_create_shared(c->d, c->acct, size, &shm, &b, &zero_copy, why, sizeof(why));
		gd_memfd_unmap(&shm); /* still ours only if that failed */
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg), "shared buffer create: %s", why);
		gd_reply_status(c, req->id, r, 0, msg);
		return;
	}
	gd_reply_new_buffer(c, req->id, b, zero_copy);
}

int gd_request_buffer_write(struct gd_client *c, const Req *req)
{
	const Gpucmd__BufferWrite *w = req->buffer_write;
	struct gd_buffer *b = gd_handles_get(&c->buffers, w->buffer);
	char msg[200];
	if (!b) {
		snprintf(msg, sizeof(msg), "buffer write: no buffer %u on this connection", w->buffer);
	} else if (!gd_buffer_range_ok(b, w->offset, w->data.len)) {
		snprintf(msg, sizeof(msg), "buffer write: offset %" PRIu64 " + %zu bytes exceeds buffer size %" PRIu64,
			 w->offset, w->data.len, b->size);
	} else {
		/* Never write under the GPU's feet: wait for submitted work that
		 * uses the buffer (work still being recorded has not run yet). */
		if (b->busy)
			return -EAGAIN;
		if (!b->map) {
			gd_transfer_write(c, req->id, b, w->offset, w->data.data, w->data.len, w->last);
			return 0;
		}
		memcpy(b->map + w->offset, w->data.data, w->data.len);
		if (w->last)
			gd_reply_status(c, req->id, 0, 0, NULL);
		return 0;
	}
	if (w->last)
		gd_reply_status(c, req->id, b ? -ERANGE : -ENOENT, 0, msg);
	else
		gd_client_fail(c, req->id, b ? -ERANGE : -ENOENT, "%s", msg);
	return 0;
}

int gd_request_buffer_read(struct gd_client *c, const Req *req)
{
	const Gpucmd__BufferRead *rd = req->buffer_read;
	struct gd_buffer *b = gd_handles_get(&c->buffers, rd->buffer);
	char msg[200];
	size_t room = c->d->proc->cfg.max_frame - 64;
	int code = 0;
	if (!b) {
		snprintf(msg, sizeof(msg), "buffer read: no buffer %u on this connection", rd->buffer);
		code = -ENOENT;
	} else if (!gd_buffer_range_ok(b, rd->offset, rd->size)) {
		snprintf(msg, sizeof(msg), "buffer read: offset %" PRIu64 " + %" PRIu64 " bytes exceeds buffer size %" PRIu64,
			 rd->offset, rd->size, b->size);
		code = -ERANGE;
	} else if (rd->size > room) {
		snprintf(msg, sizeof(msg), "buffer read: %" PRIu64 " bytes in one request, at most %zu (the frame limit)",
			 rd->size, room);
		code = -EMSGSIZE;
	}
	if (code) {
		gd_reply_status(c, req->id, code, 0, msg);
		return 0;
	}
	if (b->busy)
		return -EAGAIN;
	if (b->map)
		gd_reply_buffer_data(c, req->id, b->map + rd->offset, rd->size);
	else
		gd_transfer_read(c, req->id, b, rd->offset, rd->size);
	return 0;
}

void gd_request_buffer_free(struct gd_client *c, const Req *req)
{
	struct gd_buffer *b = gd_handles_remove(&c->buffers, req->buffer_free->buffer);
	if (!b) {
		char msg[96];
		snprintf(msg, sizeof(msg), "buffer free: no buffer %u on this connection", req->buffer_free->buffer);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	gd_token_revoke(c, GD_TOKEN_BUFFER, b);
	gd_buffer_unref(b);
	gd_reply_status(c, req->id, 0, 0, NULL);
}

/* The buffer a streamed request names, or NULL with the session failed. */
static struct gd_buffer *session_buffer(struct gd_client *c, struct gd_session *s, const Req *req, const char *role,
					uint32_t handle)
{
	struct gd_buffer *b = gd_handles_get(&c->buffers, handle);
	if (!b)
		gd_session_fail(s, req->id, -ENOENT, "%s: %s names no buffer %u on this connection", gw_request_name(req),
				role, handle);
	return b;
}

void gd_request_buffer_copy(struct gd_client *c, const Req *req)
{
	const Gpucmd__BufferCopy *cp = req->buffer_copy;
	struct gd_session *s = gd_request_session(c, req, cp->session);
	if (!s)
		return;
	struct gd_buffer *src = session_buffer(c, s, req, "source", cp->src);
	struct gd_buffer *dst = src ? session_buffer(c, s, req, "destination", cp->dst) : NULL;
	if (!dst)
		return;
	if (cp->size == 0) {
		gd_session_fail(s, req->id, -EINVAL, "buffer copy: size must not be zero");
		return;
	}
	if (!gd_buffer_range_ok(src, cp->src_offset, cp->size) || !gd_buffer_range_ok(dst, cp->dst_offset, cp->size)) {
		bool bad_src = !gd_buffer_range_ok(src, cp->src_offset, cp->size);
		gd_session_fail(s, req->id, -ERANGE,
				"buffer copy: %s offset %" PRIu64 " + %" PRIu64 " bytes exceeds buffer size %" PRIu64,
				bad_src ? "source" : "destination", bad_src ? cp->src_offset : cp->dst_offset, cp->size,
				bad_src ? src->size : dst->size);
		return;
	}
	/* Vulkan leaves overlapping copies undefined. */
	if (src == dst && cp->src_offset < cp->dst_offset + cp->size && cp->dst_offset < cp->src_offset + cp->size) {
		gd_session_fail(s, req->id, -EINVAL,
				"buffer copy: source [%" PRIu64 ", +%" PRIu64 ") and destination [%" PRIu64
				", +%" PRIu64 ") overlap in the same buffer",
				cp->src_offset, cp->size, cp->dst_offset, cp->size);
		return;
	}
	gd_session_copy(s, req->id, src, cp->src_offset, dst, cp->dst_offset, cp->size);
}

void gd_request_buffer_fill(struct gd_client *c, const Req *req)
{
	const Gpucmd__BufferFill *f = req->buffer_fill;
	struct gd_session *s = gd_request_session(c, req, f->session);
	if (!s)
		return;
	struct gd_buffer *b = session_buffer(c, s, req, "it", f->buffer);
	if (!b)
		return;
	if (f->offset % 4 || f->size % 4) {
		gd_session_fail(s, req->id, -EINVAL,
				"buffer fill: offset %" PRIu64 " and size %" PRIu64 " must be multiples of 4 (a fill writes 32-bit words)",
				f->offset, f->size);
		return;
	}
	uint64_t size = f->size ? f->size : (f->offset < b->size ? VK_WHOLE_SIZE : 0);
	if (size == 0 || (f->size && !gd_buffer_range_ok(b, f->offset, f->size))) {
		gd_session_fail(s, req->id, -ERANGE,
				"buffer fill: offset %" PRIu64 " + %" PRIu64 " bytes is empty or exceeds buffer size %" PRIu64,
				f->offset, f->size, b->size);
		return;
	}
	gd_session_fill(s, req->id, b, f->offset, size, f->value);
}

void gd_request_residency(struct gd_client *c, const Req *req)
{
	const Gpucmd__Residency *rs = req->residency;
	struct gd_session *s = gd_request_session(c, req, rs->session);
	if (!s)
		return;
	struct gd_buffer *b = session_buffer(c, s, req, "it", rs->buffer);
	if (b)
		gd_session_residency(s, req->id, b, rs->add);
}

static void usage_of(const struct gd_account *a, uint64_t limit, Gpucmd__ClientUsage *u)
{
	*u = (Gpucmd__ClientUsage)GPUCMD__CLIENT_USAGE__INIT;
	u->uid = a->uid;
	u->bytes = a->bytes;
	u->buffers = a->buffers;
	u->resident_buffers = a->resident;
	u->resident_bytes = a->resident_bytes;
	u->peak = a->peak;
	u->limit = limit;
}

void gd_request_client_usage(const struct gd_client *c, Gpucmd__ClientUsage *u)
{
	usage_of(c->acct, c->d->proc->cfg.max_memory_per_client, u);
	u->client = c->id;
	u->pid = c->pid;
	u->name = (char *)c->name;
	u->gpu_ns = c->gpu_ns;
}

uint32_t gd_request_heaps(struct gd_core *d, Gpucmd__Heap *hp, Gpucmd__Heap **hpp)
{
	struct gd_heap_usage hu[VK_MAX_MEMORY_HEAPS];
	uint32_t n = gd_memory_heaps(d->proc->memory, hu);
	for (uint32_t i = 0; i < n; i++) {
		hp[i] = (Gpucmd__Heap)GPUCMD__HEAP__INIT;
		hp[i].size = hu[i].size;
		hp[i].device_local = hu[i].device_local;
		hp[i].budget = hu[i].budget;
		hp[i].usage = hu[i].usage;
		hp[i].allocated = hu[i].allocated;
		hp[i].used = hu[i].used;
		hpp[i] = &hp[i];
	}
	return n;
}

void gd_request_memory_query(struct gd_client *c, const Req *req)
{
	struct gd_core *d = c->d;
	Gpucmd__MemoryReport mr = GPUCMD__MEMORY_REPORT__INIT;
	Gpucmd__Heap hp[VK_MAX_MEMORY_HEAPS], *hpp[VK_MAX_MEMORY_HEAPS];
	mr.n_heaps = gd_request_heaps(d, hp, hpp);
	mr.heaps = hpp;
	Gpucmd__ClientUsage self, user;
	gd_request_client_usage(c, &self);
	usage_of(c->acct->parent, d->proc->cfg.max_memory_per_uid, &user);
	mr.self = &self;
	mr.user = &user;
	/* A client sees the connections of its own uid; root sees all. On the
	 * heap: their number is the clients', nothing the stack can bound. */
	Gpucmd__ClientUsage *cu = calloc(d->stats.clients, sizeof(*cu));
	Gpucmd__ClientUsage **cup = calloc(d->stats.clients, sizeof(*cup));
	if (!cu || !cup) {
		free(cu);
		free(cup);
		gd_reply_status(c, req->id, -ENOMEM, 0, "memory query: daemon out of memory");
		return;
	}
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->clients) {
		struct gd_client *o = gd_container_of(pos, struct gd_client, link);
		if (mr.n_clients == d->stats.clients || (c->uid != 0 && o->uid != c->uid))
			continue;
		gd_request_client_usage(o, &cu[mr.n_clients]);
		cup[mr.n_clients] = &cu[mr.n_clients];
		mr.n_clients++;
	}
	mr.clients = cup;
	mr.device_allocations = gd_memory_allocations(d->proc->memory);
	mr.max_allocations = d->proc->gpu->props.limits.maxMemoryAllocationCount;
	mr.live_buffers = d->stats.live_buffers;
	mr.resident_buffers = d->stats.resident_buffers;
	struct gd_memory_kept kept = gd_memory_kept(d->proc->memory);
	mr.kept_allocations = kept.allocations;
	mr.kept_bytes = kept.bytes;
	mr.reused_allocations = kept.reused;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	rep.body_case = GPUCMD__REPLY__BODY_MEMORY;
	rep.memory = &mr;
	gd_client_send(c, &rep);
	free(cu);
	free(cup);
}
