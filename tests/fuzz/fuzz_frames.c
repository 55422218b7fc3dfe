/*
 * fuzz_frames.c — libFuzzer harness for the frame splitter and request
 * decoding of proto/wire.c.
 *
 * The input (see frames_input.h) says how the socket's bytes arrive: a few
 * chunk sizes, then the stream. The stream is fed to a gw_reader one chunk
 * at a time (space, copy, commit); after each chunk every complete frame is
 * peeked, checked against the stream itself (the splitter must hand back
 * exactly the bytes that followed each header), decoded as a Gpucmd__Request
 * with the gw_arena allocator and with malloc (and, when it takes it, with
 * the hand decoder of Dispatch requests), walked field by field, packed
 * again with gw_pack and decoded again, then freed, reset and consumed.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iproto -I<gen> \
 *     tests/fuzz/fuzz_frames.c proto/wire.c <gen>/gpucmd.pb-c.c \
 *     $(pkg-config --cflags --libs libprotobuf-c) -o fuzz_frames
 *   ./fuzz_frames -max_total_time=300 <copy of tests/fuzz/corpus/frames>
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpucmd.pb-c.h"
#include "wire.h"

#include "frames_input.h"

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "fuzz_frames: %s:%d: check failed: %s\n", \
				__FILE__, __LINE__, #cond);                     \
			abort();                                                \
		}                                                               \
	} while (0)

static volatile uint64_t sink;

/* ---- walking a decoded request ----------------------------------------- */

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

static uint64_t walk_str(uint64_t h, const char *s)
{
	CHECK(s != NULL);
	size_t n = strlen(s);
	h = mix(h, n);
	for (size_t i = 0; i < n; i++)
		h = mix(h, (unsigned char)s[i]);
	return h;
}

static uint64_t walk_bytes(uint64_t h, ProtobufCBinaryData b)
{
	CHECK(b.len == 0 || b.data != NULL);
	h = mix(h, b.len);
	for (size_t i = 0; i < b.len; i++)
		h = mix(h, b.data[i]);
	return h;
}

/*
 * protobuf-c 1.4.1 rejects field number 0 only in its one-byte form: a
 * longer varint (80 00) is accepted and kept as an unknown field with tag 0,
 * which packs back as the one-byte form that protobuf-c then refuses to
 * decode. Whether m or any message inside it keeps such a field, so the
 * round trip can allow for it (a nested message too: a kernel's
 * specialization constants once carried one past a check of the top level
 * only).
 */
static int has_tag0(const ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		if (m->unknown_fields[i].tag == 0)
			return 1;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	for (unsigned f = 0; f < d->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[f];
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(base + fd->offset);
			for (size_t k = 0; k < n; k++)
				if (v[k] && has_tag0(v[k]))
					return 1;
			continue;
		}
		/* A oneof's members share one place: only the set one is there. */
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
			continue;
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + fd->offset);
		if (sub && has_tag0(sub))
			return 1;
	}
	return 0;
}

/* Unknown fields are kept by protobuf-c and packed again; walk them too. */
static uint64_t walk_unknown(uint64_t h, const ProtobufCMessage *m)
{
	CHECK(m != NULL);
	h = mix(h, m->n_unknown_fields);
	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
		h = mix(h, u->tag);
		h = mix(h, u->wire_type);
		h = walk_bytes(h, (ProtobufCBinaryData){u->len, u->data});
	}
	return h;
}

/* Expected gw_request_name for each body case: an oracle independent of the
 * descriptor lookup wire.c does. */
