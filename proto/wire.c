/*
 * wire.c — framing, packing and the decode arena (see wire.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

int gw_buf_reserve(struct gw_buf *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return -ENOMEM;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void gw_buf_consume(struct gw_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void gw_buf_finish(struct gw_buf *b)
{
	free(b->data);
	*b = (struct gw_buf){0};
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int gw_pack(struct gw_buf *out, const ProtobufCMessage *msg, size_t max_frame)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > max_frame)
		return -EMSGSIZE;
	int r = gw_buf_reserve(out, GW_HEADER + n);
	if (r < 0)
		return r;
	put_le32(out->data + out->len, (uint32_t)n);
	protobuf_c_message_pack(msg, out->data + out->len + GW_HEADER);
	out->len += GW_HEADER + n;
	return 0;
}

void gw_reader_init(struct gw_reader *r, size_t max_frame)
{
	*r = (struct gw_reader){.max_frame = max_frame};
}

void gw_reader_finish(struct gw_reader *r)
{
	gw_buf_finish(&r->buf);
	r->off = r->peeked = 0;
}

int gw_reader_space(struct gw_reader *r, size_t want, uint8_t **ret_ptr, size_t *ret_len)
{
	/* Slide the unconsumed tail to the front before growing: the buffer
	 * then never holds more than one frame plus one read. */
	if (r->off > 0) {
		gw_buf_consume(&r->buf, r->off);
		r->off = 0;
	}
	int e = gw_buf_reserve(&r->buf, want);
	if (e < 0)
		return e;
	*ret_ptr = r->buf.data + r->buf.len;
	*ret_len = r->buf.cap - r->buf.len;
	return 0;
}

void gw_reader_commit(struct gw_reader *r, size_t n)
{
	r->buf.len += n;
}

int gw_reader_peek(struct gw_reader *r, const uint8_t **ret_payload, size_t *ret_len)
{
	size_t avail = r->buf.len - r->off;
	if (avail < GW_HEADER)
		return 0;
	uint32_t n = get_le32(r->buf.data + r->off);
	if (n > r->max_frame)
		return -EMSGSIZE;
	if (avail - GW_HEADER < n)
		return 0;
	*ret_payload = r->buf.data + r->off + GW_HEADER;
	*ret_len = n;
	r->peeked = GW_HEADER + n;
	return 1;
}

void gw_reader_consume(struct gw_reader *r)
{
	r->off += r->peeked;
	r->peeked = 0;
	if (r->off == r->buf.len)
		r->off = r->buf.len = 0;
}

size_t gw_reader_pending(const struct gw_reader *r)
{
	return r->buf.len - r->off;
}

void gw_reader_trim(struct gw_reader *r, size_t keep)
{
	if (r->buf.len == r->off && r->buf.cap > keep) {
		gw_buf_finish(&r->buf);
		r->off = 0;
	}
}

struct spill {
	struct spill *next;
	max_align_t data[];
};

static void *arena_alloc(void *data, size_t size)
{
	struct gw_arena *a = data;
	size_t need = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if (need >= size && a->size - a->used >= need) {
		void *p = a->block + a->used;
		a->used += need;
		return p;
	}
	if (size > SIZE_MAX - sizeof(struct spill))
		return NULL;
	struct spill *s = malloc(sizeof(*s) + size);
	if (!s)
		return NULL;
	s->next = a->spill;
	a->spill = s;
	return s->data;
}

static void arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr; /* released together by gw_arena_reset */
}

int gw_arena_init(struct gw_arena *a, size_t size)
{
	*a = (struct gw_arena){.pb = {arena_alloc, arena_free, a}, .size = size};
	a->block = malloc(size);
	return a->block ? 0 : -ENOMEM;
}

void gw_arena_reset(struct gw_arena *a)
{
	while (a->spill) {
		struct spill *s = a->spill;
		a->spill = s->next;
		free(s);
	}
	a->used = 0;
}

void gw_arena_finish(struct gw_arena *a)
{
	gw_arena_reset(a);
	free(a->block);
	a->block = NULL;
}

const char *gw_request_name(const Gpucmd__Request *req)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
		&gpucmd__request__descriptor, (unsigned)req->body_case);
	return f ? f->name : "empty request";
}

/* ---- the hand decoder for Dispatch requests ------------------------------ */

/* A varint of at most `most` bytes; false when it runs past end or is
 * longer. protobuf-c reads a value in up to 10 bytes, but a field's key
 * and a length in up to 5 (it refuses longer ones, however padded), so
 * those are read with 5 here too. */
