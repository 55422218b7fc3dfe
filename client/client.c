/*
 * client.c — libgpucmd (see gpucmd.h). A blocking Unix socket, a send
 * buffer that streamed requests are appended to, and a frame reader for
 * replies. Round trips flush the send buffer and read until the reply with
 * their id arrives; a reply with id 0 is the daemon saying why it is
 * closing the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gpucmd.h"
#include "utf8.h"
#include "wire.h"

#define FLUSH_AT (256u << 10)  /* streamed bytes held before a write */
#define FRAME_SLACK 256u      /* room for the fields around inline data */

struct gpucmd_client {
	int fd;
	bool dead;
	uint64_t next_id;
	uint32_t max_frame;
	struct gw_buf out;
	struct gw_reader in;
	struct gpucmd_info hello;   /* the handshake's part of gpucmd_info */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char err[512];
	uint64_t spin_ns;           /* poll for a reply this long before blocking */
	int rx_fd;                  /* the descriptor the last fence_fd reply brought, -1: none */
	struct shared_map {          /* shared buffers' mappings, unmapped at free */
		gpucmd_buffer buffer;
		void *ptr;
		size_t len;
	} *shared;
	size_t n_shared, cap_shared;
};

static _Thread_local char connect_error[512];

static int fail(gpucmd_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(gpucmd_client *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c ? c->err : connect_error, c ? sizeof(c->err) : sizeof(connect_error), fmt, ap);
	va_end(ap);
	return code;
}

const char *gpucmd_last_error(const gpucmd_client *c)
{
	return c ? c->err : connect_error;
}

const char *gpucmd_strerror(int code)
{
	switch (code) {
	case GPUCMD_E_PROTOCOL: return "protocol error";
	case GPUCMD_E_VERSION: return "protocol version mismatch";
	case GPUCMD_E_DEVICE_LOST: return "GPU device lost";
	case GPUCMD_E_VULKAN: return "Vulkan error in the daemon";
	case GPUCMD_E_DISCONNECTED: return "disconnected from gpucmdd";
	case GPUCMD_E_FENCE_ABANDONED: return "fence abandoned";
	default: return code < 0 ? strerror(-code) : "success";
	}
}

const char *gpucmd_socket_path(const gpucmd_client *c)
{
	return c->path;
}

const char *gpucmd_version(void)
{
	return GPUCMD_VERSION;
}

