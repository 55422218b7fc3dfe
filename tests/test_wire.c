/*
 * test_wire.c — unit tests of proto/wire.c: packing requests into frames,
 * the frame splitter (partial reads, many frames per read, size limits,
 * peek/consume, compaction) and decoding with the gw_arena allocator.
 *
 *   cc -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -Iproto -I<gen> \
 *      tests/test_wire.c proto/wire.c <gen>/gpucmd.pb-c.c \
 *      $(pkg-config --cflags --libs check libprotobuf-c)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "gpucmd.pb-c.h"
#include "wire.h"

#define SMALL_MAX_FRAME GW_MIN_MAX_FRAME

/* ---- helpers ----------------------------------------------------------- */

/* Copies n bytes into the reader the way a read(2) into space() would. */
static void feed(struct gw_reader *r, const uint8_t *p, size_t n)
{
	uint8_t *dst = NULL;
	size_t room = 0;
	ck_assert_int_eq(gw_reader_space(r, n, &dst, &room), 0);
	ck_assert_ptr_nonnull(dst);
	ck_assert_uint_ge(room, n);
	memcpy(dst, p, n);
	gw_reader_commit(r, n);
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Storage for the requests the tests pack; all on the stack of the test. */
struct dispatch_req {
	Gpucmd__Request req;
	Gpucmd__Dispatch d;
	Gpucmd__Binding b[3];
	Gpucmd__Binding *bp[3];
	uint8_t push[16];
};

static void make_dispatch(struct dispatch_req *s, uint64_t id)
{
	*s = (struct dispatch_req){
		.req = GPUCMD__REQUEST__INIT,
		.d = GPUCMD__DISPATCH__INIT,
	};
	for (size_t i = 0; i < 3; i++) {
		s->b[i] = (Gpucmd__Binding)GPUCMD__BINDING__INIT;
		s->b[i].buffer = 100 + (uint32_t)i;
		s->b[i].offset = 256u * i;
		s->b[i].size = i == 2 ? 0 : 4096u + i;
		s->bp[i] = &s->b[i];
	}
	for (size_t i = 0; i < sizeof s->push; i++)
		s->push[i] = (uint8_t)(0xa0 + i);
	s->d.session = 7;
	s->d.kernel = 3;
	s->d.n_bindings = 3;
	s->d.bindings = s->bp;
	s->d.push.data = s->push;
	s->d.push.len = sizeof s->push;
	s->d.groups_x = 64;
	s->d.groups_y = 2;
	s->d.groups_z = 1;
	s->req.id = id;
	s->req.body_case = GPUCMD__REQUEST__BODY_DISPATCH;
	s->req.dispatch = &s->d;
}

static void check_dispatch(const Gpucmd__Request *m, uint64_t id)
{
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->id, id);
	ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY_DISPATCH);
	const Gpucmd__Dispatch *d = m->dispatch;
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->session, 7);
	ck_assert_uint_eq(d->kernel, 3);
	ck_assert_uint_eq(d->n_bindings, 3);
	for (size_t i = 0; i < 3; i++) {
		ck_assert_uint_eq(d->bindings[i]->buffer, 100 + i);
		ck_assert_uint_eq(d->bindings[i]->offset, 256u * i);
		ck_assert_uint_eq(d->bindings[i]->size, i == 2 ? 0 : 4096u + i);
	}
	ck_assert_uint_eq(d->push.len, 16);
	for (size_t i = 0; i < 16; i++)
		ck_assert_uint_eq(d->push.data[i], 0xa0 + i);
	ck_assert_uint_eq(d->groups_x, 64);
	ck_assert_uint_eq(d->groups_y, 2);
	ck_assert_uint_eq(d->groups_z, 1);
}

struct hello_req {
	Gpucmd__Request req;
	Gpucmd__Hello h;
};

static void make_hello(struct hello_req *s, uint64_t id)
{
	*s = (struct hello_req){.req = GPUCMD__REQUEST__INIT, .h = GPUCMD__HELLO__INIT};
	s->h.protocol_version = GPUCMD_PROTOCOL_VERSION;
	s->h.client_name = "test_wire";
	s->req.id = id;
	s->req.body_case = GPUCMD__REQUEST__BODY_HELLO;
	s->req.hello = &s->h;
}

struct commit_req {
	Gpucmd__Request req;
	Gpucmd__Commit c;
};

static void make_commit(struct commit_req *s, uint64_t id)
{
	*s = (struct commit_req){.req = GPUCMD__REQUEST__INIT, .c = GPUCMD__COMMIT__INIT};
	s->c.session = 7;
	s->c.mode = GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	s->c.has_label = 1;
	s->c.label = "stage-1";
	s->req.id = id;
	s->req.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	s->req.commit = &s->c;
}

struct write_req {
	Gpucmd__Request req;
	Gpucmd__BufferWrite w;
};

static void make_write(struct write_req *s, uint64_t id, uint8_t *data, size_t len)
{
	*s = (struct write_req){.req = GPUCMD__REQUEST__INIT, .w = GPUCMD__BUFFER_WRITE__INIT};
	s->w.buffer = 5;
	s->w.offset = 1024;
	s->w.data.data = data;
	s->w.data.len = len;
	s->w.last = 1;
	s->req.id = id;
	s->req.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
	s->req.buffer_write = &s->w;
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 8));
}

static Gpucmd__Request *unpack_with(struct gw_arena *a, const uint8_t *p, size_t n)
{
	return gpucmd__request__unpack(&a->pb, n, p);
}

/* ---- packing ----------------------------------------------------------- */

START_TEST(pack_writes_le32_length_header_then_the_packed_message)
{
	struct dispatch_req s;
	make_dispatch(&s, 42);
	size_t n = gpucmd__request__get_packed_size(&s.req);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &s.req.base, GW_DEFAULT_MAX_FRAME), 0);
	ck_assert_uint_eq(out.len, GW_HEADER + n);
	ck_assert_uint_eq(le32_at(out.data), n);

	uint8_t *expect = malloc(n);
	ck_assert_ptr_nonnull(expect);
	ck_assert_uint_eq(gpucmd__request__pack(&s.req, expect), n);
	ck_assert_mem_eq(out.data + GW_HEADER, expect, n);
	free(expect);
	gw_buf_finish(&out);
	ck_assert_ptr_null(out.data);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(out.cap, 0);
}
END_TEST