static bool get_varint_of(const uint8_t **p, const uint8_t *end, unsigned most, uint64_t *ret)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 7 * most && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return true;
		}
	}
	return false;
}

static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret)
{
	return get_varint_of(p, end, 10, ret);
}

static bool get_u32(const uint8_t **p, const uint8_t *end, uint32_t *ret)
{
	uint64_t v;
	if (!get_varint(p, end, &v) || v > UINT32_MAX)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* A length-delimited field's bytes: [*ret, *ret + *ret_len). */
static bool get_len(const uint8_t **p, const uint8_t *end, const uint8_t **ret, size_t *ret_len)
{
	uint64_t n;
	if (!get_varint_of(p, end, 5, &n) || n > (uint64_t)(end - *p))
		return false;
	*ret = *p;
	*ret_len = (size_t)n;
	*p += n;
	return true;
}

enum { WT_VARINT = 0, WT_LEN = 2 };

/* A field's key; false past end. */
static bool get_key(const uint8_t **p, const uint8_t *end, uint64_t *field, uint64_t *wt)
{
	uint64_t key;
	if (!get_varint_of(p, end, 5, &key) || key > UINT32_MAX)
		return false;
	*field = key >> 3;
	*wt = key & 7;
	return true;
}

static bool decode_binding(const uint8_t *p, const uint8_t *end, Gpucmd__Binding *b)
{
	*b = (Gpucmd__Binding)GPUCMD__BINDING__INIT;
	while (p < end) {
		uint64_t field, wt;
		if (!get_key(&p, end, &field, &wt) || wt != WT_VARINT)
			return false;
		switch (field) {
		case 1: if (!get_u32(&p, end, &b->buffer)) return false; break;
		case 2: if (!get_varint(&p, end, &b->offset)) return false; break;
		case 3: if (!get_varint(&p, end, &b->size)) return false; break;
		case 4: if (!get_u32(&p, end, &b->binding)) return false; break;
		case 5: if (!get_u32(&p, end, &b->element)) return false; break;
		default: return false;
		}
	}
	return true;
}

static bool decode_dispatch(const uint8_t *p, const uint8_t *end, struct gw_fast_request *m)
{
	Gpucmd__Dispatch *d = &m->dispatch;
	*d = (Gpucmd__Dispatch)GPUCMD__DISPATCH__INIT;
	d->bindings = m->binding_ptrs;
	while (p < end) {
		uint64_t field, wt;
		const uint8_t *sub;
		size_t n;
		if (!get_key(&p, end, &field, &wt))
			return false;
		if (field == 3 || field == 4) {
			if (wt != WT_LEN || !get_len(&p, end, &sub, &n))
				return false;
			if (field == 4) {
				d->push.data = (uint8_t *)sub;
				d->push.len = n;
				continue;
			}
			if (d->n_bindings == GPUCMD_MAX_BINDINGS)
				return false;
			Gpucmd__Binding *b = &m->bindings[d->n_bindings];
			if (!decode_binding(sub, sub + n, b))
				return false;
			m->binding_ptrs[d->n_bindings++] = b;
			continue;
		}
		uint32_t *dst;
		uint64_t flag;
		switch (field) {
		case 9:
			if (wt != WT_VARINT || !get_varint(&p, end, &flag))
				return false;
			d->by_binding = flag != 0;
			continue;
		case 1: dst = &d->session; break;
		case 2: dst = &d->kernel; break;
		case 5: dst = &d->groups_x; break;
		case 6: dst = &d->groups_y; break;
		case 7: dst = &d->groups_z; break;
		case 8: dst = &d->flags; break;
		default: return false;
		}
		if (wt != WT_VARINT || !get_u32(&p, end, dst))
			return false;
	}
	return true;
}

static bool decode_commit(const uint8_t *p, const uint8_t *end, struct gw_fast_request *m)
{
	Gpucmd__Commit *c = &m->commit;
	*c = (Gpucmd__Commit)GPUCMD__COMMIT__INIT;
	while (p < end) {
		uint64_t field, wt, v;
		if (!get_key(&p, end, &field, &wt))
			return false;
		if (field == 4) {
			const uint8_t *s;
			size_t n;
			if (wt != WT_LEN || !get_len(&p, end, &s, &n) || n > GW_FAST_LABEL)
				return false;
			for (size_t i = 0; i < n; i++)
				if (s[i] < 0x20 || s[i] > 0x7e)
					return false;
			memcpy(m->label, s, n);
			m->label[n] = '\0';
			c->label = m->label;
			continue;
		}
		if (wt != WT_VARINT)
			return false;
		switch (field) {
		case 1: if (!get_u32(&p, end, &c->session)) return false; break;
		case 2:
			if (!get_varint(&p, end, &v) || v > INT32_MAX)
				return false;
			c->mode = (Gpucmd__CommitMode)v;
			break;
		case 3:
			if (!get_varint(&p, end, &v))
				return false;
			c->has_label = v != 0;
			break;
		default: return false;
		}
	}
	return true;
}

static bool decode_reset(const uint8_t *p, const uint8_t *end, Gpucmd__ResetStage *r)
{
	*r = (Gpucmd__ResetStage)GPUCMD__RESET_STAGE__INIT;
	while (p < end) {
		uint64_t field, wt;
		if (!get_key(&p, end, &field, &wt) || field != 1 || wt != WT_VARINT || !get_u32(&p, end, &r->session))
			return false;
	}
	return true;
}

static bool decode_fence_wait(const uint8_t *p, const uint8_t *end, Gpucmd__FenceWait *w)
{
	*w = (Gpucmd__FenceWait)GPUCMD__FENCE_WAIT__INIT;
	while (p < end) {
		uint64_t field, wt;
		if (!get_key(&p, end, &field, &wt))
			return false;
		if (field == 1) {
			const uint8_t *t;
			size_t n;
			if (wt != WT_LEN || !get_len(&p, end, &t, &n))
				return false;
			w->token.data = (uint8_t *)t;
			w->token.len = n;
			continue;
		}
		if (wt != WT_VARINT)
			return false;
		switch (field) {
		case 2: if (!get_varint(&p, end, &w->value)) return false; break;
		case 3: if (!get_u32(&p, end, &w->timeout_ms)) return false; break;
		default: return false;
		}
	}
	return true;
}

/* The body: false for any other, or one that does not decode. */
static bool decode_body(uint64_t field, const uint8_t *p, const uint8_t *end, struct gw_fast_request *m)
{
	Gpucmd__Request *r = &m->req;
	switch (field) {
	case GPUCMD__REQUEST__BODY_DISPATCH:
		r->dispatch = &m->dispatch;
		return decode_dispatch(p, end, m);
	case GPUCMD__REQUEST__BODY_COMMIT:
		r->commit = &m->commit;
		return decode_commit(p, end, m);
	case GPUCMD__REQUEST__BODY_RESET_STAGE:
		r->reset_stage = &m->reset_stage;
		return decode_reset(p, end, &m->reset_stage);
	case GPUCMD__REQUEST__BODY_FENCE_WAIT:
		r->fence_wait = &m->fence_wait;
		return decode_fence_wait(p, end, &m->fence_wait);
	default:
		return false;
	}
}

int gw_decode_fast(const uint8_t *payload, size_t len, struct gw_fast_request *ret)
{
	const uint8_t *p = payload, *end = payload + len;
	ret->req = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
	while (p < end) {
		uint64_t field, wt;
		if (!get_key(&p, end, &field, &wt))
			return 0;
		if (field == 1 && wt == WT_VARINT) {
			if (!get_varint(&p, end, &ret->req.id))
				return 0;
			continue;
		}
		const uint8_t *sub;
		size_t n;
		if (wt != WT_LEN || ret->req.body_case || !get_len(&p, end, &sub, &n) || !decode_body(field, sub, sub + n, ret))
			return 0;
		ret->req.body_case = (Gpucmd__Request__BodyCase)field;
	}
	return ret->req.body_case != GPUCMD__REQUEST__BODY__NOT_SET;
}

ssize_t gw_send_fds(int sock, const void *data, size_t len, const int *fds, uint32_t n, int flags)
{
	union {
		char buf[CMSG_SPACE(2 * GW_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	if (n == 0 || n > 2 * GW_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	struct iovec iov = {(void *)data, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
			    .msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &mh, flags);
}

ssize_t gw_recv_fds(int sock, void *buf, size_t len, int flags, int *fds, uint32_t max, uint32_t *ret_n,
		    bool *ret_lost)
{
	union {
		char buf[CMSG_SPACE(GW_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = {buf, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf)};
	ssize_t n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	*ret_n = 0;
	*ret_lost = n >= 0 && (mh.msg_flags & MSG_CTRUNC);
	if (n < 0 || !mh.msg_controllen)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*ret_n < max) {
				fds[(*ret_n)++] = fd;
			} else {
				close(fd);
				*ret_lost = true;
			}
		}
	}
	return n;
}
