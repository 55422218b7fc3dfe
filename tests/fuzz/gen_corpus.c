/*
 * gen_corpus.c — writes the seed corpus of fuzz_frames: small valid framed
 * requests packed with gw_pack, each behind the chunk-size prefix described
 * in frames_input.h.
 *
 *   cc -std=c17 -Wall -Wextra -Iproto -I<gen> tests/fuzz/gen_corpus.c \
 *     proto/wire.c <gen>/gpucmd.pb-c.c $(pkg-config --cflags --libs libprotobuf-c) \
 *     -o gen_corpus && ./gen_corpus tests/fuzz/corpus/frames
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpucmd.pb-c.h"
#include "wire.h"

#include "frames_input.h"

static const char *outdir;

static void die(const char *what)
{
	fprintf(stderr, "gen_corpus: %s\n", what);
	exit(1);
}

static void pack(struct gw_buf *b, Gpucmd__Request *req)
{
	if (gw_pack(b, &req->base, FRAMES_MAX_FRAME) < 0)
		die("gw_pack failed");
}

/* Writes <outdir>/<name>: flags, chunk sizes, then the frames. */
static void emit(const char *name, unsigned flags, const uint8_t *sizes, size_t nsizes,
		 const struct gw_buf *frames)
{
	if (nsizes < 1 || nsizes > FRAMES_NSIZES_MASK + 1)
		die("bad number of chunk sizes");
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", outdir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		die(strerror(errno));
	uint8_t head = (uint8_t)((flags & ~FRAMES_NSIZES_MASK) | (nsizes - 1));
	if (fwrite(&head, 1, 1, f) != 1 || fwrite(sizes, 1, nsizes, f) != nsizes ||
	    fwrite(frames->data, 1, frames->len, f) != frames->len || fclose(f) != 0)
		die("write failed");
}

/* One read of up to 256 bytes at a time. */
static const uint8_t big_reads[] = {0xff};

static void hello(struct gw_buf *b, uint64_t id)
{
	Gpucmd__Hello h = GPUCMD__HELLO__INIT;
	h.protocol_version = GPUCMD_PROTOCOL_VERSION;
	h.client_name = "gen_corpus";
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	r.id = id;
	r.body_case = GPUCMD__REQUEST__BODY_HELLO;
	r.hello = &h;
	pack(b, &r);
}

static void dispatch(struct gw_buf *b, uint64_t id)
{
	Gpucmd__Binding bind[3];
	Gpucmd__Binding *bp[3];
	for (unsigned i = 0; i < 3; i++) {
		bind[i] = (Gpucmd__Binding)GPUCMD__BINDING__INIT;
		bind[i].buffer = i + 1;
		bind[i].offset = 256u * i;
		bind[i].size = i == 2 ? 0 : 65536;
		bp[i] = &bind[i];
	}
	uint8_t push[16];
	for (unsigned i = 0; i < sizeof push; i++)
		push[i] = (uint8_t)i;
	Gpucmd__Dispatch d = GPUCMD__DISPATCH__INIT;
	d.session = 1;
	d.kernel = 2;
	d.n_bindings = 3;
	d.bindings = bp;
	d.push.data = push;
	d.push.len = sizeof push;
	d.groups_x = 256;
	d.groups_y = 1;
	d.groups_z = 1;
	d.flags = 1; /* GPUCMD_DISPATCH_BARRIER_BEFORE */
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	r.id = id;
	r.body_case = GPUCMD__REQUEST__BODY_DISPATCH;
	r.dispatch = &d;
	pack(b, &r);
}

static void commit(struct gw_buf *b, uint64_t id)
{
	Gpucmd__Commit c = GPUCMD__COMMIT__INIT;
	c.session = 1;
	c.mode = GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	c.has_label = 1;
	c.label = "step";
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	r.id = id;
	r.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	r.commit = &c;
	pack(b, &r);
}

static void buffer_write(struct gw_buf *b, uint64_t id, size_t len)
{
	uint8_t *data = malloc(len ? len : 1);
	if (!data)
		die("out of memory");
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
	w.buffer = 1;
	w.offset = 4096;
	w.data.data = data;
	w.data.len = len;
	w.last = 1;
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	r.id = id;
	r.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
	r.buffer_write = &w;
	pack(b, &r);
	free(data);
}