START_TEST(pack_appends_after_existing_frames)
{
	struct hello_req h;
	struct commit_req c;
	make_hello(&h, 1);
	make_commit(&c, 2);
	size_t nh = gpucmd__request__get_packed_size(&h.req);
	size_t nc = gpucmd__request__get_packed_size(&c.req);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &h.req.base, GW_DEFAULT_MAX_FRAME), 0);
	ck_assert_int_eq(gw_pack(&out, &c.req.base, GW_DEFAULT_MAX_FRAME), 0);
	ck_assert_uint_eq(out.len, 2 * GW_HEADER + nh + nc);
	ck_assert_uint_eq(le32_at(out.data), nh);
	ck_assert_uint_eq(le32_at(out.data + GW_HEADER + nh), nc);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(pack_header_encodes_multibyte_length_little_endian)
{
	/* data of 300 bytes gives a payload > 255: the header's second byte
	 * must carry the high bits. */
	uint8_t data[300];
	fill_pattern(data, sizeof data, 9);
	struct write_req w;
	make_write(&w, 3, data, sizeof data);
	size_t n = gpucmd__request__get_packed_size(&w.req);
	ck_assert_uint_gt(n, 255);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &w.req.base, GW_DEFAULT_MAX_FRAME), 0);
	ck_assert_uint_eq(out.data[0], n & 0xff);
	ck_assert_uint_eq(out.data[1], (n >> 8) & 0xff);
	ck_assert_uint_eq(out.data[2], 0);
	ck_assert_uint_eq(out.data[3], 0);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(pack_larger_than_max_frame_fails_emsgsize_and_leaves_buffer_unchanged)
{
	size_t len = 2 * SMALL_MAX_FRAME;
	uint8_t *data = malloc(len);
	ck_assert_ptr_nonnull(data);
	fill_pattern(data, len, 1);
	struct write_req w;
	make_write(&w, 9, data, len);

	struct gw_buf out = {0};
	struct hello_req h;
	make_hello(&h, 1);
	ck_assert_int_eq(gw_pack(&out, &h.req.base, SMALL_MAX_FRAME), 0);
	size_t before = out.len;
	uint8_t *copy = malloc(before);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, out.data, before);

	ck_assert_int_eq(gw_pack(&out, &w.req.base, SMALL_MAX_FRAME), -EMSGSIZE);
	ck_assert_uint_eq(out.len, before);
	ck_assert_mem_eq(out.data, copy, before);

	/* An empty buffer stays empty (nothing reserved for the refused frame). */
	struct gw_buf empty = {0};
	ck_assert_int_eq(gw_pack(&empty, &w.req.base, SMALL_MAX_FRAME), -EMSGSIZE);
	ck_assert_uint_eq(empty.len, 0);
	ck_assert_ptr_null(empty.data);

	free(copy);
	free(data);
	gw_buf_finish(&out);
}
END_TEST

/* Finds a BufferWrite data length whose packed Request is exactly `target`
 * bytes (the varint of the length makes the mapping non-linear). */
static size_t data_len_for_packed_size(size_t target, uint8_t *data)
{
	for (size_t len = target; len > 0; len--) {
		struct write_req w;
		make_write(&w, 1, data, len);
		size_t n = gpucmd__request__get_packed_size(&w.req);
		if (n == target)
			return len;
		if (n < target)
			break;
	}
	ck_abort_msg("no data length packs to exactly %zu bytes", target);
	return 0;
}

START_TEST(pack_of_exactly_max_frame_is_accepted_and_one_more_is_refused)
{
	uint8_t *data = malloc(SMALL_MAX_FRAME + 1);
	ck_assert_ptr_nonnull(data);
	fill_pattern(data, SMALL_MAX_FRAME + 1, 5);

	size_t len = data_len_for_packed_size(SMALL_MAX_FRAME, data);
	struct write_req w;
	make_write(&w, 1, data, len);
	ck_assert_uint_eq(gpucmd__request__get_packed_size(&w.req), SMALL_MAX_FRAME);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &w.req.base, SMALL_MAX_FRAME), 0);
	ck_assert_uint_eq(out.len, GW_HEADER + SMALL_MAX_FRAME);
	ck_assert_uint_eq(le32_at(out.data), SMALL_MAX_FRAME);

	make_write(&w, 1, data, len + 1);
	ck_assert_uint_eq(gpucmd__request__get_packed_size(&w.req), SMALL_MAX_FRAME + 1);
	ck_assert_int_eq(gw_pack(&out, &w.req.base, SMALL_MAX_FRAME), -EMSGSIZE);
	ck_assert_uint_eq(out.len, GW_HEADER + SMALL_MAX_FRAME);

	/* The accepted frame goes through a reader with the same limit. */
	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, out.len);
	const uint8_t *p = NULL;
	size_t n = 0;
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	ck_assert_uint_eq(n, SMALL_MAX_FRAME);
	ck_assert_mem_eq(p, out.data + GW_HEADER, n);

	gw_reader_finish(&r);
	gw_buf_finish(&out);
	free(data);
}
END_TEST

/* ---- frame splitter ---------------------------------------------------- */