int gpucmd_default_socket(char *buf, size_t len)
{
	const char *env = getenv("GPUCMD_SOCKET");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
	} else {
		/* A user's own daemon first, then the system service. */
		struct stat st;
		n = -1;
		if (xdg && *xdg) {
			n = snprintf(buf, len, "%s/gpucmd.sock", xdg);
			if (n >= 0 && (size_t)n < len && stat(buf, &st) != 0)
				n = -1;
		}
		if (n < 0)
			n = snprintf(buf, len, "/run/gpucmd/gpucmd.sock");
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* recv that keeps a descriptor coming with the bytes (only a fence_fd
 * reply carries one, and only one such call is ever waiting). */
static ssize_t recv_fd(gpucmd_client *c, void *buf, size_t n, int flags)
{
	int fd;
	uint32_t k;
	bool lost;
	ssize_t got = gw_recv_fds(c->fd, buf, n, flags, &fd, 1, &k, &lost);
	if (k) {
		if (c->rx_fd >= 0)
			close(c->rx_fd);
		c->rx_fd = fd;
	}
	return got;
}

/* recv for a reply: polls the socket for spin_ns first (the daemon's
 * reply_poll_us, or GPUCMD_SPIN_US), so that a reply arriving within
 * microseconds is read without a wake-up of this thread. */
static ssize_t recv_wait(gpucmd_client *c, void *buf, size_t n)
{
	if (c->spin_ns) {
		uint64_t t0 = now_ns();
		do {
			ssize_t got = recv_fd(c, buf, n, MSG_DONTWAIT);
			if (got >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				return got;
		} while (now_ns() - t0 < c->spin_ns);
	}
	return recv_fd(c, buf, n, 0);
}

static int lost(gpucmd_client *c, const char *what)
{
	c->dead = true;
	return fail(c, GPUCMD_E_DISCONNECTED, "connection to gpucmdd at %s lost while %s", c->path, what);
}

/* A failed send most often means that the daemon closed the connection;
 * it may have said why in a last reply (id 0) still waiting to be read. */
static int lost_sending(gpucmd_client *c)
{
	uint8_t *room;
	size_t n;
	ssize_t got;
	while (gw_reader_space(&c->in, 64u << 10, &room, &n) == 0 && (got = recv(c->fd, room, n, MSG_DONTWAIT)) > 0)
		gw_reader_commit(&c->in, (size_t)got);
	const uint8_t *p;
	size_t len;
	while (gw_reader_peek(&c->in, &p, &len) == 1) {
		Gpucmd__Reply *rep = gpucmd__reply__unpack(NULL, len, p);
		gw_reader_consume(&c->in);
		if (rep && rep->id == 0) {
			c->dead = true;
			int r = fail(c, rep->status ? rep->status : GPUCMD_E_DISCONNECTED,
				     "gpucmdd closed the connection: %s", rep->error);
			gpucmd__reply__free_unpacked(rep, NULL);
			return r;
		}
		if (rep)
			gpucmd__reply__free_unpacked(rep, NULL);
	}
	return lost(c, "sending");
}

int gpucmd_flush(gpucmd_client *c)
{
	if (c->dead)
		return fail(c, GPUCMD_E_DISCONNECTED, "the connection to gpucmdd is closed");
	size_t off = 0;
	while (off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + off, c->out.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->out.len = 0;
			return lost_sending(c);
		}
		off += (size_t)n;
	}
	c->out.len = 0;
	return 0;
}

/* Appends a request; a streamed request is sent once enough piled up. */
static int queue(gpucmd_client *c, Gpucmd__Request *req)
{
	if (c->dead)
		return fail(c, GPUCMD_E_DISCONNECTED, "the connection to gpucmdd is closed");
	req->id = ++c->next_id;
	int r = gw_pack(&c->out, &req->base, c->max_frame);
	if (r == -EMSGSIZE)
		return fail(c, r, "%s request larger than the daemon's frame limit of %u bytes", gw_request_name(req),
			    c->max_frame);
	if (r < 0)
		return fail(c, r, "out of memory");
	return c->out.len >= FLUSH_AT ? gpucmd_flush(c) : 0;
}

/* Reads frames until the reply to request `id`. *ret is owned by the
 * caller (gpucmd__reply__free_unpacked). */
static int await(gpucmd_client *c, uint64_t id, Gpucmd__Reply **ret)
{
	for (;;) {
		const uint8_t *p;
		size_t len;
		int r = gw_reader_peek(&c->in, &p, &len);
		if (r < 0) {
			c->dead = true;
			return fail(c, GPUCMD_E_PROTOCOL, "reply frame larger than %u bytes", c->max_frame);
		}
		if (r == 1) {
			Gpucmd__Reply *rep = gpucmd__reply__unpack(NULL, len, p);
			gw_reader_consume(&c->in);
			if (!rep) {
				c->dead = true;
				return fail(c, GPUCMD_E_PROTOCOL, "undecodable reply from gpucmdd");
			}
			if (rep->id == 0) {
				c->dead = true;
				r = fail(c, rep->status ? rep->status : GPUCMD_E_DISCONNECTED,
					 "gpucmdd closed the connection: %s", rep->error);
				gpucmd__reply__free_unpacked(rep, NULL);
				return r;
			}
			if (rep->id != id) {
				gpucmd__reply__free_unpacked(rep, NULL);
				continue; /* an answer to a request we gave up on */
			}
			*ret = rep;
			return 0;
		}
		uint8_t *room;
		size_t n;
		if (gw_reader_space(&c->in, 64u << 10, &room, &n) < 0)
			return fail(c, -ENOMEM, "out of memory");
		ssize_t got = recv_wait(c, room, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return lost(c, "waiting for a reply");
		gw_reader_commit(&c->in, (size_t)got);
	}
}

/* Sends req and waits for its reply. A refusal becomes the return value and
 * the last error; on success *ret (if wanted) holds the reply. */
static int call(gpucmd_client *c, Gpucmd__Request *req, Gpucmd__Reply **ret)
{
	Gpucmd__Reply *rep = NULL;
	int r = queue(c, req);
	if (r == 0)
		r = gpucmd_flush(c);
	if (r == 0)
		r = await(c, req->id, &rep);
	if (r < 0)
		return r;
	if (rep->status < 0) {
		r = rep->status;
		if (rep->failed_request && rep->failed_request != req->id)
			fail(c, r, "%s (failed request %llu)", rep->error, (unsigned long long)rep->failed_request);
		else
			fail(c, r, "%s", rep->error);
		gpucmd__reply__free_unpacked(rep, NULL);
		return r;
	}
	c->err[0] = '\0';
	if (ret)
		*ret = rep;
	else
		gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

/* call() for requests answered with one kind of reply body. */
static int call_expect(gpucmd_client *c, Gpucmd__Request *req, Gpucmd__Reply__BodyCase body, Gpucmd__Reply **ret)
{
	int r = call(c, req, ret);
	if (r == 0 && (*ret)->body_case != body) {
		gpucmd__reply__free_unpacked(*ret, NULL);
		return fail(c, GPUCMD_E_PROTOCOL, "%s: unexpected reply from gpucmdd", gw_request_name(req));
	}
	return r;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

static int handshake(gpucmd_client *c)
{
	Gpucmd__Hello h = GPUCMD__HELLO__INIT;
	h.protocol_version = GW_PROTOCOL_VERSION;
	h.client_name = program_invocation_short_name;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_HELLO;
	req.hello = &h;
	Gpucmd__Reply *rep;
	int r = call(c, &req, &rep);
	if (r < 0)
		return r;
	if (rep->body_case != GPUCMD__REPLY__BODY_HELLO || rep->hello->max_frame < GW_MIN_MAX_FRAME) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return fail(c, GPUCMD_E_PROTOCOL, "gpucmdd answered the handshake with something else");
	}
	Gpucmd__HelloReply *hr = rep->hello;
	c->max_frame = hr->max_frame;
	c->in.max_frame = hr->max_frame;
	struct gpucmd_info *i = &c->hello;
	i->max_frame = hr->max_frame;
	i->max_buffer_size = hr->max_buffer_size;
	i->max_groups[0] = hr->max_groups_x;
	i->max_groups[1] = hr->max_groups_y;
	i->max_groups[2] = hr->max_groups_z;
	i->storage_offset_alignment = hr->storage_offset_alignment;
	i->shared_alignment = hr->shared_alignment;
	i->reply_poll_us = hr->reply_poll_us;
	const char *spin = getenv("GPUCMD_SPIN_US");
	c->spin_ns = (spin && *spin ? strtoull(spin, NULL, 10) : hr->reply_poll_us) * 1000u;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

/*
 * What a person can do about a failed connect, for every application that
 * links the library: who may connect when permission is refused (the
 * socket's group, from its mode), else how to start the daemon or point at
 * another one.
 */
static void connect_advice(const char *path, int err, char *buf, size_t len)
{
	struct stat st;
	if (err != EACCES && err != EPERM) {
		snprintf(buf, len, "is gpucmdd running? `systemctl start gpucmdd.socket`, `systemctl --user start "
			 "gpucmdd.socket` or `gpucmdd`; or set GPUCMD_SOCKET to its socket");
		return;
	}
	char grbuf[4096];
	struct group gr, *g = NULL;
	if (stat(path, &st) != 0 || !(st.st_mode & S_IWGRP)) {
		snprintf(buf, len, "only the daemon's own user may connect; ask its administrator for access");
		return;
	}
	char name[64];
	if (getgrgid_r(st.st_gid, &gr, grbuf, sizeof(grbuf), &g) == 0 && g)
		snprintf(name, sizeof(name), "%s", g->gr_name);
	else
		snprintf(name, sizeof(name), "%u", (unsigned)st.st_gid);
	snprintf(buf, len, "members of group '%s' may connect: an administrator adds you with "
		 "`usermod -aG %s USER`, then log in again", name, name);
}

gpucmd_client *gpucmd_connect(const char *path)
{
	gpucmd_client *c = calloc(1, sizeof(*c));
	if (!c) {
		fail(NULL, -ENOMEM, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->rx_fd = -1;
	c->max_frame = GW_DEFAULT_MAX_FRAME;
	gw_reader_init(&c->in, GW_DEFAULT_MAX_FRAME);
	int r = path ? (strlen(path) < sizeof(c->path) ? 0 : -ENAMETOOLONG)
		     : gpucmd_default_socket(c->path, sizeof(c->path));
	if (r < 0) {
		fail(NULL, r, "socket path too long");
		goto fail;
	}
	if (path)
		strcpy(c->path, path);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		char advice[300];
		connect_advice(c->path, err, advice, sizeof(advice));
		fail(NULL, -err, "cannot connect to gpucmdd at %s: %s (%s)", c->path, strerror(err), advice);
		goto fail;
	}
	if (handshake(c) < 0) {
		fail(NULL, GPUCMD_E_PROTOCOL, "handshake with gpucmdd at %s failed: %s", c->path, c->err);
		goto fail;
	}
	return c;
fail:
	gpucmd_disconnect(c);
	return NULL;
}

void gpucmd_disconnect(gpucmd_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		if (!c->dead)
			gpucmd_flush(c);
		close(c->fd);
	}
	if (c->rx_fd >= 0)
		close(c->rx_fd);
	for (size_t i = 0; i < c->n_shared; i++)
		munmap(c->shared[i].ptr, c->shared[i].len);
	free(c->shared);
	gw_buf_finish(&c->out);
	gw_reader_finish(&c->in);
	free(c);
}

int gpucmd_ping(gpucmd_client *c)
{
	Gpucmd__Ping p = GPUCMD__PING__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_PING;
	req.ping = &p;
	return call(c, &req, NULL);
}

int gpucmd_evict(gpucmd_client *c, uint32_t client, const char *reason)
{
	Gpucmd__ClientEvict e = GPUCMD__CLIENT_EVICT__INIT;
	e.client = client;
	e.reason = (char *)(reason ? reason : "");
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_CLIENT_EVICT;
	req.client_evict = &e;
	return call(c, &req, NULL);
}

static uint32_t copy_heaps(struct gpucmd_heap *dst, Gpucmd__Heap **src, size_t n)
{
	if (n > GPUCMD_MAX_HEAPS)
		n = GPUCMD_MAX_HEAPS;
	for (size_t k = 0; k < n; k++)
		dst[k] = (struct gpucmd_heap){
			.size = src[k]->size,
			.device_local = src[k]->device_local,
			.budget = src[k]->budget,
			.usage = src[k]->usage,
			.allocated = src[k]->allocated,
			.used = src[k]->used,
		};
	return (uint32_t)n;
}

int gpucmd_info(gpucmd_client *c, struct gpucmd_info *ret)
{
	Gpucmd__Info in = GPUCMD__INFO__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_INFO;
	req.info = &in;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_INFO, &rep);
	if (r < 0)
		return r;
	Gpucmd__InfoReply *ir = rep->info;
	struct gpucmd_info i = c->hello;
	copy_str(i.daemon_version, sizeof(i.daemon_version), ir->daemon_version);
	i.protocol_version = ir->protocol_version;
	copy_str(i.device_name, sizeof(i.device_name), ir->device_name);
	i.vendor_id = ir->vendor_id;
	i.device_id = ir->device_id;
	copy_str(i.device_type, sizeof(i.device_type), ir->device_type);
	copy_str(i.driver_name, sizeof(i.driver_name), ir->driver_name);
	copy_str(i.driver_info, sizeof(i.driver_info), ir->driver_info);
	copy_str(i.api_version, sizeof(i.api_version), ir->api_version);
	for (size_t k = 0; k < ir->n_queue_families && k < GPUCMD_MAX_QUEUE_FAMILIES; k++) {
		i.queue_families[k].index = ir->queue_families[k]->index;
		i.queue_families[k].count = ir->queue_families[k]->count;
		i.queue_families[k].flags = ir->queue_families[k]->flags;
		i.n_queue_families = (uint32_t)k + 1;
	}
	i.queue_family = ir->queue_family;
	i.n_heaps = copy_heaps(i.heaps, ir->heaps, ir->n_heaps);
	i.validation = ir->validation;
	i.validation_messages = ir->validation_messages;
	i.clients = ir->clients;
	i.live_buffers = ir->live_buffers;
	i.live_sessions = ir->live_sessions;
	i.submissions = ir->submissions;
	i.dispatches = ir->dispatches;
	i.barriers = ir->barriers;
	i.barriers_elided = ir->barriers_elided;
	i.concurrent_groups = ir->concurrent_groups;
	i.gpu_ns = ir->gpu_ns;
	i.timestamp_valid_bits = ir->timestamp_valid_bits;
	i.timestamp_period = ir->timestamp_period;
	*ret = i;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

static void kernel_info(const Gpucmd__Kernel *k, struct gpucmd_kernel_info *ki)
{
	memset(ki, 0, sizeof(*ki));
	ki->id = k->id;
	copy_str(ki->name, sizeof(ki->name), k->name);
	for (size_t i = 0; i < k->n_bindings && i < GPUCMD_MAX_BINDINGS; i++) {
		ki->bindings[i].binding = k->bindings[i]->binding;
		ki->bindings[i].read_only = k->bindings[i]->read_only;
		ki->bindings[i].write_only = k->bindings[i]->write_only;
		ki->bindings[i].min_size = k->bindings[i]->min_size;
		ki->bindings[i].uniform = k->bindings[i]->uniform;
		ki->bindings[i].element = (uint8_t)(k->bindings[i]->element < GPUCMD_MAX_BINDINGS ? k->bindings[i]->element : 0);
		ki->n_bindings = (uint32_t)i + 1;
	}
	ki->client = k->client;
	copy_str(ki->entry_point, sizeof(ki->entry_point), k->entry_point);
	copy_str(ki->variant, sizeof(ki->variant), k->variant);
	ki->push_size = k->push_size;
	ki->local_size[0] = k->local_x;
	ki->local_size[1] = k->local_y;
	ki->local_size[2] = k->local_z;
}

int gpucmd_kernel_find(gpucmd_client *c, const char *name, struct gpucmd_kernel_info *ret)
{
	if (!name || !ret)
		return fail(c, -EINVAL, "kernel_find: name and ret_info are required");
	Gpucmd__KernelLookup kl = GPUCMD__KERNEL_LOOKUP__INIT;
	kl.name = (char *)name;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_KERNEL_LOOKUP;
	req.kernel_lookup = &kl;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_KERNEL, &rep);
	if (r < 0)
		return r;
	kernel_info(rep->kernel, ret);
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}

int gpucmd_kernel_list(gpucmd_client *c, struct gpucmd_kernel_info **ret_list, size_t *ret_count)
{
	Gpucmd__KernelList kl = GPUCMD__KERNEL_LIST__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_KERNEL_LIST;
	req.kernel_list = &kl;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_KERNEL_LIST, &rep);
	if (r < 0)
		return r;
	size_t n = rep->kernel_list->n_kernels;
	struct gpucmd_kernel_info *list = calloc(n ? n : 1, sizeof(*list));
	if (!list) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return fail(c, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		kernel_info(rep->kernel_list->kernels[i], &list[i]);
	gpucmd__reply__free_unpacked(rep, NULL);
	*ret_list = list;
	*ret_count = n;
	return 0;
}

/* The value's bits, zero-extended from its width, as the daemon takes them. */
static uint64_t spec_bits(const struct gpucmd_spec_constant *k)
{
	switch (k->type) {
	case GPUCMD_SPEC_BOOL: return k->value.b ? 1 : 0;
	case GPUCMD_SPEC_INT8: return (uint8_t)k->value.i8;
	case GPUCMD_SPEC_UINT8: return k->value.u8;
	case GPUCMD_SPEC_INT16: return (uint16_t)k->value.i16;
	case GPUCMD_SPEC_UINT16: return k->value.u16;
	case GPUCMD_SPEC_FLOAT16: return k->value.f16;
	case GPUCMD_SPEC_INT32: return (uint32_t)k->value.i32;
	case GPUCMD_SPEC_UINT32: return k->value.u32;
	case GPUCMD_SPEC_FLOAT32: {
		uint32_t u;
		memcpy(&u, &k->value.f32, 4);
		return u;
	}
	default: return k->value.u64; /* 64-bit kinds; the daemon refuses an unknown type */
	}
}

int gpucmd_kernel_register_with(gpucmd_client *c, const char *name, const void *spirv, size_t size,
				const struct gpucmd_kernel_options *opts, struct gpucmd_kernel_info *ret)
{
	if (!name || (!spirv && size))
		return fail(c, -EINVAL, "kernel_register: name and spirv are required");
	uint32_t n = opts ? opts->n_constants : 0;
	if (n > 64)
		return fail(c, -E2BIG, "kernel_register '%s': %u specialization constants, at most 64", name, n);
	if (n && !opts->constants)
		return fail(c, -EINVAL, "kernel_register '%s': n_constants without constants", name);
	Gpucmd__SpecConstant sc[64], *scp[64];
	for (uint32_t i = 0; i < n; i++) {
		sc[i] = (Gpucmd__SpecConstant)GPUCMD__SPEC_CONSTANT__INIT;
		sc[i].id = opts->constants[i].id;
		sc[i].type = (uint32_t)opts->constants[i].type;
		sc[i].bits = spec_bits(&opts->constants[i]);
		scp[i] = &sc[i];
	}
	Gpucmd__KernelRegister kr = GPUCMD__KERNEL_REGISTER__INIT;
	kr.name = (char *)name;
	kr.spirv.data = (uint8_t *)spirv;
	kr.spirv.len = size;
	kr.n_constants = n;
	kr.constants = scp;
	kr.subgroup_size = opts ? opts->required_subgroup_size : 0;
	kr.full_subgroups = opts && opts->full_subgroups;
	kr.standard = (char *)(opts && opts->standard ? opts->standard : "");
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_KERNEL_REGISTER;
	req.kernel_register = &kr;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_KERNEL_REGISTERED, &rep);
	if (r < 0)
		return r;
	if (!rep->kernel_registered->kernel) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return fail(c, GPUCMD_E_PROTOCOL, "kernel_register: the reply names no kernel");
	}
	if (ret)
		kernel_info(rep->kernel_registered->kernel, ret);
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_kernel_register(gpucmd_client *c, const char *name, const void *spirv, size_t size,
			   struct gpucmd_kernel_info *ret)
{
	return gpucmd_kernel_register_with(c, name, spirv, size, NULL, ret);
}

int gpucmd_kernel_unregister(gpucmd_client *c, gpucmd_kernel kernel)
{
	Gpucmd__KernelUnregister ku = GPUCMD__KERNEL_UNREGISTER__INIT;
	ku.kernel = kernel;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_KERNEL_UNREGISTER;
	req.kernel_unregister = &ku;
	return call(c, &req, NULL);
}

int gpucmd_buffer_create(gpucmd_client *c, uint64_t size, uint32_t flags, gpucmd_buffer *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "buffer_create: ret_buffer is required");
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = size;
	bc.flags = flags;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE;
	req.buffer_create = &bc;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_BUFFER_CREATED, &rep);
	if (r < 0)
		return r;
	*ret = rep->buffer_created->buffer;
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}

