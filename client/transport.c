/*
 * transport.c — how libgpucmd's requests travel: a blocking Unix socket, a
 * send buffer that streamed requests are appended to, and a frame reader
 * for replies. Round trips flush the send buffer and read until the reply
 * with their id arrives; a reply with id 0 is the daemon saying why it is
 * closing the connection. Every API call builds its request through
 * gc_stream / gc_call here, so wrapping, sending, waiting and turning a
 * refusal into an error happen in one place. Descriptors travel through
 * proto/wire.c's gw_send_fds / gw_recv_fds.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_internal.h"

#define FLUSH_AT (256u << 10)  /* streamed bytes held before a write */
#define READ_CHUNK (64u << 10) /* room asked of the reader per recv */

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
	return gc_fail(c, GPUCMD_E_DISCONNECTED, "connection to gpucmdd at %s lost while %s", c->path, what);
}

/* A last reply (id 0): the daemon says why it closes the connection. */
static int goodbye(gpucmd_client *c, Gpucmd__Reply *rep)
{
	c->dead = true;
	int r = gc_fail(c, rep->status ? rep->status : GPUCMD_E_DISCONNECTED, "gpucmdd closed the connection: %s",
			rep->error);
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}

/* A failed send most often means that the daemon closed the connection;
 * it may have said why in a last reply (id 0) still waiting to be read. */
static int lost_sending(gpucmd_client *c)
{
	uint8_t *room;
	size_t n;
	ssize_t got;
	while (gw_reader_space(&c->in, READ_CHUNK, &room, &n) == 0 && (got = recv(c->fd, room, n, MSG_DONTWAIT)) > 0)
		gw_reader_commit(&c->in, (size_t)got);
	const uint8_t *p;
	size_t len;
	while (gw_reader_peek(&c->in, &p, &len) == 1) {
		Gpucmd__Reply *rep = gpucmd__reply__unpack(NULL, len, p);
		gw_reader_consume(&c->in);
		if (rep && rep->id == 0)
			return goodbye(c, rep);
		if (rep)
			gpucmd__reply__free_unpacked(rep, NULL);
	}
	return lost(c, "sending");
}

int gpucmd_flush(gpucmd_client *c)
{
	if (c->dead)
		return gc_fail(c, GPUCMD_E_DISCONNECTED, "the connection to gpucmdd is closed");
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

/*
 * The Request field a body of this message type goes in. Its number is the
 * body case and its offset says where the pointer goes (each type stands in
 * the oneof once): the generated descriptor knows both, so no request needs
 * a case of its own here. NULL for a message that is no request's body.
 */
static const ProtobufCFieldDescriptor *body_field(const ProtobufCMessage *body)
{
	const ProtobufCMessageDescriptor *d = &gpucmd__request__descriptor;
	for (unsigned i = 0; i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE && d->fields[i].descriptor == body->descriptor)
			return &d->fields[i];
	return NULL;
}

/* Makes *req a Request whose body is `body` (borrowed). */
static int wrap(gpucmd_client *c, ProtobufCMessage *body, Gpucmd__Request *req)
{
	const ProtobufCFieldDescriptor *f = body_field(body);
	if (!f)
		return gc_fail(c, -EINVAL, "%s is not a request", body->descriptor->name);
	*req = (Gpucmd__Request)GPUCMD__REQUEST__INIT;
	req->body_case = (Gpucmd__Request__BodyCase)f->id;
	memcpy((char *)req + f->offset, &body, sizeof(body));
	return 0;
}

/* Appends a request; a streamed request is sent once enough piled up. */
static int queue(gpucmd_client *c, Gpucmd__Request *req)
{
	if (c->dead)
		return gc_fail(c, GPUCMD_E_DISCONNECTED, "the connection to gpucmdd is closed");
	req->id = ++c->next_id;
	int r = gw_pack(&c->out, &req->base, c->max_frame);
	if (r == -EMSGSIZE)
		return gc_fail(c, r, "%s request larger than the daemon's frame limit of %u bytes",
			       gw_request_name(req), c->max_frame);
	if (r < 0)
		return gc_fail(c, r, "out of memory");
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
			return gc_fail(c, GPUCMD_E_PROTOCOL, "reply frame larger than %u bytes", c->max_frame);
		}
		if (r == 1) {
			Gpucmd__Reply *rep = gpucmd__reply__unpack(NULL, len, p);
			gw_reader_consume(&c->in);
			if (!rep) {
				c->dead = true;
				return gc_fail(c, GPUCMD_E_PROTOCOL, "undecodable reply from gpucmdd");
			}
			if (rep->id == 0)
				return goodbye(c, rep);
			if (rep->id != id) {
				gpucmd__reply__free_unpacked(rep, NULL);
				continue; /* an answer to a request we gave up on */
			}
			*ret = rep;
			return 0;
		}
		uint8_t *room;
		size_t n;
		if (gw_reader_space(&c->in, READ_CHUNK, &room, &n) < 0)
			return gc_fail(c, -ENOMEM, "out of memory");
		ssize_t got = recv_wait(c, room, n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return lost(c, "waiting for a reply");
		gw_reader_commit(&c->in, (size_t)got);
	}
}