START_TEST(reader_fed_byte_by_byte_yields_each_frame_exactly_when_its_last_byte_arrives)
{
	struct hello_req h;
	struct dispatch_req d;
	struct commit_req c;
	make_hello(&h, 1);
	make_dispatch(&d, 2);
	make_commit(&c, 3);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &h.req.base, SMALL_MAX_FRAME), 0);
	size_t end1 = out.len;
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	size_t end2 = out.len;
	ck_assert_int_eq(gw_pack(&out, &c.req.base, SMALL_MAX_FRAME), 0);
	size_t end3 = out.len;
	const size_t ends[3] = {end1, end2, end3};

	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 4096), 0);

	size_t got = 0;
	for (size_t i = 0; i < out.len; i++) {
		feed(&r, out.data + i, 1);
		const uint8_t *p = NULL;
		size_t n = 0;
		int e = gw_reader_peek(&r, &p, &n);
		if (i + 1 != ends[got]) {
			ck_assert_msg(e == 0, "peek after byte %zu returned %d, expected 0", i, e);
			continue;
		}
		ck_assert_int_eq(e, 1);
		size_t start = got ? ends[got - 1] : 0;
		ck_assert_uint_eq(n, ends[got] - start - GW_HEADER);
		ck_assert_mem_eq(p, out.data + start + GW_HEADER, n);
		Gpucmd__Request *m = unpack_with(&a, p, n);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(m->id, got + 1);
		switch (got) {
		case 0:
			ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY_HELLO);
			ck_assert_uint_eq(m->hello->protocol_version, GPUCMD_PROTOCOL_VERSION);
			ck_assert_str_eq(m->hello->client_name, "test_wire");
			break;
		case 1:
			check_dispatch(m, 2);
			break;
		case 2:
			ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY_COMMIT);
			ck_assert_uint_eq(m->commit->session, 7);
			ck_assert_int_eq(m->commit->mode, GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT);
			ck_assert_int_eq(m->commit->has_label, 1);
			ck_assert_str_eq(m->commit->label, "stage-1");
			break;
		}
		gpucmd__request__free_unpacked(m, &a.pb);
		gw_arena_reset(&a);
		gw_reader_consume(&r);
		ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 0);
		got++;
	}
	ck_assert_uint_eq(got, 3);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);

	gw_arena_finish(&a);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(reader_returns_all_frames_of_one_read_in_order)
{
	enum { N = 200 };
	struct gw_buf out = {0};
	for (uint64_t i = 0; i < N; i++) {
		Gpucmd__Request req = GPUCMD__REQUEST__INIT;
		Gpucmd__Ping ping = GPUCMD__PING__INIT;
		Gpucmd__BufferFree bf = GPUCMD__BUFFER_FREE__INIT;
		req.id = 1000 + i;
		if (i % 2) {
			req.body_case = GPUCMD__REQUEST__BODY_PING;
			req.ping = &ping;
		} else {
			bf.buffer = (uint32_t)i;
			req.body_case = GPUCMD__REQUEST__BODY_BUFFER_FREE;
			req.buffer_free = &bf;
		}
		ck_assert_int_eq(gw_pack(&out, &req.base, SMALL_MAX_FRAME), 0);
	}

	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, out.len);
	ck_assert_uint_eq(gw_reader_pending(&r), out.len);

	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 1024), 0);
	const uint8_t *p;
	size_t n;
	uint64_t i = 0;
	int e;
	while ((e = gw_reader_peek(&r, &p, &n)) == 1) {
		Gpucmd__Request *m = unpack_with(&a, p, n);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(m->id, 1000 + i);
		if (i % 2) {
			ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY_PING);
		} else {
			ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY_BUFFER_FREE);
			ck_assert_uint_eq(m->buffer_free->buffer, i);
		}
		gw_arena_reset(&a);
		gw_reader_consume(&r);
		i++;
	}
	ck_assert_int_eq(e, 0);
	ck_assert_uint_eq(i, N);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);

	gw_arena_finish(&a);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(frame_split_across_two_reads_at_every_split_point_is_reassembled)
{
	struct dispatch_req d;
	make_dispatch(&d, 77);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 4096), 0);

	for (size_t split = 0; split <= out.len; split++) {
		struct gw_reader r;
		gw_reader_init(&r, SMALL_MAX_FRAME);
		const uint8_t *p = NULL;
		size_t n = 0;
		if (split > 0)
			feed(&r, out.data, split);
		int e = gw_reader_peek(&r, &p, &n);
		ck_assert_msg(e == (split == out.len ? 1 : 0),
			      "split %zu/%zu: first peek returned %d", split, out.len, e);
		ck_assert_uint_eq(gw_reader_pending(&r), split);
		if (split < out.len)
			feed(&r, out.data + split, out.len - split);
		ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
		ck_assert_uint_eq(n, out.len - GW_HEADER);
		ck_assert_mem_eq(p, out.data + GW_HEADER, n);
		Gpucmd__Request *m = unpack_with(&a, p, n);
		check_dispatch(m, 77);
		gw_arena_reset(&a);
		gw_reader_consume(&r);
		ck_assert_uint_eq(gw_reader_pending(&r), 0);
		gw_reader_finish(&r);
	}
	gw_arena_finish(&a);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(two_frames_split_at_every_point_yield_both_intact)
{
	struct hello_req h;
	struct commit_req c;
	make_hello(&h, 11);
	make_commit(&c, 12);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &h.req.base, SMALL_MAX_FRAME), 0);
	size_t first = out.len;
	ck_assert_int_eq(gw_pack(&out, &c.req.base, SMALL_MAX_FRAME), 0);

	for (size_t split = 1; split < out.len; split++) {
		struct gw_reader r;
		gw_reader_init(&r, SMALL_MAX_FRAME);
		const uint8_t *p;
		size_t n;
		size_t frames = 0;
		feed(&r, out.data, split);
		while (gw_reader_peek(&r, &p, &n) == 1) {
			ck_assert_uint_eq(n, first - GW_HEADER);
			ck_assert_mem_eq(p, out.data + GW_HEADER, n);
			gw_reader_consume(&r);
			frames++;
		}
		ck_assert_uint_eq(frames, split >= first ? 1 : 0);
		feed(&r, out.data + split, out.len - split);
		while (gw_reader_peek(&r, &p, &n) == 1) {
			size_t start = frames == 0 ? 0 : first;
			size_t len = (frames == 0 ? first : out.len - first) - GW_HEADER;
			ck_assert_uint_eq(n, len);
			ck_assert_mem_eq(p, out.data + start + GW_HEADER, n);
			gw_reader_consume(&r);
			frames++;
		}
		ck_assert_uint_eq(frames, 2);
		ck_assert_uint_eq(gw_reader_pending(&r), 0);
		gw_reader_finish(&r);
	}
	gw_buf_finish(&out);
}
END_TEST