static const char *expected_name(Gpucmd__Request__BodyCase c)
{
	switch (c) {
	case GPUCMD__REQUEST__BODY__NOT_SET: return "empty request";
	case GPUCMD__REQUEST__BODY_HELLO: return "hello";
	case GPUCMD__REQUEST__BODY_INFO: return "info";
	case GPUCMD__REQUEST__BODY_KERNEL_LIST: return "kernel_list";
	case GPUCMD__REQUEST__BODY_KERNEL_LOOKUP: return "kernel_lookup";
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE: return "buffer_create";
	case GPUCMD__REQUEST__BODY_BUFFER_WRITE: return "buffer_write";
	case GPUCMD__REQUEST__BODY_BUFFER_READ: return "buffer_read";
	case GPUCMD__REQUEST__BODY_BUFFER_FREE: return "buffer_free";
	case GPUCMD__REQUEST__BODY_SESSION_OPEN: return "session_open";
	case GPUCMD__REQUEST__BODY_SESSION_CLOSE: return "session_close";
	case GPUCMD__REQUEST__BODY_BEGIN_STAGE: return "begin_stage";
	case GPUCMD__REQUEST__BODY_DISPATCH: return "dispatch";
	case GPUCMD__REQUEST__BODY_COMMIT: return "commit";
	case GPUCMD__REQUEST__BODY_RESET_STAGE: return "reset_stage";
	case GPUCMD__REQUEST__BODY_SESSION_QUERY: return "session_query";
	case GPUCMD__REQUEST__BODY_PING: return "ping";
	case GPUCMD__REQUEST__BODY_BUFFER_EXPORT: return "buffer_export";
	case GPUCMD__REQUEST__BODY_BUFFER_IMPORT: return "buffer_import";
	case GPUCMD__REQUEST__BODY_FENCE_EXPORT: return "fence_export";
	case GPUCMD__REQUEST__BODY_WAIT_FENCE: return "wait_fence";
	case GPUCMD__REQUEST__BODY_FENCE_WAIT: return "fence_wait";
	case GPUCMD__REQUEST__BODY_FENCE_FD: return "fence_fd";
	case GPUCMD__REQUEST__BODY_BUFFER_COPY: return "buffer_copy";
	case GPUCMD__REQUEST__BODY_BUFFER_FILL: return "buffer_fill";
	case GPUCMD__REQUEST__BODY_RESIDENCY: return "residency";
	case GPUCMD__REQUEST__BODY_MEMORY_QUERY: return "memory_query";
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED: return "buffer_create_shared";
	case GPUCMD__REQUEST__BODY_STATUS_QUERY: return "status_query";
	case GPUCMD__REQUEST__BODY_KERNEL_REGISTER: return "kernel_register";
	case GPUCMD__REQUEST__BODY_KERNEL_UNREGISTER: return "kernel_unregister";
	case GPUCMD__REQUEST__BODY_CAPTURE_BEGIN: return "capture_begin";
	case GPUCMD__REQUEST__BODY_CAPTURE_END: return "capture_end";
	case GPUCMD__REQUEST__BODY_GRAPH_REPLAY: return "graph_replay";
	case GPUCMD__REQUEST__BODY_GRAPH_FREE: return "graph_free";
	case GPUCMD__REQUEST__BODY_GRAPH_EXPORT: return "graph_export";
	case GPUCMD__REQUEST__BODY_GRAPH_IMPORT: return "graph_import";
	case GPUCMD__REQUEST__BODY_PROFILE: return "profile";
	case GPUCMD__REQUEST__BODY_PROFILE_FETCH: return "profile_fetch";
	case GPUCMD__REQUEST__BODY_CLIENT_EVICT: return "client_evict";
	default: return NULL;
	}
}