/* Sends req (fd with its first bytes unless -1) and waits for its reply; a
 * refusal becomes the return value and the last error. */
static int round_trip(gpucmd_client *c, Gpucmd__Request *req, int fd, Gpucmd__Reply **ret)
{
	/* A descriptor belongs to the frame holding the last byte of its read:
	 * what is queued goes first, then this frame alone with it. */
	int r = fd >= 0 ? gpucmd_flush(c) : 0;
	if (r == 0)
		r = queue(c, req);
	if (r == 0)
		r = fd >= 0 ? flush_with_fd(c, fd) : gpucmd_flush(c);
	Gpucmd__Reply *rep = NULL;
	if (r == 0)
		r = await(c, req->id, &rep);
	if (r < 0)
		return r;
	if (rep->status < 0) {
		r = rep->status;
		if (rep->failed_request && rep->failed_request != req->id)
			gc_fail(c, r, "%s (failed request %llu)", rep->error, (unsigned long long)rep->failed_request);
		else
			gc_fail(c, r, "%s", rep->error);
		gpucmd__reply__free_unpacked(rep, NULL);
		return r;
	}
	c->err[0] = '\0';
	*ret = rep;
	return 0;
}

int gc_stream(gpucmd_client *c, ProtobufCMessage *body)
{
	Gpucmd__Request req;
	int r = wrap(c, body, &req);
	return r < 0 ? r : queue(c, &req);
}

int gc_call_fd(gpucmd_client *c, ProtobufCMessage *body, int fd, Gpucmd__Reply__BodyCase expect,
	       Gpucmd__Reply **ret)
{
	Gpucmd__Request req;
	Gpucmd__Reply *rep = NULL;
	int r = wrap(c, body, &req);
	if (r == 0)
		r = round_trip(c, &req, fd, &rep);
	if (r < 0)
		return r;
	if (expect != GC_ANY_BODY && rep->body_case != expect) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, GPUCMD_E_PROTOCOL, "%s: unexpected reply from gpucmdd", gw_request_name(&req));
	}
	if (ret)
		*ret = rep;
	else
		gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gc_call(gpucmd_client *c, ProtobufCMessage *body, Gpucmd__Reply__BodyCase expect, Gpucmd__Reply **ret)
{
	return gc_call_fd(c, body, -1, expect, ret);
}

int gc_call_token(gpucmd_client *c, ProtobufCMessage *body, gpucmd_token *ret)
{
	Gpucmd__Reply *rep;
	int r = gc_call(c, body, GPUCMD__REPLY__BODY_TOKEN, &rep);
	if (r < 0)
		return r;
	if (rep->token->token.len == sizeof(ret->bytes))
		memcpy(ret->bytes, rep->token->token.data, sizeof(ret->bytes));
	else
		r = gc_fail(c, GPUCMD_E_PROTOCOL, "%s: the token is not %zu bytes", body_field(body)->name,
			    sizeof(ret->bytes));
	gpucmd__reply__free_unpacked(rep, NULL);
	return r;
}