START_TEST(zero_length_payload_is_a_frame_that_decodes_to_an_empty_request)
{
	/* gw_pack of a default Request packs to nothing: a bare header. */
	Gpucmd__Request empty = GPUCMD__REQUEST__INIT;
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &empty.base, SMALL_MAX_FRAME), 0);
	ck_assert_uint_eq(out.len, GW_HEADER);
	ck_assert_uint_eq(le32_at(out.data), 0);

	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, 3);
	const uint8_t *p = NULL;
	size_t n = 99;
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 0);
	feed(&r, out.data + 3, 1);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(p);

	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 256), 0);
	Gpucmd__Request *m = unpack_with(&a, p, n);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->id, 0);
	ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY__NOT_SET);
	ck_assert_str_eq(gw_request_name(m), "empty request");
	gw_arena_reset(&a);

	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 0);

	gw_arena_finish(&a);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(header_announcing_max_frame_plus_one_is_refused_as_soon_as_the_header_is_complete)
{
	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	uint8_t hdr[GW_HEADER];
	put_le32(hdr, SMALL_MAX_FRAME + 1);
	const uint8_t *p = NULL;
	size_t n = 0;
	feed(&r, hdr, 3);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 0);
	feed(&r, hdr + 3, 1);
	/* No payload byte has arrived: the header alone is a violation. */
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), -EMSGSIZE);
	ck_assert_ptr_null(p);
	/* It stays refused (the reader does not skip it). */
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), -EMSGSIZE);
	ck_assert_uint_eq(gw_reader_pending(&r), GW_HEADER);
	gw_reader_finish(&r);

	/* The largest u32 must not wrap into something acceptable. */
	gw_reader_init(&r, SMALL_MAX_FRAME);
	put_le32(hdr, UINT32_MAX);
	feed(&r, hdr, sizeof hdr);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), -EMSGSIZE);
	gw_reader_finish(&r);
}
END_TEST

START_TEST(header_announcing_exactly_max_frame_is_accepted_once_the_payload_is_complete)
{
	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	size_t total = GW_HEADER + SMALL_MAX_FRAME;
	uint8_t *frame = malloc(total);
	ck_assert_ptr_nonnull(frame);
	put_le32(frame, SMALL_MAX_FRAME);
	fill_pattern(frame + GW_HEADER, SMALL_MAX_FRAME, 3);

	const uint8_t *p = NULL;
	size_t n = 0;
	feed(&r, frame, total - 1);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 0);
	feed(&r, frame + total - 1, 1);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	ck_assert_uint_eq(n, SMALL_MAX_FRAME);
	ck_assert_mem_eq(p, frame + GW_HEADER, n);
	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);

	free(frame);
	gw_reader_finish(&r);
}
END_TEST

START_TEST(peek_without_consume_returns_the_same_frame_again)
{
	struct hello_req h;
	struct commit_req c;
	make_hello(&h, 1);
	make_commit(&c, 2);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &h.req.base, SMALL_MAX_FRAME), 0);
	size_t first = out.len;
	ck_assert_int_eq(gw_pack(&out, &c.req.base, SMALL_MAX_FRAME), 0);

	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, out.len);

	const uint8_t *p1, *p2, *p3;
	size_t n1, n2, n3;
	ck_assert_int_eq(gw_reader_peek(&r, &p1, &n1), 1);
	ck_assert_int_eq(gw_reader_peek(&r, &p2, &n2), 1);
	ck_assert_ptr_eq(p1, p2);
	ck_assert_uint_eq(n1, n2);
	ck_assert_uint_eq(n1, first - GW_HEADER);
	ck_assert_mem_eq(p2, out.data + GW_HEADER, n2);
	ck_assert_uint_eq(gw_reader_pending(&r), out.len);

	/* A third peek after more bytes arrive is still the first frame. */
	Gpucmd__Ping ping = GPUCMD__PING__INIT;
	Gpucmd__Request pr = GPUCMD__REQUEST__INIT;
	pr.id = 3;
	pr.body_case = GPUCMD__REQUEST__BODY_PING;
	pr.ping = &ping;
	struct gw_buf more = {0};
	ck_assert_int_eq(gw_pack(&more, &pr.base, SMALL_MAX_FRAME), 0);
	feed(&r, more.data, more.len);
	ck_assert_int_eq(gw_reader_peek(&r, &p3, &n3), 1);
	ck_assert_uint_eq(n3, first - GW_HEADER);
	ck_assert_mem_eq(p3, out.data + GW_HEADER, n3);

	/* One consume drops exactly that frame; the next is the commit. */
	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), out.len - first + more.len);
	ck_assert_int_eq(gw_reader_peek(&r, &p1, &n1), 1);
	ck_assert_uint_eq(n1, out.len - first - GW_HEADER);
	ck_assert_mem_eq(p1, out.data + first + GW_HEADER, n1);

	gw_buf_finish(&more);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(consume_without_peek_drops_nothing)
{
	struct hello_req h;
	make_hello(&h, 1);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &h.req.base, SMALL_MAX_FRAME), 0);
	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, out.len);
	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), out.len);

	const uint8_t *p;
	size_t n;
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);
	/* A second consume after the peeked frame is gone is a no-op. */
	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(space_after_consume_compacts_and_keeps_pending_bytes_intact)
{
	struct hello_req h;
	struct dispatch_req d;
	make_hello(&h, 1);
	make_dispatch(&d, 2);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &h.req.base, SMALL_MAX_FRAME), 0);
	size_t first = out.len;
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	size_t half = (out.len - first) / 2;
	ck_assert_uint_gt(half, GW_HEADER);

	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, first + half);
	const uint8_t *p;
	size_t n;
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	gw_reader_consume(&r);
	ck_assert_uint_eq(r.off, first);
	ck_assert_uint_eq(gw_reader_pending(&r), half);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 0);

	/* space() slides the partial second frame to the front. */
	uint8_t *dst = NULL;
	size_t room = 0;
	ck_assert_int_eq(gw_reader_space(&r, 1, &dst, &room), 0);
	ck_assert_uint_eq(r.off, 0);
	ck_assert_uint_eq(r.buf.len, half);
	ck_assert_uint_eq(gw_reader_pending(&r), half);
	ck_assert_ptr_eq(dst, r.buf.data + half);
	ck_assert_uint_eq(room, r.buf.cap - half);
	ck_assert_mem_eq(r.buf.data, out.data + first, half);

	/* Ask for more than the buffer holds so it grows (realloc): the
	 * pending bytes must survive that too. */
	size_t big = r.buf.cap * 3;
	ck_assert_int_eq(gw_reader_space(&r, big, &dst, &room), 0);
	ck_assert_uint_ge(room, big);
	ck_assert_ptr_eq(dst, r.buf.data + half);
	ck_assert_mem_eq(r.buf.data, out.data + first, half);

	memcpy(dst, out.data + first + half, out.len - first - half);
	gw_reader_commit(&r, out.len - first - half);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	ck_assert_uint_eq(n, out.len - first - GW_HEADER);
	ck_assert_mem_eq(p, out.data + first + GW_HEADER, n);

	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 4096), 0);
	check_dispatch(unpack_with(&a, p, n), 2);
	gw_arena_finish(&a);

	gw_reader_consume(&r);
	ck_assert_uint_eq(gw_reader_pending(&r), 0);
	ck_assert_uint_eq(r.off, 0);
	ck_assert_uint_eq(r.buf.len, 0);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(consuming_the_last_frame_rewinds_the_buffer_to_empty)
{
	struct commit_req c;
	make_commit(&c, 5);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &c.req.base, SMALL_MAX_FRAME), 0);
	ck_assert_int_eq(gw_pack(&out, &c.req.base, SMALL_MAX_FRAME), 0);
	struct gw_reader r;
	gw_reader_init(&r, SMALL_MAX_FRAME);
	feed(&r, out.data, out.len);
	const uint8_t *p;
	size_t n;
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	gw_reader_consume(&r);
	ck_assert_uint_eq(r.off, out.len / 2);
	ck_assert_int_eq(gw_reader_peek(&r, &p, &n), 1);
	gw_reader_consume(&r);
	ck_assert_uint_eq(r.off, 0);
	ck_assert_uint_eq(r.buf.len, 0);
	gw_reader_finish(&r);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(buf_consume_drops_a_prefix_and_clamps_at_the_length)
{
	struct gw_buf b = {0};
	ck_assert_int_eq(gw_buf_reserve(&b, 10), 0);
	ck_assert_uint_ge(b.cap, 10);
	for (int i = 0; i < 10; i++)
		b.data[i] = (uint8_t)i;
	b.len = 10;
	gw_buf_consume(&b, 3);
	ck_assert_uint_eq(b.len, 7);
	const uint8_t expect[7] = {3, 4, 5, 6, 7, 8, 9};
	ck_assert_mem_eq(b.data, expect, 7);
	gw_buf_consume(&b, 100);
	ck_assert_uint_eq(b.len, 0);
	gw_buf_finish(&b);
}
END_TEST

