/*
 * wire.h — everything about bytes on the gpucmd socket, shared by the daemon
 * and libgpucmd: the growable byte buffer, the frame splitter (u32 LE length
 * + one protobuf message), packing a message into a frame, and the arena the
 * decoder allocates from so that decoding a frame does not call malloc.
 * Nothing here knows about Vulkan, sessions or libuv.
 */
#ifndef GPUCMD_WIRE_H
#define GPUCMD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "gpucmd.pb-c.h"
#include "gpucmd_defs.h"

#define GW_HEADER 4u
#define GW_DEFAULT_MAX_FRAME (4u << 20)
#define GW_MIN_MAX_FRAME 4096u
#define GW_MAX_FDS 4   /* fds accepted with one message; more is a violation */

/* A growable byte buffer. Zero-initialised is a valid empty buffer. */
struct gw_buf {
	uint8_t *data;
	size_t len, cap;
};

/* Makes room for at least `extra` more bytes. Returns 0 or -ENOMEM. */
int gw_buf_reserve(struct gw_buf *b, size_t extra);
/* Drops the first n bytes (they were sent). */
void gw_buf_consume(struct gw_buf *b, size_t n);
void gw_buf_finish(struct gw_buf *b);

/* Appends one frame holding `msg` to `out`. Returns 0, -ENOMEM, or
 * -EMSGSIZE when the packed message is larger than max_frame. */
int gw_pack(struct gw_buf *out, const ProtobufCMessage *msg, size_t max_frame);

/*
 * The frame splitter. Bytes are read straight into its buffer (reserve, then
 * commit what arrived); complete frames are peeked and consumed one at a time
 * so a caller can leave a frame in place and come back to it later.
 */
struct gw_reader {
	struct gw_buf buf;
	size_t off;        /* start of the first unconsumed frame */
	size_t max_frame;  /* largest payload accepted */
	size_t peeked;     /* header + payload of the frame last peeked */
};

void gw_reader_init(struct gw_reader *r, size_t max_frame);
void gw_reader_finish(struct gw_reader *r);
/* Returns room for at least `want` bytes at *ret_ptr (*ret_len bytes free).
 * 0 or -ENOMEM. */
int gw_reader_space(struct gw_reader *r, size_t want, uint8_t **ret_ptr, size_t *ret_len);
/* n bytes were written at the pointer space() returned. */
void gw_reader_commit(struct gw_reader *r, size_t n);
/* The next complete frame: 1 and its payload, 0 when more bytes are needed,
 * -EMSGSIZE when its header announces more than max_frame. */
int gw_reader_peek(struct gw_reader *r, const uint8_t **ret_payload, size_t *ret_len);
/* Drops the frame last peeked. */
void gw_reader_consume(struct gw_reader *r);
/* Bytes held that are not yet a complete frame or not yet consumed. */
size_t gw_reader_pending(const struct gw_reader *r);
/* Frees the buffer when it holds nothing and has grown past `keep` bytes
 * (for a large frame now handled). */
void gw_reader_trim(struct gw_reader *r, size_t keep);

/*
 * A bump allocator for protobuf-c. Decoding allocates from a fixed block;
 * what does not fit (large byte fields) falls back to malloc. Everything is
 * released at once by gw_arena_reset, after the message has been handled.
 */
struct gw_arena {
	ProtobufCAllocator pb;  /* hand &pb to protobuf_c_message_unpack */
	uint8_t *block;
	size_t size, used;
	void *spill;            /* list of malloc'd overflow chunks */
};

int gw_arena_init(struct gw_arena *a, size_t size);
void gw_arena_reset(struct gw_arena *a);
void gw_arena_finish(struct gw_arena *a);

/*
 * The requests decoded by hand: a Request whose body is one of those a
 * stream sends for every stage (Dispatch, Commit, ResetStage, FenceWait).
 * protobuf-c's generic decoder walks descriptors and allocates each
 * submessage (its unpack was 5 % of the loop thread's time beside tiny
 * stages, BENCHMARKS.md); this one fills the structs below in place, for
 * the same handlers. It takes only the canonical shape libgpucmd writes
 * (known fields with their wire types, uint32 and enum values that fit, at
 * most GPUCMD_MAX_BINDINGS bindings, a label of at most GW_FAST_LABEL
 * printable ASCII bytes, one body) and returns 0 for anything else, which
 * then goes to protobuf-c and gets its verdict: the two decoders agree on
 * every frame the fast one accepts (fuzz_frames checks it).
 */
#define GW_FAST_LABEL 64
struct gw_fast_request {
	Gpucmd__Request req;          /* its body points at one of these */
	Gpucmd__Dispatch dispatch;
	Gpucmd__Binding bindings[GPUCMD_MAX_BINDINGS];
	Gpucmd__Binding *binding_ptrs[GPUCMD_MAX_BINDINGS];
	Gpucmd__Commit commit;
	char label[GW_FAST_LABEL + 1];
	Gpucmd__ResetStage reset_stage;
	Gpucmd__FenceWait fence_wait;
};

/* 1: the frame is one of those requests, decoded into *ret (push and token
 * bytes point into payload); 0: decode it with protobuf-c instead. */
int gw_decode_fast(const uint8_t *payload, size_t len, struct gw_fast_request *ret);

/*
 * File descriptors travel with the first bytes of the frame they go with
 * (SCM_RIGHTS), and a receiver ties each to the frame holding the last byte
 * of the read it came with: the kernel ends a read within the data a
 * descriptor was sent with (PROTOCOL.md).
 */
/* sendmsg of len bytes with n descriptors attached (1 .. 2 * GW_MAX_FDS:
 * tests send more than a receiver takes). Returns what sendmsg does. */
ssize_t gw_send_fds(int sock, const void *data, size_t len, const int *fds, uint32_t n, int flags);
/* recvmsg of up to len bytes; the descriptors that came with them go to
 * fds, at most `max` (*ret_n of them), the rest are closed. *ret_lost is set
 * when any was closed or dropped by the kernel. Returns what recvmsg does. */
ssize_t gw_recv_fds(int sock, void *buf, size_t len, int flags, int *fds, uint32_t max, uint32_t *ret_n,
		    bool *ret_lost);

/* Name of a Request body case, for error messages ("dispatch"). */
const char *gw_request_name(const Gpucmd__Request *req);

#endif