int gpucmd_buffer_write(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, const void *data, size_t size)
{
	if (!data && size)
		return fail(c, -EINVAL, "buffer_write: data is NULL");
	if (offset > UINT64_MAX - size)
		return fail(c, -ERANGE, "buffer_write: offset %llu + size %zu overflows", (unsigned long long)offset, size);
	const size_t chunk = c->max_frame - FRAME_SLACK;
	size_t done = 0;
	do {
		size_t n = size - done < chunk ? size - done : chunk;
		Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
		w.buffer = buffer;
		w.offset = offset + done;
		w.data.data = (uint8_t *)data + done;
		w.data.len = n;
		w.last = done + n == size;
		Gpucmd__Request req = GPUCMD__REQUEST__INIT;
		req.body_case = GPUCMD__REQUEST__BODY_BUFFER_WRITE;
		req.buffer_write = &w;
		int r = w.last ? call(c, &req, NULL) : queue(c, &req);
		if (r < 0)
			return r;
		done += n;
	} while (done < size);
	return 0;
}

int gpucmd_buffer_read(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, void *data, size_t size)
{
	if (!data && size)
		return fail(c, -EINVAL, "buffer_read: data is NULL");
	if (offset > UINT64_MAX - size)
		return fail(c, -ERANGE, "buffer_read: offset %llu + size %zu overflows", (unsigned long long)offset, size);
	const size_t chunk = c->max_frame - FRAME_SLACK;
	size_t done = 0;
	do {
		size_t n = size - done < chunk ? size - done : chunk;
		Gpucmd__BufferRead rd = GPUCMD__BUFFER_READ__INIT;
		rd.buffer = buffer;
		rd.offset = offset + done;
		rd.size = n;
		Gpucmd__Request req = GPUCMD__REQUEST__INIT;
		req.body_case = GPUCMD__REQUEST__BODY_BUFFER_READ;
		req.buffer_read = &rd;
		Gpucmd__Reply *rep;
		int r = call(c, &req, &rep);
		if (r < 0)
			return r;
		if (rep->body_case != GPUCMD__REPLY__BODY_BUFFER_DATA || rep->buffer_data->data.len != n) {
			gpucmd__reply__free_unpacked(rep, NULL);
			return fail(c, GPUCMD_E_PROTOCOL, "buffer_read: reply does not hold the %zu bytes asked for", n);
		}
		memcpy((uint8_t *)data + done, rep->buffer_data->data.data, n);
		gpucmd__reply__free_unpacked(rep, NULL);
		done += n;
	} while (done < size);
	return 0;
}

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
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_COPY;
	req.buffer_copy = &cp;
	return queue(c, &req);
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
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_FILL;
	req.buffer_fill = &f;
	return queue(c, &req);
}