/* ---- arena ------------------------------------------------------------- */

START_TEST(arena_decodes_a_small_request_from_its_block_without_spilling)
{
	struct dispatch_req d;
	make_dispatch(&d, 4);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);

	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 4096), 0);
	ck_assert_uint_eq(a.used, 0);
	Gpucmd__Request *m = unpack_with(&a, out.data + GW_HEADER, out.len - GW_HEADER);
	check_dispatch(m, 4);
	ck_assert_ptr_null(a.spill);
	ck_assert_uint_gt(a.used, 0);
	ck_assert_uint_le(a.used, a.size);
	/* Everything the decoder returned lies inside the block. */
	uint8_t *lo = a.block, *hi = a.block + a.size;
	ck_assert((uint8_t *)m >= lo && (uint8_t *)m < hi);
	ck_assert((uint8_t *)m->dispatch >= lo && (uint8_t *)m->dispatch < hi);
	ck_assert((uint8_t *)m->dispatch->bindings[2] >= lo &&
		  (uint8_t *)m->dispatch->bindings[2] < hi);
	ck_assert_uint_eq((uintptr_t)m % _Alignof(max_align_t), 0);

	gpucmd__request__free_unpacked(m, &a.pb);  /* a no-op for the arena */
	gw_arena_reset(&a);
	ck_assert_uint_eq(a.used, 0);
	ck_assert_ptr_null(a.spill);

	/* The block is reused: the same decode lands at the same address. */
	Gpucmd__Request *m2 = unpack_with(&a, out.data + GW_HEADER, out.len - GW_HEADER);
	ck_assert_ptr_eq(m2, m);
	check_dispatch(m2, 4);
	gw_arena_finish(&a);
	ck_assert_ptr_null(a.block);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(arena_spills_a_bytes_field_larger_than_its_block_and_reset_frees_it)
{
	const size_t arena_size = 512, data_len = 20000;
	uint8_t *data = malloc(data_len);
	ck_assert_ptr_nonnull(data);
	fill_pattern(data, data_len, 77);
	struct write_req w;
	make_write(&w, 123, data, data_len);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &w.req.base, GW_DEFAULT_MAX_FRAME), 0);

	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, arena_size), 0);
	for (int round = 0; round < 3; round++) {
		Gpucmd__Request *m = unpack_with(&a, out.data + GW_HEADER, out.len - GW_HEADER);
		ck_assert_ptr_nonnull(m);
		ck_assert_uint_eq(m->id, 123);
		ck_assert_int_eq(m->body_case, GPUCMD__REQUEST__BODY_BUFFER_WRITE);
		ck_assert_str_eq(gw_request_name(m), "buffer_write");
		ck_assert_uint_eq(m->buffer_write->buffer, 5);
		ck_assert_uint_eq(m->buffer_write->offset, 1024);
		ck_assert_int_eq(m->buffer_write->last, 1);
		ck_assert_uint_eq(m->buffer_write->data.len, data_len);
		ck_assert_mem_eq(m->buffer_write->data.data, data, data_len);
		/* The small structs came from the block, the data from a spill. */
		ck_assert_ptr_nonnull(a.spill);
		ck_assert_uint_gt(a.used, 0);
		ck_assert_uint_le(a.used, arena_size);
		uint8_t *dp = m->buffer_write->data.data;
		ck_assert(dp < a.block || dp >= a.block + a.size);
		ck_assert((uint8_t *)m >= a.block && (uint8_t *)m < a.block + a.size);

		gpucmd__request__free_unpacked(m, &a.pb);
		gw_arena_reset(&a);
		ck_assert_ptr_null(a.spill);
		ck_assert_uint_eq(a.used, 0);
	}
	gw_arena_finish(&a);
	gw_buf_finish(&out);
	free(data);
}
END_TEST