static uint64_t walk_request(const Gpucmd__Request *m)
{
	uint64_t h = 0;
	CHECK(m->base.descriptor == &gpucmd__request__descriptor);
	h = walk_unknown(h, &m->base);
	h = mix(h, m->id);
	h = mix(h, (uint64_t)m->body_case);

	const char *want = expected_name(m->body_case);
	CHECK(want != NULL);
	const char *name = gw_request_name(m);
	CHECK(name != NULL);
	CHECK(strcmp(name, want) == 0);

	switch (m->body_case) {
	case GPUCMD__REQUEST__BODY__NOT_SET:
		break;
	case GPUCMD__REQUEST__BODY_HELLO:
		CHECK(m->hello);
		h = walk_unknown(h, &m->hello->base);
		h = mix(h, m->hello->protocol_version);
		h = walk_str(h, m->hello->client_name);
		h = mix(h, (uint64_t)m->hello->priority);
		break;
	case GPUCMD__REQUEST__BODY_INFO:
		CHECK(m->info);
		h = walk_unknown(h, &m->info->base);
		break;
	case GPUCMD__REQUEST__BODY_KERNEL_LIST:
		CHECK(m->kernel_list);
		h = walk_unknown(h, &m->kernel_list->base);
		break;
	case GPUCMD__REQUEST__BODY_KERNEL_LOOKUP:
		CHECK(m->kernel_lookup);
		h = walk_unknown(h, &m->kernel_lookup->base);
		h = walk_str(h, m->kernel_lookup->name);
		break;
	case GPUCMD__REQUEST__BODY_KERNEL_REGISTER:
		CHECK(m->kernel_register);
		h = walk_unknown(h, &m->kernel_register->base);
		h = walk_str(h, m->kernel_register->name);
		h = walk_bytes(h, m->kernel_register->spirv);
		h = mix(h, m->kernel_register->n_constants);
		for (size_t i = 0; i < m->kernel_register->n_constants; i++) {
			const Gpucmd__SpecConstant *k = m->kernel_register->constants[i];
			CHECK(k != NULL);
			h = walk_unknown(h, &k->base);
			h = mix(mix(mix(h, k->id), k->type), k->bits);
		}
		h = mix(mix(h, m->kernel_register->subgroup_size), m->kernel_register->full_subgroups != 0);
		h = walk_str(h, m->kernel_register->standard);
		break;
	case GPUCMD__REQUEST__BODY_KERNEL_UNREGISTER:
		CHECK(m->kernel_unregister);
		h = walk_unknown(h, &m->kernel_unregister->base);
		h = mix(h, m->kernel_unregister->kernel);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE:
		CHECK(m->buffer_create);
		h = walk_unknown(h, &m->buffer_create->base);
		h = mix(h, m->buffer_create->size);
		h = mix(h, m->buffer_create->flags);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_WRITE:
		CHECK(m->buffer_write);
		h = walk_unknown(h, &m->buffer_write->base);
		h = mix(h, m->buffer_write->buffer);
		h = mix(h, m->buffer_write->offset);
		h = walk_bytes(h, m->buffer_write->data);
		h = mix(h, m->buffer_write->last != 0);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_READ:
		CHECK(m->buffer_read);
		h = walk_unknown(h, &m->buffer_read->base);
		h = mix(h, m->buffer_read->buffer);
		h = mix(h, m->buffer_read->offset);
		h = mix(h, m->buffer_read->size);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_EXPORT:
		CHECK(m->buffer_export);
		h = walk_unknown(h, &m->buffer_export->base);
		h = mix(h, m->buffer_export->buffer);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_IMPORT:
		CHECK(m->buffer_import);
		h = walk_unknown(h, &m->buffer_import->base);
		h = walk_bytes(h, m->buffer_import->token);
		break;
	case GPUCMD__REQUEST__BODY_FENCE_EXPORT:
		CHECK(m->fence_export);
		h = walk_unknown(h, &m->fence_export->base);
		h = mix(h, m->fence_export->session);
		break;
	case GPUCMD__REQUEST__BODY_WAIT_FENCE:
		CHECK(m->wait_fence);
		h = walk_unknown(h, &m->wait_fence->base);
		h = mix(h, m->wait_fence->session);
		h = walk_bytes(h, m->wait_fence->token);
		h = mix(h, m->wait_fence->value);
		break;
	case GPUCMD__REQUEST__BODY_FENCE_WAIT:
		CHECK(m->fence_wait);
		h = walk_unknown(h, &m->fence_wait->base);
		h = walk_bytes(h, m->fence_wait->token);
		h = mix(h, m->fence_wait->value);
		h = mix(h, m->fence_wait->timeout_ms);
		break;
	case GPUCMD__REQUEST__BODY_FENCE_FD:
		CHECK(m->fence_fd);
		h = walk_unknown(h, &m->fence_fd->base);
		h = walk_bytes(h, m->fence_fd->token);
		h = mix(h, m->fence_fd->value);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_COPY: {
		const Gpucmd__BufferCopy *cp = m->buffer_copy;
		CHECK(cp);
		h = walk_unknown(h, &cp->base);
		h = mix(h, cp->session);
		h = mix(h, cp->src);
		h = mix(h, cp->src_offset);
		h = mix(h, cp->dst);
		h = mix(h, cp->dst_offset);
		h = mix(h, cp->size);
		break;
	}
	case GPUCMD__REQUEST__BODY_BUFFER_FILL:
		CHECK(m->buffer_fill);
		h = walk_unknown(h, &m->buffer_fill->base);
		h = mix(h, m->buffer_fill->session);
		h = mix(h, m->buffer_fill->buffer);
		h = mix(h, m->buffer_fill->offset);
		h = mix(h, m->buffer_fill->size);
		h = mix(h, m->buffer_fill->value);
		break;
	case GPUCMD__REQUEST__BODY_RESIDENCY:
		CHECK(m->residency);
		h = walk_unknown(h, &m->residency->base);
		h = mix(h, m->residency->session);
		h = mix(h, m->residency->buffer);
		h = mix(h, m->residency->add != 0);
		break;
	case GPUCMD__REQUEST__BODY_MEMORY_QUERY:
		CHECK(m->memory_query);
		h = walk_unknown(h, &m->memory_query->base);
		break;
	case GPUCMD__REQUEST__BODY_STATUS_QUERY:
		CHECK(m->status_query);
		h = walk_unknown(h, &m->status_query->base);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED:
		CHECK(m->buffer_create_shared);
		h = walk_unknown(h, &m->buffer_create_shared->base);
		h = mix(h, m->buffer_create_shared->size);
		break;
	case GPUCMD__REQUEST__BODY_BUFFER_FREE:
		CHECK(m->buffer_free);
		h = walk_unknown(h, &m->buffer_free->base);
		h = mix(h, m->buffer_free->buffer);
		break;
	case GPUCMD__REQUEST__BODY_SESSION_OPEN:
		CHECK(m->session_open);
		h = walk_unknown(h, &m->session_open->base);
		h = walk_str(h, m->session_open->label);
		h = mix(h, (uint64_t)m->session_open->priority);
		break;
	case GPUCMD__REQUEST__BODY_SESSION_CLOSE:
		CHECK(m->session_close);
		h = walk_unknown(h, &m->session_close->base);
		h = mix(h, m->session_close->session);
		break;
	case GPUCMD__REQUEST__BODY_BEGIN_STAGE:
		CHECK(m->begin_stage);
		h = walk_unknown(h, &m->begin_stage->base);
		h = mix(h, m->begin_stage->session);
		h = walk_str(h, m->begin_stage->label);
		break;
	case GPUCMD__REQUEST__BODY_DISPATCH: {
		const Gpucmd__Dispatch *d = m->dispatch;
		CHECK(d);
		h = walk_unknown(h, &d->base);
		h = mix(h, d->session);
		h = mix(h, d->kernel);
		h = mix(h, d->n_bindings);
		CHECK(d->n_bindings == 0 || d->bindings != NULL);
		for (size_t i = 0; i < d->n_bindings; i++) {
			const Gpucmd__Binding *b = d->bindings[i];
			CHECK(b != NULL);
			CHECK(b->base.descriptor == &gpucmd__binding__descriptor);
			h = walk_unknown(h, &b->base);
			h = mix(h, b->buffer);
			h = mix(h, b->offset);
			h = mix(h, b->size);
		}
		h = walk_bytes(h, d->push);
		h = mix(h, d->groups_x);
		h = mix(h, d->groups_y);
		h = mix(h, d->groups_z);
		h = mix(h, d->flags);
		break;
	}
	case GPUCMD__REQUEST__BODY_CAPTURE_BEGIN:
		CHECK(m->capture_begin);
		h = walk_unknown(h, &m->capture_begin->base);
		h = mix(h, m->capture_begin->session);
		break;
	case GPUCMD__REQUEST__BODY_CAPTURE_END:
		CHECK(m->capture_end);
		h = walk_unknown(h, &m->capture_end->base);
		h = mix(h, m->capture_end->session);
		break;
	case GPUCMD__REQUEST__BODY_GRAPH_REPLAY: {
		const Gpucmd__GraphReplay *r = m->graph_replay;
		CHECK(r);
		h = walk_unknown(h, &r->base);
		h = mix(h, r->session);
		h = mix(h, r->graph);
		CHECK(r->n_push == 0 || r->push != NULL);
		for (size_t i = 0; i < r->n_push; i++) {
			CHECK(r->push[i] != NULL);
			CHECK(r->push[i]->base.descriptor == &gpucmd__graph_push__descriptor);
			h = walk_unknown(h, &r->push[i]->base);
			h = mix(h, r->push[i]->node);
			h = walk_bytes(h, r->push[i]->push);
		}
		CHECK(r->n_rebind == 0 || r->rebind != NULL);
		for (size_t i = 0; i < r->n_rebind; i++) {
			CHECK(r->rebind[i] != NULL);
			CHECK(r->rebind[i]->base.descriptor == &gpucmd__graph_rebind__descriptor);
			h = walk_unknown(h, &r->rebind[i]->base);
			h = mix(h, r->rebind[i]->slot);
			h = mix(h, r->rebind[i]->buffer);
		}
		break;
	}
	case GPUCMD__REQUEST__BODY_GRAPH_FREE:
		CHECK(m->graph_free);
		h = walk_unknown(h, &m->graph_free->base);
		h = mix(h, m->graph_free->graph);
		break;
	case GPUCMD__REQUEST__BODY_GRAPH_EXPORT:
		CHECK(m->graph_export);
		h = walk_unknown(h, &m->graph_export->base);
		h = mix(h, m->graph_export->graph);
		break;
	case GPUCMD__REQUEST__BODY_GRAPH_IMPORT:
		CHECK(m->graph_import);
		h = walk_unknown(h, &m->graph_import->base);
		h = walk_bytes(h, m->graph_import->token);
		break;
	case GPUCMD__REQUEST__BODY_PROFILE:
		CHECK(m->profile);
		h = walk_unknown(h, &m->profile->base);
		h = mix(h, m->profile->session);
		h = mix(h, m->profile->enable != 0);
		break;
	case GPUCMD__REQUEST__BODY_PROFILE_FETCH:
		CHECK(m->profile_fetch);
		h = walk_unknown(h, &m->profile_fetch->base);
		h = mix(h, m->profile_fetch->session);
		h = walk_str(h, m->profile_fetch->label);
		h = mix(h, m->profile_fetch->clear != 0);
		break;
	case GPUCMD__REQUEST__BODY_CLIENT_EVICT:
		CHECK(m->client_evict);
		h = walk_unknown(h, &m->client_evict->base);
		h = mix(h, m->client_evict->client);
		h = walk_str(h, m->client_evict->reason);
		break;
	case GPUCMD__REQUEST__BODY_COMMIT:
		CHECK(m->commit);
		h = walk_unknown(h, &m->commit->base);
		h = mix(h, m->commit->session);
		/* proto3 enums are open: any int32 may arrive. */
		h = mix(h, (uint64_t)(int64_t)m->commit->mode);
		h = mix(h, m->commit->has_label != 0);
		h = walk_str(h, m->commit->label);
		break;
	case GPUCMD__REQUEST__BODY_RESET_STAGE:
		CHECK(m->reset_stage);
		h = walk_unknown(h, &m->reset_stage->base);
		h = mix(h, m->reset_stage->session);
		break;
	case GPUCMD__REQUEST__BODY_SESSION_QUERY:
		CHECK(m->session_query);
		h = walk_unknown(h, &m->session_query->base);
		h = mix(h, m->session_query->session);
		break;
	case GPUCMD__REQUEST__BODY_PING:
		CHECK(m->ping);
		h = walk_unknown(h, &m->ping->base);
		break;
	default:
		CHECK(!"body_case outside the oneof");
	}
	return h;
}