static int residency(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer, bool add)
{
	Gpucmd__Residency rs = GPUCMD__RESIDENCY__INIT;
	rs.session = s;
	rs.buffer = buffer;
	rs.add = add;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_RESIDENCY;
	req.residency = &rs;
	return queue(c, &req);
}

int gpucmd_residency_add(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer)
{
	return residency(c, s, buffer, true);
}

int gpucmd_residency_remove(gpucmd_client *c, gpucmd_session s, gpucmd_buffer buffer)
{
	return residency(c, s, buffer, false);
}

static void copy_usage(struct gpucmd_memory_usage *dst, const Gpucmd__ClientUsage *src)
{
	if (!src) {
		*dst = (struct gpucmd_memory_usage){0};
		return;
	}
	*dst = (struct gpucmd_memory_usage){
		.client = src->client,
		.pid = src->pid,
		.uid = src->uid,
		.bytes = src->bytes,
		.buffers = src->buffers,
		.peak = src->peak,
		.resident_buffers = src->resident_buffers,
		.resident_bytes = src->resident_bytes,
		.limit = src->limit,
		.gpu_ns = src->gpu_ns,
	};
	copy_str(dst->name, sizeof(dst->name), src->name);
}

int gpucmd_memory_report(gpucmd_client *c, struct gpucmd_memory_report *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "memory_report: ret_report is required");
	Gpucmd__MemoryQuery q = GPUCMD__MEMORY_QUERY__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_MEMORY_QUERY;
	req.memory_query = &q;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_MEMORY, &rep);
	if (r < 0)
		return r;
	Gpucmd__MemoryReport *mr = rep->memory;
	*ret = (struct gpucmd_memory_report){
		.device_allocations = mr->device_allocations,
		.max_allocations = mr->max_allocations,
		.live_buffers = mr->live_buffers,
		.resident_buffers = mr->resident_buffers,
	};
	ret->n_heaps = copy_heaps(ret->heaps, mr->heaps, mr->n_heaps);
	copy_usage(&ret->self, mr->self);
	copy_usage(&ret->user, mr->user);
	ret->clients = calloc(mr->n_clients ? mr->n_clients : 1, sizeof(*ret->clients));
	if (!ret->clients) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return fail(c, -ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < mr->n_clients; k++)
		copy_usage(&ret->clients[k], mr->clients[k]);
	ret->n_clients = mr->n_clients;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

void gpucmd_status_free(struct gpucmd_status *st)
{
	for (size_t i = 0; st && st->client_list && i < st->n_clients; i++)
		free(st->client_list[i].sessions);
	if (st) {
		free(st->client_list);
		st->client_list = NULL;
		st->n_clients = 0;
	}
}