START_TEST(arena_that_runs_out_mid_message_spills_the_rest)
{
	/* 100 bindings need far more than 128 bytes of structs: every
	 * allocation after the block is full spills, and decoding still
	 * produces the whole message. */
	enum { NB = 100 };
	Gpucmd__Binding b[NB];
	Gpucmd__Binding *bp[NB];
	for (size_t i = 0; i < NB; i++) {
		b[i] = (Gpucmd__Binding)GPUCMD__BINDING__INIT;
		b[i].buffer = (uint32_t)i + 1;
		b[i].offset = i * 64;
		b[i].size = 64;
		bp[i] = &b[i];
	}
	Gpucmd__Dispatch d = GPUCMD__DISPATCH__INIT;
	d.n_bindings = NB;
	d.bindings = bp;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.id = 8;
	req.body_case = GPUCMD__REQUEST__BODY_DISPATCH;
	req.dispatch = &d;
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &req.base, SMALL_MAX_FRAME), 0);

	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 128), 0);
	Gpucmd__Request *m = unpack_with(&a, out.data + GW_HEADER, out.len - GW_HEADER);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->dispatch->n_bindings, NB);
	for (size_t i = 0; i < NB; i++) {
		ck_assert_uint_eq(m->dispatch->bindings[i]->buffer, i + 1);
		ck_assert_uint_eq(m->dispatch->bindings[i]->offset, i * 64);
		ck_assert_uint_eq(m->dispatch->bindings[i]->size, 64);
	}
	ck_assert_ptr_nonnull(a.spill);
	ck_assert_uint_le(a.used, 128);
	gw_arena_finish(&a);
	ck_assert_ptr_null(a.spill);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(truncated_payload_fails_to_decode_and_the_arena_still_resets)
{
	struct dispatch_req d;
	make_dispatch(&d, 4);
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 64), 0);
	/* Cutting the payload inside the dispatch submessage is malformed. */
	Gpucmd__Request *m = unpack_with(&a, out.data + GW_HEADER, out.len - GW_HEADER - 3);
	ck_assert_ptr_null(m);
	gw_arena_reset(&a);
	ck_assert_uint_eq(a.used, 0);
	ck_assert_ptr_null(a.spill);
	gw_arena_finish(&a);
	gw_buf_finish(&out);
}
END_TEST

/* ---- the hand decoder of Dispatch requests ------------------------------ */

START_TEST(fast_decoder_reads_a_dispatch_as_protobuf_c_does)
{
	struct dispatch_req d;
	make_dispatch(&d, 1ull << 40);
	d.d.flags = 1;
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	struct gw_fast_request f;
	ck_assert_int_eq(gw_decode_fast(out.data + GW_HEADER, out.len - GW_HEADER, &f), 1);
	ck_assert_int_eq(f.req.body_case, GPUCMD__REQUEST__BODY_DISPATCH);
	ck_assert_ptr_eq(f.req.dispatch, &f.dispatch);
	ck_assert_uint_eq(f.req.id, 1ull << 40);
	const Gpucmd__Dispatch *g = f.req.dispatch;
	ck_assert_uint_eq(g->session, 7);
	ck_assert_uint_eq(g->kernel, 3);
	ck_assert_uint_eq(g->groups_x, 64);
	ck_assert_uint_eq(g->groups_y, 2);
	ck_assert_uint_eq(g->groups_z, 1);
	ck_assert_uint_eq(g->flags, 1);
	ck_assert_uint_eq(g->push.len, sizeof d.push);
	ck_assert_mem_eq(g->push.data, d.push, sizeof d.push);
	ck_assert_uint_eq(g->n_bindings, 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(g->bindings[i]->buffer, d.b[i].buffer);
		ck_assert_uint_eq(g->bindings[i]->offset, d.b[i].offset);
		ck_assert_uint_eq(g->bindings[i]->size, d.b[i].size);
	}
	gw_buf_finish(&out);
}
END_TEST

/* Anything outside the canonical shape goes to protobuf-c: another body, an
 * unknown field, more bindings than it holds, a uint32 that does not fit. */
START_TEST(fast_decoder_leaves_other_shapes_to_protobuf_c)
{
	struct gw_fast_request f;
	Gpucmd__Request ping = GPUCMD__REQUEST__INIT;
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	ping.body_case = GPUCMD__REQUEST__BODY_PING;
	ping.ping = &p;
	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &ping.base, SMALL_MAX_FRAME), 0);
	ck_assert_int_eq(gw_decode_fast(out.data + GW_HEADER, out.len - GW_HEADER, &f), 0);
	ck_assert_int_eq(gw_decode_fast(NULL, 0, &f), 0); /* an empty request */

	struct dispatch_req d;
	make_dispatch(&d, 5);
	Gpucmd__Binding many[GPUCMD_MAX_BINDINGS + 1], *mp[GPUCMD_MAX_BINDINGS + 1];
	for (int i = 0; i <= GPUCMD_MAX_BINDINGS; i++)
		many[i] = d.b[0], mp[i] = &many[i];
	d.d.bindings = mp;
	d.d.n_bindings = GPUCMD_MAX_BINDINGS + 1;
	out.len = 0;
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	ck_assert_int_eq(gw_decode_fast(out.data + GW_HEADER, out.len - GW_HEADER, &f), 0);

	/* Dispatch {kernel: 2^32} and Dispatch {field 15: 1}, by hand. */
	const uint8_t wide[] = {0x08, 0x05, 0x8a, 0x02, 0x06, 0x10, 0x80, 0x80, 0x80, 0x80, 0x10};
	ck_assert_int_eq(gw_decode_fast(wide, sizeof wide, &f), 0);
	const uint8_t unknown[] = {0x08, 0x05, 0x8a, 0x02, 0x02, 0x78, 0x01};
	ck_assert_int_eq(gw_decode_fast(unknown, sizeof unknown, &f), 0);
	/* by_binding (field 9) and a binding's number and element (4, 5). */
	const uint8_t numbered[] = {0x08, 0x05, 0x8a, 0x02, 0x0a, 0x10, 0x09, 0x48, 0x01, 0x1a, 0x04, 0x20, 0x07, 0x28, 0x02};
	ck_assert_int_eq(gw_decode_fast(numbered, sizeof numbered, &f), 1);
	ck_assert(f.req.dispatch->by_binding);
	ck_assert_uint_eq(f.req.dispatch->n_bindings, 1);
	ck_assert_uint_eq(f.req.dispatch->bindings[0]->binding, 7);
	ck_assert_uint_eq(f.req.dispatch->bindings[0]->element, 2);
	const uint8_t fine[] = {0x08, 0x05, 0x8a, 0x02, 0x02, 0x10, 0x09};
	ck_assert_int_eq(gw_decode_fast(fine, sizeof fine, &f), 1);
	ck_assert_uint_eq(f.req.dispatch->kernel, 9);
	/* A length or a key padded past 5 bytes, which protobuf-c refuses
	 * (fuzz_frames found the first: Commit {has_label, label of a 9-byte
	 * length 0}); 5 bytes are taken. */
	const uint8_t long_len[] = {0x08, 0x0d, 0x92, 0x02, 0x09, 0x18, 0x01, 0x22, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
	ck_assert_ptr_null(gpucmd__request__unpack(NULL, sizeof long_len, long_len));
	ck_assert_int_eq(gw_decode_fast(long_len, sizeof long_len, &f), 0);
	const uint8_t five_len[] = {0x08, 0x0d, 0x92, 0x02, 0x08, 0x18, 0x01, 0x22, 0x80, 0x80, 0x80, 0x80, 0x00};
	Gpucmd__Request *ref = gpucmd__request__unpack(NULL, sizeof five_len, five_len);
	ck_assert_ptr_nonnull(ref);
	gpucmd__request__free_unpacked(ref, NULL);
	ck_assert_int_eq(gw_decode_fast(five_len, sizeof five_len, &f), 1);
	const uint8_t long_key[] = {0x08, 0x05, 0x8a, 0x02, 0x07, 0x90, 0x80, 0x80, 0x80, 0x80, 0x00, 0x09};
	ck_assert_ptr_null(gpucmd__request__unpack(NULL, sizeof long_key, long_key));
	ck_assert_int_eq(gw_decode_fast(long_key, sizeof long_key, &f), 0);
	gw_buf_finish(&out);
}
END_TEST