/* A buffer_write whose payload is exactly FRAMES_MAX_FRAME bytes. */
static void buffer_write_max(struct gw_buf *b, uint64_t id)
{
	for (size_t len = FRAMES_MAX_FRAME; len > 0; len--) {
		Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
		Gpucmd__Request r = GPUCMD__REQUEST__INIT;
		w.buffer = 1;
		w.offset = 4096;
		w.data.len = len;
		w.last = 1;
		r.id = id;
		r.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
		r.buffer_write = &w;
		if (gpucmd__request__get_packed_size(&r) == FRAMES_MAX_FRAME) {
			buffer_write(b, id, len);
			return;
		}
	}
	die("no buffer_write packs to exactly max_frame");
}

static void small_requests(struct gw_buf *b)
{
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;

	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = 1 << 20;
	bc.flags = 3;
	r.id = 20;
	r.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	r.buffer_create = &bc;
	pack(b, &r);

	Gpucmd__BufferRead br = GPUCMD__BUFFER_READ__INIT;
	br.buffer = 1;
	br.offset = 64;
	br.size = 128;
	r.id = 21;
	r.body_case = GPUCMD__REQUEST__BODY_BUFFER_READ;
	r.buffer_read = &br;
	pack(b, &r);

	Gpucmd__SessionOpen so = GPUCMD__SESSION_OPEN__INIT;
	so.label = "session-a";
	r.id = 22;
	r.body_case = GPUCMD__REQUEST__BODY_SESSION_OPEN;
	r.session_open = &so;
	pack(b, &r);

	Gpucmd__BeginStage bs = GPUCMD__BEGIN_STAGE__INIT;
	bs.session = 1;
	bs.label = "stage";
	r.id = 23;
	r.body_case = GPUCMD__REQUEST__BODY_BEGIN_STAGE;
	r.begin_stage = &bs;
	pack(b, &r);

	Gpucmd__KernelLookup kl = GPUCMD__KERNEL_LOOKUP__INIT;
	kl.name = "saxpy";
	r.id = 24;
	r.body_case = GPUCMD__REQUEST__BODY_KERNEL_LOOKUP;
	r.kernel_lookup = &kl;
	pack(b, &r);

	Gpucmd__BufferCopy cp = GPUCMD__BUFFER_COPY__INIT;
	cp.session = 1;
	cp.src = 1;
	cp.src_offset = 16;
	cp.dst = 2;
	cp.dst_offset = UINT64_MAX - 4;
	cp.size = 4096;
	r.id = 25;
	r.body_case = GPUCMD__REQUEST__BODY_BUFFER_COPY;
	r.buffer_copy = &cp;
	pack(b, &r);

	Gpucmd__BufferFill fl = GPUCMD__BUFFER_FILL__INIT;
	fl.session = 1;
	fl.buffer = 1;
	fl.offset = 8;
	fl.value = 0xdeadbeef;
	r.id = 26;
	r.body_case = GPUCMD__REQUEST__BODY_BUFFER_FILL;
	r.buffer_fill = &fl;
	pack(b, &r);

	Gpucmd__Residency rs = GPUCMD__RESIDENCY__INIT;
	rs.session = 1;
	rs.buffer = 1;
	rs.add = 1;
	r.id = 27;
	r.body_case = GPUCMD__REQUEST__BODY_RESIDENCY;
	r.residency = &rs;
	pack(b, &r);

	Gpucmd__MemoryQuery mq = GPUCMD__MEMORY_QUERY__INIT;
	r.id = 28;
	r.body_case = GPUCMD__REQUEST__BODY_MEMORY_QUERY;
	r.memory_query = &mq;
	pack(b, &r);

	Gpucmd__StatusQuery sq = GPUCMD__STATUS_QUERY__INIT;
	r.id = 30;
	r.body_case = GPUCMD__REQUEST__BODY_STATUS_QUERY;
	r.status_query = &sq;
	pack(b, &r);

	Gpucmd__SessionOpen sop = GPUCMD__SESSION_OPEN__INIT;
	sop.label = "high";
	sop.priority = GPUCMD__PRIORITY__PRIORITY_HIGH;
	r.id = 31;
	r.body_case = GPUCMD__REQUEST__BODY_SESSION_OPEN;
	r.session_open = &sop;
	pack(b, &r);

	Gpucmd__BufferCreateShared cs = GPUCMD__BUFFER_CREATE_SHARED__INIT;
	cs.size = 64u << 20;
	r.id = 29;
	r.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED;
	r.buffer_create_shared = &cs;
	pack(b, &r);
}