int gpucmd_status(gpucmd_client *c, struct gpucmd_status *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "status: ret_status is required");
	Gpucmd__StatusQuery q = GPUCMD__STATUS_QUERY__INIT;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_STATUS_QUERY;
	req.status_query = &q;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_STATUS_REPLY, &rep);
	if (r < 0)
		return r;
	Gpucmd__StatusReply *sr = rep->status_reply;
	*ret = (struct gpucmd_status){
		.uptime_ms = sr->uptime_ms,
		.clients = sr->clients,
		.live_sessions = sr->live_sessions,
		.live_buffers = sr->live_buffers,
		.submissions = sr->submissions,
		.dispatches = sr->dispatches,
		.max_inflight_per_client = sr->max_inflight_per_client,
		.device_losses = sr->device_losses,
		.self = sr->self,
		.connections = sr->connections,
	};
	copy_str(ret->daemon_version, sizeof(ret->daemon_version), sr->daemon_version);
	copy_str(ret->device_name, sizeof(ret->device_name), sr->device_name);
	ret->n_heaps = copy_heaps(ret->heaps, sr->heaps, sr->n_heaps);
	ret->client_list = calloc(sr->n_client_list ? sr->n_client_list : 1, sizeof(*ret->client_list));
	for (size_t i = 0; ret->client_list && i < sr->n_client_list; i++) {
		const Gpucmd__ClientStatus *cs = sr->client_list[i];
		struct gpucmd_client_status *o = &ret->client_list[i];
		*o = (struct gpucmd_client_status){
			.client = cs->client,
			.pid = cs->pid,
			.uid = cs->uid,
			.gid = cs->gid,
			.connected_ms = cs->connected_ms,
			.in_flight = cs->in_flight,
			.stalled = cs->stalled,
			.command_buffers = cs->command_buffers,
			.dispatches = cs->dispatches,
			.fence_waiters = cs->fence_waiters,
			.gpu_util = cs->gpu_util,
		};
		copy_str(o->name, sizeof(o->name), cs->name);
		copy_str(o->comm, sizeof(o->comm), cs->comm);
		copy_usage(&o->memory, cs->memory);
		o->sessions = calloc(cs->n_sessions ? cs->n_sessions : 1, sizeof(*o->sessions));
		if (!o->sessions) {
			r = -ENOMEM;
			break;
		}
		ret->n_clients = i + 1;
		for (size_t k = 0; k < cs->n_sessions; k++) {
			const Gpucmd__SessionStatus *ss = cs->sessions[k];
			o->sessions[k] = (struct gpucmd_session_status){
				.session = ss->session,
				.priority = (enum gpucmd_priority)ss->priority,
				.in_flight = ss->in_flight,
				.command_buffers = ss->command_buffers,
				.dispatches = ss->dispatches,
				.completed = ss->completed,
				.fence_value = ss->fence_value,
				.gpu_ns = ss->gpu_ns,
			};
			copy_str(o->sessions[k].label, sizeof(o->sessions[k].label), ss->label);
		}
		o->n_sessions = cs->n_sessions;
	}
	if (!ret->client_list)
		r = -ENOMEM;
	gpucmd__reply__free_unpacked(rep, NULL);
	if (r < 0) {
		gpucmd_status_free(ret);
		return fail(c, r, "out of memory");
	}
	return 0;
}

int gpucmd_buffer_free(gpucmd_client *c, gpucmd_buffer buffer)
{
	Gpucmd__BufferFree bf = GPUCMD__BUFFER_FREE__INIT;
	bf.buffer = buffer;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_FREE;
	req.buffer_free = &bf;
	int r = call(c, &req, NULL);
	/* The daemon keeps its own mapping for work still in flight. */
	for (size_t i = 0; r == 0 && i < c->n_shared; i++)
		if (c->shared[i].buffer == buffer) {
			munmap(c->shared[i].ptr, c->shared[i].len);
			c->shared[i] = c->shared[--c->n_shared];
			break;
		}
	return r;
}

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
		return fail(c, -EINVAL, "session_open: ret_session is required");
	Gpucmd__SessionOpen so = GPUCMD__SESSION_OPEN__INIT;
	so.label = (char *)(label ? label : "");
	so.priority = (Gpucmd__Priority)priority;
	so.flags = flags;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_SESSION_OPEN;
	req.session_open = &so;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_SESSION_OPENED, &rep);
	if (r < 0)
		return r;
	*ret = rep->session_opened->session;
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}

int gpucmd_session_close(gpucmd_client *c, gpucmd_session s)
{
	Gpucmd__SessionClose sc = GPUCMD__SESSION_CLOSE__INIT;
	sc.session = s;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_SESSION_CLOSE;
	req.session_close = &sc;
	return queue(c, &req);
}

int gpucmd_begin_stage(gpucmd_client *c, gpucmd_session s, const char *label)
{
	Gpucmd__BeginStage bs = GPUCMD__BEGIN_STAGE__INIT;
	bs.session = s;
	bs.label = (char *)(label ? label : "");
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BEGIN_STAGE;
	req.begin_stage = &bs;
	return queue(c, &req);
}

int gpucmd_dispatch(gpucmd_client *c, gpucmd_session s, gpucmd_kernel kernel, const struct gpucmd_binding *bindings,
		    uint32_t n_bindings, const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz)
{
	return gpucmd_dispatch_flags(c, s, kernel, bindings, n_bindings, push, push_size, gx, gy, gz, 0);
}

/* One Dispatch request of n bindings (b[], bp[] filled by the caller). */
/* One dispatch, its bindings given by position (pos) or by binding number
 * (at): whichever is not NULL when n > 0. */
static int send_dispatch(gpucmd_client *c, gpucmd_session s, gpucmd_kernel kernel, const struct gpucmd_binding *pos,
			 const struct gpucmd_binding_at *at, uint32_t n, const void *push, uint32_t push_size,
			 uint32_t gx, uint32_t gy, uint32_t gz, uint32_t flags)
{
	if (n > GPUCMD_MAX_BINDINGS)
		return fail(c, -EINVAL, "dispatch: %u bindings, at most %d", n, GPUCMD_MAX_BINDINGS);
	if ((n && !pos && !at) || (push_size && !push))
		return fail(c, -EINVAL, "dispatch: bindings or push constants missing");
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
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_DISPATCH;
	req.dispatch = &d;
	return queue(c, &req);
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

static int commit(gpucmd_client *c, gpucmd_session s, Gpucmd__CommitMode mode, const char *label)
{
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = s;
	cm.mode = mode;
	cm.has_label = label != NULL;
	cm.label = (char *)(label ? label : "");
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	req.commit = &cm;
	return mode == GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT ? call(c, &req, NULL) : queue(c, &req);
}

int gpucmd_commit_stage(gpucmd_client *c, gpucmd_session s)
{
	return commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_STAGE, NULL);
}

int gpucmd_commit_and_wait(gpucmd_client *c, gpucmd_session s)
{
	return commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT, NULL);
}

int gpucmd_fence_stage(gpucmd_client *c, gpucmd_session s, const char *label)
{
	return commit(c, s, GPUCMD__COMMIT_MODE__COMMIT_FENCE, label);
}