/* ---- one complete frame ------------------------------------------------ */

static void handle_frame(struct gw_arena *a, const uint8_t *p, size_t n)
{
	/* With the arena, as the daemon decodes. */
	Gpucmd__Request *m = gpucmd__request__unpack(&a->pb, n, p);
	CHECK(a->used <= a->size);

	/* With malloc: ASan then sees each object's own bounds, which the
	 * arena's single block hides; both decodes must agree. */
	Gpucmd__Request *ref = gpucmd__request__unpack(NULL, n, p);
	CHECK((m == NULL) == (ref == NULL));

	/* The hand decoder of the per-stage requests: whatever it accepts,
	 * protobuf-c decodes to the same request. */
	struct gw_fast_request fast;
	if (gw_decode_fast(p, n, &fast)) {
		CHECK(ref != NULL && ref->body_case == fast.req.body_case && ref->base.n_unknown_fields == 0);
		/* Every body is a message: the oneof's pointers share one place. */
		CHECK(((const ProtobufCMessage *)ref->dispatch)->n_unknown_fields == 0);
		CHECK(walk_request(&fast.req) == walk_request(ref));
	}

	if (m) {
		int tag0 = has_tag0(&m->base);
		uint64_t h = walk_request(m);
		CHECK(h == walk_request(ref));
		sink += h;

		/* Pack it again (canonical form) and decode that: same request,
		 * unless it carries protobuf-c's tag-0 unknown field (above). */
		struct gw_buf out = {0};
		CHECK(gw_pack(&out, &m->base, GW_DEFAULT_MAX_FRAME) == 0);
		size_t len = protobuf_c_message_get_packed_size(&m->base);
		CHECK(out.len == GW_HEADER + len);
		CHECK(((uint32_t)out.data[0] | (uint32_t)out.data[1] << 8 |
		       (uint32_t)out.data[2] << 16 | (uint32_t)out.data[3] << 24) == len);
		Gpucmd__Request *again =
			gpucmd__request__unpack(&a->pb, len, out.data + GW_HEADER);
		CHECK(again != NULL || tag0);
		if (again) {
			CHECK(walk_request(again) == h);
			protobuf_c_message_free_unpacked(&again->base, &a->pb);
		}
		gw_buf_finish(&out);

		protobuf_c_message_free_unpacked(&m->base, &a->pb);
	}
	if (ref)
		protobuf_c_message_free_unpacked(&ref->base, NULL);
	gw_arena_reset(a);
	CHECK(a->used == 0 && a->spill == NULL);
}