/* Packs req with protobuf-c and decodes it by hand: 1 when taken. */
static int fast_decode(Gpucmd__Request *req, struct gw_buf *out, struct gw_fast_request *f)
{
	out->len = 0;
	ck_assert_int_eq(gw_pack(out, &req->base, SMALL_MAX_FRAME), 0);
	return gw_decode_fast(out->data + GW_HEADER, out->len - GW_HEADER, f);
}

/* The other per-stage requests, as libgpucmd writes them: commit (with and
 * without a label), reset_stage and fence_wait. */
START_TEST(fast_decoder_reads_commit_reset_and_fence_wait)
{
	struct gw_buf out = {0};
	struct gw_fast_request f;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = 9, cm.mode = GPUCMD__COMMIT_MODE__COMMIT_FENCE, cm.has_label = 1, cm.label = "bulk stage 7";
	req.id = 1ull << 35, req.body_case = GPUCMD__REQUEST__BODY_COMMIT, req.commit = &cm;
	ck_assert_int_eq(fast_decode(&req, &out, &f), 1);
	ck_assert_int_eq(f.req.body_case, GPUCMD__REQUEST__BODY_COMMIT);
	ck_assert_uint_eq(f.req.id, 1ull << 35);
	ck_assert_ptr_eq(f.req.commit, &f.commit);
	ck_assert_uint_eq(f.commit.session, 9);
	ck_assert_int_eq(f.commit.mode, GPUCMD__COMMIT_MODE__COMMIT_FENCE);
	ck_assert(f.commit.has_label);
	ck_assert_str_eq(f.commit.label, "bulk stage 7");

	cm.has_label = 0, cm.label = (char *)protobuf_c_empty_string, cm.mode = GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	ck_assert_int_eq(fast_decode(&req, &out, &f), 1);
	ck_assert(!f.commit.has_label);
	ck_assert_str_eq(f.commit.label, "");
	ck_assert_int_eq(f.commit.mode, GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT);

	Gpucmd__ResetStage rs = GPUCMD__RESET_STAGE__INIT;
	rs.session = 4;
	req.body_case = GPUCMD__REQUEST__BODY_RESET_STAGE, req.reset_stage = &rs;
	ck_assert_int_eq(fast_decode(&req, &out, &f), 1);
	ck_assert_ptr_eq(f.req.reset_stage, &f.reset_stage);
	ck_assert_uint_eq(f.reset_stage.session, 4);

	uint8_t tok[GPUCMD_TOKEN_BYTES];
	for (unsigned i = 0; i < sizeof tok; i++)
		tok[i] = (uint8_t)(0xa0 + i);
	Gpucmd__FenceWait fw = GPUCMD__FENCE_WAIT__INIT;
	fw.token = (ProtobufCBinaryData){sizeof tok, tok}, fw.value = 1ull << 40, fw.timeout_ms = 600000;
	req.body_case = GPUCMD__REQUEST__BODY_FENCE_WAIT, req.fence_wait = &fw;
	ck_assert_int_eq(fast_decode(&req, &out, &f), 1);
	ck_assert_ptr_eq(f.req.fence_wait, &f.fence_wait);
	ck_assert_uint_eq(f.fence_wait.token.len, sizeof tok);
	ck_assert_mem_eq(f.fence_wait.token.data, tok, sizeof tok);
	ck_assert_uint_eq(f.fence_wait.value, 1ull << 40);
	ck_assert_uint_eq(f.fence_wait.timeout_ms, 600000);
	gw_buf_finish(&out);
}
END_TEST

/* What the hand decoder takes, protobuf-c reads the same; what it leaves
 * (a label too long or not printable ASCII, an enum past int32, an unknown
 * field, two bodies) protobuf-c still decides. */