int gpucmd_reset_for_next_stage(gpucmd_client *c, gpucmd_session s)
{
	Gpucmd__ResetStage rs = GPUCMD__RESET_STAGE__INIT;
	rs.session = s;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_RESET_STAGE;
	req.reset_stage = &rs;
	return queue(c, &req);
}

int gpucmd_session_query(gpucmd_client *c, gpucmd_session s, struct gpucmd_session_state *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "session_query: ret_state is required");
	Gpucmd__SessionQuery q = GPUCMD__SESSION_QUERY__INIT;
	q.session = s;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_SESSION_QUERY;
	req.session_query = &q;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_SESSION_STATE, &rep);
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
	copy_str(ret->last_label, sizeof(ret->last_label), st->last_label);
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

/* Round trip whose reply is a token. */
static int call_token(gpucmd_client *c, Gpucmd__Request *req, gpucmd_token *ret)
{
	Gpucmd__Reply *rep;
	int r = call_expect(c, req, GPUCMD__REPLY__BODY_TOKEN, &rep);
	if (r < 0)
		return r;
	if (rep->token->token.len == sizeof(ret->bytes))
		memcpy(ret->bytes, rep->token->token.data, sizeof(ret->bytes));
	else
		r = fail(c, GPUCMD_E_PROTOCOL, "%s: the token is not %zu bytes", gw_request_name(req), sizeof(ret->bytes));
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}

static ProtobufCBinaryData token_bytes(const gpucmd_token *t)
{
	return (ProtobufCBinaryData){sizeof(t->bytes), (uint8_t *)t->bytes};
}

int gpucmd_fence_export(gpucmd_client *c, gpucmd_session s, gpucmd_token *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "fence_export: ret_token is required");
	Gpucmd__FenceExport fe = GPUCMD__FENCE_EXPORT__INIT;
	fe.session = s;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_FENCE_EXPORT;
	req.fence_export = &fe;
	return call_token(c, &req, ret);
}

int gpucmd_buffer_export(gpucmd_client *c, gpucmd_buffer b, gpucmd_token *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "buffer_export: ret_token is required");
	Gpucmd__BufferExport be = GPUCMD__BUFFER_EXPORT__INIT;
	be.buffer = b;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_EXPORT;
	req.buffer_export = &be;
	return call_token(c, &req, ret);
}

int gpucmd_buffer_import(gpucmd_client *c, const gpucmd_token *t, gpucmd_buffer *ret)
{
	if (!t || !ret)
		return fail(c, -EINVAL, "buffer_import: token and ret_buffer are required");
	Gpucmd__BufferImport bi = GPUCMD__BUFFER_IMPORT__INIT;
	bi.token = token_bytes(t);
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_IMPORT;
	req.buffer_import = &bi;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_BUFFER_CREATED, &rep);
	if (r < 0)
		return r;
	*ret = rep->buffer_created->buffer;
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}

int gpucmd_wait_fence(gpucmd_client *c, gpucmd_session s, const gpucmd_token *t, uint64_t value)
{
	if (!t)
		return fail(c, -EINVAL, "wait_fence: token is required");
	Gpucmd__WaitFence w = GPUCMD__WAIT_FENCE__INIT;
	w.session = s;
	w.token = token_bytes(t);
	w.value = value;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_WAIT_FENCE;
	req.wait_fence = &w;
	return queue(c, &req);
}

int gpucmd_fence_wait(gpucmd_client *c, const gpucmd_token *t, uint64_t value, uint32_t timeout_ms)
{
	if (!t)
		return fail(c, -EINVAL, "fence_wait: token is required");
	Gpucmd__FenceWait w = GPUCMD__FENCE_WAIT__INIT;
	w.token = token_bytes(t);
	w.value = value;
	w.timeout_ms = timeout_ms;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_FENCE_WAIT;
	req.fence_wait = &w;
	return call(c, &req, NULL);
}

/* Sends everything queued, the first bytes carrying fd (SCM_RIGHTS). */
static int flush_with_fd(gpucmd_client *c, int fd)
{
	ssize_t n;
	do
		n = gw_send_fds(c->fd, c->out.data, c->out.len, &fd, 1, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		c->out.len = 0;
		return lost(c, "sending");
	}
	gw_buf_consume(&c->out, (size_t)n);
	return gpucmd_flush(c);
}

/* A round trip whose request carries fd; *ret as for call(). */
static int call_with_fd(gpucmd_client *c, Gpucmd__Request *req, int fd, Gpucmd__Reply **ret)
{
	int r = gpucmd_flush(c);
	Gpucmd__Reply *rep = NULL;
	if (r == 0)
		r = queue(c, req);
	if (r == 0)
		r = flush_with_fd(c, fd);
	if (r == 0)
		r = await(c, req->id, &rep);
	if (r == 0 && rep->status < 0)
		r = fail(c, rep->status, "%s", rep->error);
	if (r < 0) {
		if (rep)
			gpucmd__reply__free_unpacked(rep, NULL);
		return r;
	}
	c->err[0] = '\0';
	*ret = rep;
	return 0;
}

int gpucmd_fence_fd(gpucmd_client *c, const gpucmd_token *t, uint64_t value, int *ret_fd)
{
	if (!t || !ret_fd)
		return fail(c, -EINVAL, "fence_fd: token and ret_fd are required");
	Gpucmd__FenceFd ff = GPUCMD__FENCE_FD__INIT;
	ff.token = token_bytes(t);
	ff.value = value;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_FENCE_FD;
	req.fence_fd = &ff;
	if (c->rx_fd >= 0)
		close(c->rx_fd);
	c->rx_fd = -1;
	int r = call(c, &req, NULL);
	if (r == 0 && c->rx_fd < 0)
		r = fail(c, GPUCMD_E_PROTOCOL, "fence_fd: the reply came without a file descriptor");
	if (r < 0)
		return r;
	*ret_fd = c->rx_fd;
	c->rx_fd = -1;
	return 0;
}