/* ---- the stream -------------------------------------------------------- */

struct feed {
	struct gw_reader r;
	struct gw_arena a;
	const uint8_t *stream;  /* everything the socket will deliver */
	size_t fed;             /* bytes committed to the reader so far */
	size_t next;            /* stream offset of the next unconsumed frame */
	size_t frames;          /* frames consumed */
	int deferred;           /* a frame is peeked but left unconsumed */
	int closed;             /* -EMSGSIZE: the connection would be dropped */
};

static uint32_t stream_le32(const struct feed *f, size_t at)
{
	const uint8_t *q = f->stream + at;
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
	       (uint32_t)q[3] << 24;
}

/* Peeks and checks the result against the stream. */
static int peek_checked(struct feed *f, const uint8_t **p, size_t *n)
{
	CHECK(gw_reader_pending(&f->r) == f->fed - f->next);
	size_t avail = f->fed - f->next;
	*p = NULL;
	*n = 0;
	int e = gw_reader_peek(&f->r, p, n);
	if (avail < GW_HEADER) {
		CHECK(e == 0);
		return e;
	}
	uint32_t hdr = stream_le32(f, f->next);
	if (hdr > FRAMES_MAX_FRAME) {
		CHECK(e == -EMSGSIZE);
		return e;
	}
	if (avail - GW_HEADER < hdr) {
		CHECK(e == 0);
		return e;
	}
	CHECK(e == 1);
	CHECK(*n == hdr);
	CHECK(*p != NULL);
	/* The payload lies inside the reader's buffer and is the stream's. */
	CHECK(*p >= f->r.buf.data && *p + *n <= f->r.buf.data + f->r.buf.len);
	CHECK(memcmp(*p, f->stream + f->next + GW_HEADER, *n) == 0);
	return e;
}