/* A kernel_register carrying a SPIR-V header and one OpCapability Shader. */
static void kernel_register(struct gw_buf *b, uint64_t id)
{
	static const uint32_t spirv[] = {0x07230203, 0x00010600, 0x00080001, 16, 0, 0x00020011, 1};
	Gpucmd__KernelRegister kr = GPUCMD__KERNEL_REGISTER__INIT;
	kr.name = "negate";
	kr.spirv.data = (uint8_t *)spirv;
	kr.spirv.len = sizeof(spirv);
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	r.id = id;
	r.body_case = GPUCMD__REQUEST__BODY_KERNEL_REGISTER;
	r.kernel_register = &kr;
	pack(b, &r);
}

static void session_lifecycle(struct gw_buf *b)
{
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	Gpucmd__Info info = GPUCMD__INFO__INIT;
	Gpucmd__KernelList kl = GPUCMD__KERNEL_LIST__INIT;
	Gpucmd__Ping ping = GPUCMD__PING__INIT;
	Gpucmd__ResetStage rs = GPUCMD__RESET_STAGE__INIT;
	Gpucmd__SessionQuery sq = GPUCMD__SESSION_QUERY__INIT;
	Gpucmd__SessionClose sc = GPUCMD__SESSION_CLOSE__INIT;
	Gpucmd__BufferFree bf = GPUCMD__BUFFER_FREE__INIT;
	rs.session = sq.session = sc.session = 1;
	bf.buffer = 1;

	r.id = 30; r.body_case = GPUCMD__REQUEST__BODY_INFO; r.info = &info; pack(b, &r);
	r.id = 31; r.body_case = GPUCMD__REQUEST__BODY_KERNEL_LIST; r.kernel_list = &kl; pack(b, &r);
	r.id = 32; r.body_case = GPUCMD__REQUEST__BODY_PING; r.ping = &ping; pack(b, &r);
	r.id = 33; r.body_case = GPUCMD__REQUEST__BODY_RESET_STAGE; r.reset_stage = &rs; pack(b, &r);
	r.id = 34; r.body_case = GPUCMD__REQUEST__BODY_SESSION_QUERY; r.session_query = &sq; pack(b, &r);
	r.id = 35; r.body_case = GPUCMD__REQUEST__BODY_SESSION_CLOSE; r.session_close = &sc; pack(b, &r);
	r.id = 36; r.body_case = GPUCMD__REQUEST__BODY_BUFFER_FREE; r.buffer_free = &bf; pack(b, &r);
}

/* Capture, a replay with a push override and a rebind, export, import,
 * free: every graph request of docs/ENCODER.md. */