int gpucmd_buffer_create_shared(gpucmd_client *c, uint64_t size, gpucmd_buffer *ret_buffer, void **ret_map,
				bool *ret_zero_copy)
{
	if (!ret_buffer || !ret_map)
		return fail(c, -EINVAL, "buffer_create_shared: ret_buffer and ret_map are required");
	uint64_t align = c->hello.shared_alignment ? c->hello.shared_alignment : 4096;
	if (size == 0 || size > SIZE_MAX - align)
		return fail(c, -EINVAL, "buffer_create_shared: size %llu is zero or too large", (unsigned long long)size);
	size_t len = (size + align - 1) / align * align;
	if (c->n_shared == c->cap_shared) {
		size_t cap = c->cap_shared ? c->cap_shared * 2 : 8;
		struct shared_map *m = realloc(c->shared, cap * sizeof(*m));
		if (!m)
			return fail(c, -ENOMEM, "out of memory");
		c->shared = m;
		c->cap_shared = cap;
	}
	/* Sealed so that nobody can shrink the memory under the daemon and the
	 * GPU (a truncated memfd would fault them). */
	int fd = memfd_create("gpucmd-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail(c, -errno, "buffer_create_shared: memfd_create: %s", strerror(errno));
	void *map = MAP_FAILED;
	int r = 0;
	if (ftruncate(fd, (off_t)len) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
	    (map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		r = fail(c, -errno, "buffer_create_shared: %zu bytes of shared memory: %s", len, strerror(errno));
	Gpucmd__BufferCreateShared bs = GPUCMD__BUFFER_CREATE_SHARED__INIT;
	bs.size = size;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_BUFFER_CREATE_SHARED;
	req.buffer_create_shared = &bs;
	Gpucmd__Reply *rep = NULL;
	if (r == 0)
		r = call_with_fd(c, &req, fd, &rep);
	close(fd);
	if (r == 0 && rep->body_case != GPUCMD__REPLY__BODY_BUFFER_CREATED)
		r = fail(c, GPUCMD_E_PROTOCOL, "buffer_create_shared: unexpected reply from gpucmdd");
	if (r < 0) {
		if (rep)
			gpucmd__reply__free_unpacked(rep, NULL);
		if (map != MAP_FAILED)
			munmap(map, len);
		return r;
	}
	*ret_buffer = rep->buffer_created->buffer;
	if (ret_zero_copy)
		*ret_zero_copy = rep->buffer_created->zero_copy;
	gpucmd__reply__free_unpacked(rep, NULL);
	c->shared[c->n_shared++] = (struct shared_map){*ret_buffer, map, len};
	*ret_map = map;
	return 0;
}
/* ---- capture and replay ------------------------------------------------- */

int gpucmd_capture_begin(gpucmd_client *c, gpucmd_session s)
{
	Gpucmd__CaptureBegin cb = GPUCMD__CAPTURE_BEGIN__INIT;
	cb.session = s;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_CAPTURE_BEGIN;
	req.capture_begin = &cb;
	return queue(c, &req);
}

/* Sends a request answered with GraphInfo and fills the caller's results. */
static int call_graph(gpucmd_client *c, Gpucmd__Request *req, gpucmd_graph *ret, struct gpucmd_graph_info *ret_info)
{
	Gpucmd__Reply *rep;
	int r = call_expect(c, req, GPUCMD__REPLY__BODY_GRAPH_INFO, &rep);
	if (r < 0)
		return r;
	const Gpucmd__GraphInfo *gi = rep->graph_info;
	*ret = gi->graph;
	if (ret_info) {
		*ret_info = (struct gpucmd_graph_info){
			.graph = gi->graph,
			.nodes = gi->nodes,
			.dispatches = gi->dispatches,
			.barriers = gi->barriers,
			.n_slots = (uint32_t)gi->n_slot_sizes,
		};
		for (size_t i = 0; i < gi->n_slot_sizes && i < GPUCMD_GRAPH_INFO_SLOTS; i++)
			ret_info->slot_sizes[i] = gi->slot_sizes[i];
	}
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_capture_end(gpucmd_client *c, gpucmd_session s, gpucmd_graph *ret, struct gpucmd_graph_info *ret_info)
{
	if (!ret)
		return fail(c, -EINVAL, "capture_end: ret_graph is required");
	Gpucmd__CaptureEnd ce = GPUCMD__CAPTURE_END__INIT;
	ce.session = s;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_CAPTURE_END;
	req.capture_end = &ce;
	return call_graph(c, &req, ret, ret_info);
}

int gpucmd_graph_replay(gpucmd_client *c, gpucmd_session s, gpucmd_graph g, const struct gpucmd_graph_push *push,
			uint32_t n_push, const struct gpucmd_graph_rebind *rebind, uint32_t n_rebind)
{
	if ((n_push && !push) || (n_rebind && !rebind))
		return fail(c, -EINVAL, "graph_replay: push or rebind array missing");
	Gpucmd__GraphPush *pp = n_push ? calloc(n_push, sizeof(*pp)) : NULL, **ppp = n_push ? calloc(n_push, sizeof(*ppp)) : NULL;
	Gpucmd__GraphRebind *rb = n_rebind ? calloc(n_rebind, sizeof(*rb)) : NULL,
			    **rbp = n_rebind ? calloc(n_rebind, sizeof(*rbp)) : NULL;
	int r;
	if ((n_push && (!pp || !ppp)) || (n_rebind && (!rb || !rbp))) {
		r = fail(c, -ENOMEM, "graph_replay: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n_push; i++) {
		if (push[i].size && !push[i].data) {
			r = fail(c, -EINVAL, "graph_replay: push constants of node %u missing", push[i].node);
			goto out;
		}
		pp[i] = (Gpucmd__GraphPush)GPUCMD__GRAPH_PUSH__INIT;
		pp[i].node = push[i].node;
		pp[i].push.data = (uint8_t *)push[i].data;
		pp[i].push.len = push[i].size;
		ppp[i] = &pp[i];
	}
	for (uint32_t i = 0; i < n_rebind; i++) {
		rb[i] = (Gpucmd__GraphRebind)GPUCMD__GRAPH_REBIND__INIT;
		rb[i].slot = rebind[i].slot;
		rb[i].buffer = rebind[i].buffer;
		rbp[i] = &rb[i];
	}
	Gpucmd__GraphReplay gr = GPUCMD__GRAPH_REPLAY__INIT;
	gr.session = s;
	gr.graph = g;
	gr.n_push = n_push;
	gr.push = ppp;
	gr.n_rebind = n_rebind;
	gr.rebind = rbp;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_GRAPH_REPLAY;
	req.graph_replay = &gr;
	r = queue(c, &req);
out:
	free(pp);
	free(ppp);
	free(rb);
	free(rbp);
	return r;
}

int gpucmd_graph_free(gpucmd_client *c, gpucmd_graph g)
{
	Gpucmd__GraphFree gf = GPUCMD__GRAPH_FREE__INIT;
	gf.graph = g;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_GRAPH_FREE;
	req.graph_free = &gf;
	return call(c, &req, NULL);
}

int gpucmd_graph_export(gpucmd_client *c, gpucmd_graph g, gpucmd_token *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "graph_export: ret_token is required");
	Gpucmd__GraphExport ge = GPUCMD__GRAPH_EXPORT__INIT;
	ge.graph = g;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_GRAPH_EXPORT;
	req.graph_export = &ge;
	return call_token(c, &req, ret);
}

int gpucmd_graph_import(gpucmd_client *c, const gpucmd_token *t, gpucmd_graph *ret, struct gpucmd_graph_info *ret_info)
{
	if (!t || !ret)
		return fail(c, -EINVAL, "graph_import: token and ret_graph are required");
	Gpucmd__GraphImport gi = GPUCMD__GRAPH_IMPORT__INIT;
	gi.token = token_bytes(t);
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_GRAPH_IMPORT;
	req.graph_import = &gi;
	return call_graph(c, &req, ret, ret_info);
}

/* ---- GPU timing --------------------------------------------------------- */

int gpucmd_profile(gpucmd_client *c, gpucmd_session s, bool enable)
{
	Gpucmd__Profile p = GPUCMD__PROFILE__INIT;
	p.session = s;
	p.enable = enable;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_PROFILE;
	req.profile = &p;
	return queue(c, &req);
}

int gpucmd_commit_and_wait_timed(gpucmd_client *c, gpucmd_session s, struct gpucmd_gpu_times *ret)
{
	if (!ret)
		return fail(c, -EINVAL, "commit_and_wait_timed: ret_times is required");
	Gpucmd__Commit cm = GPUCMD__COMMIT__INIT;
	cm.session = s;
	cm.mode = GPUCMD__COMMIT_MODE__COMMIT_AND_WAIT;
	cm.label = "";
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_COMMIT;
	req.commit = &cm;
	Gpucmd__Reply *rep;
	int r = call(c, &req, &rep);
	if (r < 0)
		return r;
	*ret = (struct gpucmd_gpu_times){0, 0};
	if (rep->body_case == GPUCMD__REPLY__BODY_GPU_TIMES)
		*ret = (struct gpucmd_gpu_times){rep->gpu_times->start_ns, rep->gpu_times->end_ns};
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

void gpucmd_profile_free(struct gpucmd_profile *p)
{
	if (!p)
		return;
	free(p->command_buffers);
	free(p->commands);
	p->command_buffers = NULL;
	p->commands = NULL;
	p->n_command_buffers = p->n_commands = 0;
}

/* The label of command buffer `serial` (serials grow along the array). */
static const char *stage_of(const struct gpucmd_profile *p, uint64_t serial)
{
	uint32_t lo = 0, hi = p->n_command_buffers;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (p->command_buffers[mid].serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n_command_buffers && p->command_buffers[lo].serial == serial ? p->command_buffers[lo].label : "";
}

int gpucmd_profile_fetch(gpucmd_client *c, gpucmd_session s, const char *label, bool clear, struct gpucmd_profile *ret)
{
	if (!ret || (!s && !label))
		return fail(c, -EINVAL, "profile_fetch: ret_profile and a session or a label are required");
	Gpucmd__ProfileFetch pf = GPUCMD__PROFILE_FETCH__INIT;
	pf.session = s;
	pf.label = (char *)(label ? label : "");
	pf.clear = clear;
	Gpucmd__Request req = GPUCMD__REQUEST__INIT;
	req.body_case = GPUCMD__REQUEST__BODY_PROFILE_FETCH;
	req.profile_fetch = &pf;
	Gpucmd__Reply *rep;
	int r = call_expect(c, &req, GPUCMD__REPLY__BODY_PROFILE, &rep);
	if (r < 0)
		return r;
	const Gpucmd__ProfileReport *pr = rep->profile;
	struct gpucmd_profile p = {
		.timestamp_period = pr->timestamp_period,
		.valid_bits = pr->valid_bits,
		.gpu_ns = pr->gpu_ns,
		.dropped = pr->dropped,
		.untimed = pr->untimed,
		.n_command_buffers = (uint32_t)pr->n_command_buffers,
		.n_commands = (uint32_t)pr->n_commands,
	};
	copy_str(p.session, sizeof(p.session), pr->session);
	p.command_buffers = calloc(p.n_command_buffers ? p.n_command_buffers : 1, sizeof(*p.command_buffers));
	p.commands = calloc(p.n_commands ? p.n_commands : 1, sizeof(*p.commands));
	if (!p.command_buffers || !p.commands) {
		gpucmd_profile_free(&p);
		gpucmd__reply__free_unpacked(rep, NULL);
		return fail(c, -ENOMEM, "profile_fetch: out of memory");
	}
	for (uint32_t i = 0; i < p.n_command_buffers; i++) {
		const Gpucmd__TimedCommandBuffer *t = pr->command_buffers[i];
		struct gpucmd_timed_command_buffer *o = &p.command_buffers[i];
		o->serial = t->serial;
		copy_str(o->label, sizeof(o->label), t->label);
		o->commands = t->commands;
		o->start_ns = t->start_ns;
		o->end_ns = t->end_ns;
	}
	for (uint32_t i = 0; i < p.n_commands; i++) {
		const Gpucmd__TimedCommand *t = pr->commands[i];
		struct gpucmd_timed_command *o = &p.commands[i];
		o->command_buffer = t->command_buffer;
		o->index = t->index;
		copy_str(o->name, sizeof(o->name), t->name);
		o->stage = stage_of(&p, t->command_buffer);
		o->start_ns = t->start_ns;
		o->end_ns = t->end_ns;
	}
	gpucmd__reply__free_unpacked(rep, NULL);
	*ret = p;
	return 0;
}

/* s as a JSON string: labels come from the client and names from the
 * daemon, so bytes that are not UTF-8 become U+FFFD and controls are
 * escaped; the trace stays valid JSON whatever they hold. */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	fputc('"', f);
	while (*u) {
		size_t n = gpucmd_utf8_seq(u);
		if (n == 0) {
			fputs("\\ufffd", f);
			n = 1;
		} else if (*u == '"' || *u == '\\') {
			fprintf(f, "\\%c", *u);
		} else if (gpucmd_utf8_is_control(u, n)) {
			fprintf(f, "\\u%04x", n == 1 ? u[0] : (unsigned)(u[1] & 0x3f) | 0x80);
		} else {
			fwrite(u, 1, n, f);
		}
		u += n;
	}
	fputc('"', f);
}

/* One complete ("X") event after the metadata events; times in µs from
 * t0, as the format wants. The caller closes it with its args. */
static void trace_event(FILE *f, const char *name, const char *cat, int tid, uint64_t t0, uint64_t start, uint64_t end)
{
	fprintf(f, ",\n{\"name\":");
	json_string(f, name);
	fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f", cat, tid,
		(double)(start - t0) / 1000.0, (double)(end > start ? end - start : 0) / 1000.0);
}

int gpucmd_trace_write(const struct gpucmd_profile *p, FILE *f)
{
	if (!p || !f)
		return -EINVAL;
	uint64_t t0 = UINT64_MAX;
	for (uint32_t i = 0; i < p->n_command_buffers; i++)
		if (p->command_buffers[i].start_ns < t0)
			t0 = p->command_buffers[i].start_ns;
	for (uint32_t i = 0; i < p->n_commands; i++)
		if (p->commands[i].start_ns < t0)
			t0 = p->commands[i].start_ns;
	if (t0 == UINT64_MAX)
		t0 = 0;
	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	fprintf(f, "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":");
	json_string(f, p->session[0] ? p->session : "gpucmd session");
	fprintf(f, "}},\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"command buffers\"}}");
	fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"commands\"}}");
	for (uint32_t i = 0; i < p->n_command_buffers; i++) {
		const struct gpucmd_timed_command_buffer *cb = &p->command_buffers[i];
		trace_event(f, cb->label[0] ? cb->label : "command buffer", "command_buffer", 1, t0, cb->start_ns,
			    cb->end_ns);
		fprintf(f, ",\"args\":{\"serial\":%llu,\"commands\":%u}}", (unsigned long long)cb->serial, cb->commands);
	}
	for (uint32_t i = 0; i < p->n_commands; i++) {
		const struct gpucmd_timed_command *cmd = &p->commands[i];
		trace_event(f, cmd->name, "command", 2, t0, cmd->start_ns, cmd->end_ns);
		fprintf(f, ",\"args\":{\"stage\":");
		json_string(f, cmd->stage ? cmd->stage : "");
		fprintf(f, ",\"command_buffer\":%llu,\"index\":%u}}", (unsigned long long)cmd->command_buffer, cmd->index);
	}
	fprintf(f, "\n]}\n");
	return ferror(f) ? -EIO : 0;
}