START_TEST(fast_decoder_agrees_with_protobuf_c_on_odd_commits)
{
	struct gw_fast_request f;
	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 256), 0);
	/* Commit {session 3, mode 7 (no such mode: open enum), has_label 2}. */
	const uint8_t odd[] = {0x08, 0x01, 0x92, 0x02, 0x06, 0x08, 0x03, 0x10, 0x07, 0x18, 0x02};
	ck_assert_int_eq(gw_decode_fast(odd, sizeof odd, &f), 1);
	Gpucmd__Request *m = unpack_with(&a, odd, sizeof odd);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->body_case, f.req.body_case);
	ck_assert_uint_eq(m->commit->session, f.commit.session);
	ck_assert_int_eq(m->commit->mode, f.commit.mode);
	ck_assert_int_eq(m->commit->has_label, f.commit.has_label);
	gw_arena_reset(&a);

	uint8_t big[8 + GW_FAST_LABEL + 1] = {0x08, 0x01, 0x92, 0x02, GW_FAST_LABEL + 3, 0x22, GW_FAST_LABEL + 1};
	memset(big + 7, 'x', GW_FAST_LABEL + 1);
	ck_assert_int_eq(gw_decode_fast(big, 7 + GW_FAST_LABEL + 1, &f), 0);
	ck_assert_ptr_nonnull(unpack_with(&a, big, 7 + GW_FAST_LABEL + 1));
	gw_arena_reset(&a);
	const uint8_t high_byte[] = {0x08, 0x01, 0x92, 0x02, 0x04, 0x22, 0x02, 0xc3, 0xa9};
	ck_assert_int_eq(gw_decode_fast(high_byte, sizeof high_byte, &f), 0);
	/* mode -1: ten bytes, past int32 as unsigned */
	const uint8_t negative[] = {0x92, 0x02, 0x0b, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	ck_assert_int_eq(gw_decode_fast(negative, sizeof negative, &f), 0);
	const uint8_t unknown[] = {0x9a, 0x02, 0x04, 0x08, 0x01, 0x10, 0x01};  /* ResetStage {1: 1, 2: 1} */
	ck_assert_int_eq(gw_decode_fast(unknown, sizeof unknown, &f), 0);
	const uint8_t two[] = {0x9a, 0x02, 0x02, 0x08, 0x01, 0x9a, 0x02, 0x02, 0x08, 0x02}; /* two bodies */
	ck_assert_int_eq(gw_decode_fast(two, sizeof two, &f), 0);
	const uint8_t fine[] = {0x9a, 0x02, 0x02, 0x08, 0x05};
	ck_assert_int_eq(gw_decode_fast(fine, sizeof fine, &f), 1);
	ck_assert_uint_eq(f.reset_stage.session, 5);
	gw_arena_finish(&a);
}
END_TEST

/* ---- names ------------------------------------------------------------- */

START_TEST(request_name_of_a_decoded_dispatch_is_dispatch)
{
	struct dispatch_req d;
	make_dispatch(&d, 1);
	ck_assert_str_eq(gw_request_name(&d.req), "dispatch");

	struct gw_buf out = {0};
	ck_assert_int_eq(gw_pack(&out, &d.req.base, SMALL_MAX_FRAME), 0);
	struct gw_arena a;
	ck_assert_int_eq(gw_arena_init(&a, 4096), 0);
	Gpucmd__Request *m = unpack_with(&a, out.data + GW_HEADER, out.len - GW_HEADER);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(gw_request_name(m), "dispatch");
	gw_arena_finish(&a);
	gw_buf_finish(&out);
}
END_TEST

START_TEST(request_name_follows_the_body_case)
{
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	ck_assert_str_eq(gw_request_name(&req), "empty request");
	req.body_case = GPUCMD__REQUEST__BODY_HELLO;
	ck_assert_str_eq(gw_request_name(&req), "hello");
	req.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	ck_assert_str_eq(gw_request_name(&req), "commit");
	req.body_case = GPUCMD__REQUEST__BODY_SESSION_QUERY;
	ck_assert_str_eq(gw_request_name(&req), "session_query");
	req.body_case = GPUCMD__REQUEST__BODY_PING;
	ck_assert_str_eq(gw_request_name(&req), "ping");
}
END_TEST

static Suite *wire_suite(void)
{
	Suite *s = suite_create("wire");

	TCase *pack = tcase_create("pack");
	tcase_add_test(pack, pack_writes_le32_length_header_then_the_packed_message);
	tcase_add_test(pack, pack_appends_after_existing_frames);
	tcase_add_test(pack, pack_header_encodes_multibyte_length_little_endian);
	tcase_add_test(pack, pack_larger_than_max_frame_fails_emsgsize_and_leaves_buffer_unchanged);
	tcase_add_test(pack, pack_of_exactly_max_frame_is_accepted_and_one_more_is_refused);
	suite_add_tcase(s, pack);

	TCase *reader = tcase_create("reader");
	tcase_add_test(reader, reader_fed_byte_by_byte_yields_each_frame_exactly_when_its_last_byte_arrives);
	tcase_add_test(reader, reader_returns_all_frames_of_one_read_in_order);
	tcase_add_test(reader, frame_split_across_two_reads_at_every_split_point_is_reassembled);
	tcase_add_test(reader, two_frames_split_at_every_point_yield_both_intact);
	tcase_add_test(reader, zero_length_payload_is_a_frame_that_decodes_to_an_empty_request);
	tcase_add_test(reader, header_announcing_max_frame_plus_one_is_refused_as_soon_as_the_header_is_complete);
	tcase_add_test(reader, header_announcing_exactly_max_frame_is_accepted_once_the_payload_is_complete);
	tcase_add_test(reader, peek_without_consume_returns_the_same_frame_again);
	tcase_add_test(reader, consume_without_peek_drops_nothing);
	tcase_add_test(reader, space_after_consume_compacts_and_keeps_pending_bytes_intact);
	tcase_add_test(reader, consuming_the_last_frame_rewinds_the_buffer_to_empty);
	tcase_add_test(reader, buf_consume_drops_a_prefix_and_clamps_at_the_length);
	suite_add_tcase(s, reader);

	TCase *arena = tcase_create("arena");
	tcase_add_test(arena, arena_decodes_a_small_request_from_its_block_without_spilling);
	tcase_add_test(arena, arena_spills_a_bytes_field_larger_than_its_block_and_reset_frees_it);
	tcase_add_test(arena, arena_that_runs_out_mid_message_spills_the_rest);
	tcase_add_test(arena, truncated_payload_fails_to_decode_and_the_arena_still_resets);
	suite_add_tcase(s, arena);

	TCase *fast = tcase_create("fast_decoder");
	tcase_add_test(fast, fast_decoder_reads_a_dispatch_as_protobuf_c_does);
	tcase_add_test(fast, fast_decoder_leaves_other_shapes_to_protobuf_c);
	tcase_add_test(fast, fast_decoder_reads_commit_reset_and_fence_wait);
	tcase_add_test(fast, fast_decoder_agrees_with_protobuf_c_on_odd_commits);
	suite_add_tcase(s, fast);

	TCase *names = tcase_create("names");
	tcase_add_test(names, request_name_of_a_decoded_dispatch_is_dispatch);
	tcase_add_test(names, request_name_follows_the_body_case);
	suite_add_tcase(s, names);

	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(wire_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