static void graph_requests(struct gw_buf *b)
{
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	Gpucmd__CaptureBegin cb = GPUCMD__CAPTURE_BEGIN__INIT;
	Gpucmd__CaptureEnd ce = GPUCMD__CAPTURE_END__INIT;
	cb.session = ce.session = 1;
	r.id = 40; r.body_case = GPUCMD__REQUEST__BODY_CAPTURE_BEGIN; r.capture_begin = &cb; pack(b, &r);
	dispatch(b, 41);
	r.id = 42; r.body_case = GPUCMD__REQUEST__BODY_CAPTURE_END; r.capture_end = &ce; pack(b, &r);

	uint32_t n = 256;
	Gpucmd__GraphPush gp = GPUCMD__GRAPH_PUSH__INIT, *gpp = &gp;
	gp.node = 0;
	gp.push.data = (uint8_t *)&n;
	gp.push.len = sizeof(n);
	Gpucmd__GraphRebind rb = GPUCMD__GRAPH_REBIND__INIT, *rbp = &rb;
	rb.slot = 1;
	rb.buffer = 3;
	Gpucmd__GraphReplay gr = GPUCMD__GRAPH_REPLAY__INIT;
	gr.session = 1;
	gr.graph = 1;
	gr.n_push = 1;
	gr.push = &gpp;
	gr.n_rebind = 1;
	gr.rebind = &rbp;
	r.id = 43; r.body_case = GPUCMD__REQUEST__BODY_GRAPH_REPLAY; r.graph_replay = &gr; pack(b, &r);

	Gpucmd__GraphExport ge = GPUCMD__GRAPH_EXPORT__INIT;
	ge.graph = 1;
	r.id = 44; r.body_case = GPUCMD__REQUEST__BODY_GRAPH_EXPORT; r.graph_export = &ge; pack(b, &r);
	uint8_t tok[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	Gpucmd__GraphImport gi = GPUCMD__GRAPH_IMPORT__INIT;
	gi.token.data = tok;
	gi.token.len = sizeof(tok);
	r.id = 45; r.body_case = GPUCMD__REQUEST__BODY_GRAPH_IMPORT; r.graph_import = &gi; pack(b, &r);
	Gpucmd__GraphFree gf = GPUCMD__GRAPH_FREE__INIT;
	gf.graph = 1;
	r.id = 46; r.body_case = GPUCMD__REQUEST__BODY_GRAPH_FREE; r.graph_free = &gf; pack(b, &r);
}

/* Profiling on, a fetch by handle and one by label (the `gpucmd trace`
 * form). */
static void profile_requests(struct gw_buf *b)
{
	Gpucmd__Request r = GPUCMD__REQUEST__INIT;
	Gpucmd__Profile p = GPUCMD__PROFILE__INIT;
	p.session = 1;
	p.enable = 1;
	r.id = 50; r.body_case = GPUCMD__REQUEST__BODY_PROFILE; r.profile = &p; pack(b, &r);
	Gpucmd__ProfileFetch f = GPUCMD__PROFILE_FETCH__INIT;
	f.session = 1;
	f.clear = 1;
	r.id = 51; r.body_case = GPUCMD__REQUEST__BODY_PROFILE_FETCH; r.profile_fetch = &f; pack(b, &r);
	f.session = 0;
	f.label = "trainer";
	r.id = 52; pack(b, &r);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	struct gw_buf b = {0};

	hello(&b, 1);
	emit("01-hello", 0, big_reads, 1, &b);
	b.len = 0;

	dispatch(&b, 2);
	emit("02-dispatch-3-bindings-push", 0, big_reads, 1, &b);
	b.len = 0;

	commit(&b, 3);
	emit("03-commit-and-wait", 0, big_reads, 1, &b);
	b.len = 0;

	buffer_write(&b, 4, 64);
	emit("04-buffer-write-64", 0, big_reads, 1, &b);
	b.len = 0;

	hello(&b, 5);
	dispatch(&b, 6);
	emit("05-two-frames-back-to-back", 0, big_reads, 1, &b);
	b.len = 0;

	/* Same two frames, one byte per read. */
	hello(&b, 7);
	commit(&b, 8);
	emit("06-two-frames-byte-by-byte", 0, (const uint8_t[]){0}, 1, &b);
	b.len = 0;

	/* Reads of 3, 17 and 5 bytes, every second frame deferred. */
	dispatch(&b, 9);
	commit(&b, 10);
	dispatch(&b, 11);
	commit(&b, 12);
	emit("07-stream-deferred", FRAMES_DEFER, (const uint8_t[]){2, 16, 4}, 3, &b);
	b.len = 0;

	small_requests(&b);
	emit("08-create-read-open-stage-lookup", FRAMES_DEFER | FRAMES_CONSUME_STALE,
	     (const uint8_t[]){6, 40}, 2, &b);
	b.len = 0;

	session_lifecycle(&b);
	emit("09-info-list-ping-reset-query-close-free", 0, (const uint8_t[]){9}, 1, &b);
	b.len = 0;

	/* An empty request (bare header) between two commits. */
	commit(&b, 13);
	Gpucmd__Request empty = GPUCMD__REQUEST__INIT;
	pack(&b, &empty);
	commit(&b, 14);
	emit("10-empty-frame-between-commits", 0, big_reads, 1, &b);
	b.len = 0;

	buffer_write_max(&b, 15);
	emit("11-buffer-write-exactly-max-frame", 0, (const uint8_t[]){0xff, 0x7f}, 2, &b);
	b.len = 0;

	kernel_register(&b, 16);
	dispatch(&b, 17);
	Gpucmd__KernelUnregister ku = GPUCMD__KERNEL_UNREGISTER__INIT;
	ku.kernel = 65537;
	Gpucmd__Request unreg = GPUCMD__REQUEST__INIT;
	unreg.id = 18;
	unreg.body_case = GPUCMD__REQUEST__BODY_KERNEL_UNREGISTER;
	unreg.kernel_unregister = &ku;
	pack(&b, &unreg);
	emit("12-kernel-register-dispatch-unregister", 0, (const uint8_t[]){31}, 1, &b);
	b.len = 0;

	graph_requests(&b);
	emit("13-capture-replay-export-import-free", FRAMES_DEFER, (const uint8_t[]){11, 3}, 2, &b);
	b.len = 0;

	profile_requests(&b);
	emit("14-profile-and-fetch", 0, (const uint8_t[]){5}, 1, &b);
	b.len = 0;

	gw_buf_finish(&b);
	return 0;
}