static void consume_checked(struct feed *f, size_t n)
{
	gw_reader_consume(&f->r);
	f->next += GW_HEADER + n;
	f->frames++;
	CHECK(gw_reader_pending(&f->r) == f->fed - f->next);
}

/* Handles every complete frame; may leave one deferred when `may_defer`. */
static void drain(struct feed *f, unsigned flags, int may_defer)
{
	const uint8_t *p;
	size_t n;
	for (;;) {
		int e = peek_checked(f, &p, &n);
		if (e == -EMSGSIZE) {
			f->closed = 1;
			return;
		}
		if (e == 0)
			return;
		/* Peeking again without consuming gives the same frame. */
		const uint8_t *p2;
		size_t n2;
		CHECK(gw_reader_peek(&f->r, &p2, &n2) == 1);
		CHECK(p2 == p && n2 == n);

		if (may_defer && (flags & FRAMES_DEFER) && (f->frames & 1) && !f->deferred) {
			f->deferred = 1;
			return;
		}
		f->deferred = 0;
		handle_frame(&f->a, p, n);
		consume_checked(f, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned flags = data[0];
	size_t nsizes = (flags & FRAMES_NSIZES_MASK) + 1;
	if (size < 1 + nsizes)
		return 0;
	const uint8_t *sizes = data + 1;
	struct feed f = {
		.stream = data + 1 + nsizes,
	};
	size_t len = size - 1 - nsizes;

	gw_reader_init(&f.r, FRAMES_MAX_FRAME);
	CHECK(gw_arena_init(&f.a, FRAMES_ARENA) == 0);

	size_t ci = 0;
	while (f.fed < len && !f.closed) {
		size_t want = (size_t)sizes[ci++ % nsizes] + 1;
		if (want > len - f.fed)
			want = len - f.fed;

		/* A frame left peeked: its size, to consume it without a
		 * second peek after space() moved it. */
		size_t stale_n = f.deferred ? stream_le32(&f, f.next) : 0;

		uint8_t *dst = NULL;
		size_t room = 0;
		CHECK(gw_reader_space(&f.r, want, &dst, &room) == 0);
		CHECK(room >= want);
		CHECK(dst == f.r.buf.data + f.r.buf.len);
		/* space() compacted: the unconsumed bytes start the buffer. */
		CHECK(f.r.off == 0);
		CHECK(f.r.buf.len == f.fed - f.next);
		CHECK(memcmp(f.r.buf.data, f.stream + f.next, f.r.buf.len) == 0);
		memcpy(dst, f.stream + f.fed, want);
		gw_reader_commit(&f.r, want);
		f.fed += want;

		if (f.deferred && (flags & FRAMES_CONSUME_STALE)) {
			/* The payload pointer peeked before is stale now;
			 * decode from the stream, drop it by consume alone. */
			handle_frame(&f.a, f.stream + f.next + GW_HEADER, stale_n);
			f.deferred = 0;
			consume_checked(&f, stale_n);
		}
		drain(&f, flags, f.fed < len);
	}
	if (!f.closed) {
		drain(&f, flags, 0);
		CHECK(!f.deferred);
	}

	gw_arena_finish(&f.a);
	gw_reader_finish(&f.r);
	return 0;
}
