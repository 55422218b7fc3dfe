/*
 * conn.c — connection I/O and lifetime (see conn.h).
 *
 * The socket is non-blocking and watched with uv_poll so that recvmsg and
 * sendmsg are ours: ancillary data (file descriptors) is seen, counted and
 * closed here rather than hidden by a stream abstraction. One readable event
 * drains the socket up to a per-turn budget, then every complete frame is
 * decoded (from an arena, no malloc) and handled. A request that must wait
 * for the GPU (a read of a buffer still in use) leaves its frame in place
 * and stalls the connection until retirement resumes it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer.h"
#include "account.h"
#include "conn.h"
#include "daemon.h"
#include "fence.h"
#include "gpucmd.h"
#include "log.h"
#include "requests.h"
#include "graph.h"
#include "session.h"

#define READ_CHUNK (64u << 10)
#define READ_BUDGET (4u << 20)   /* bytes read per turn before others get theirs */
#define OUT_HIGH_WATER (16u << 20)

static uint32_t next_id;
/* The reason given for a peer that simply closed its end (logged at debug). */
static const char hung_up[] = "client disconnected";

static void on_poll(uv_poll_t *h, int status, int events);

static void set_events(struct gd_conn *c, int events)
{
	if (c->closing || events == c->poll_events)
		return;
	/* Time while the daemon does not read (stalled on GPU work or
	 * backpressure, replies unsent) is not the client's silence: the read
	 * and idle clocks (timeouts.c) skip it. */
	bool was = c->poll_events & UV_READABLE, is = events & UV_READABLE;
	if (was && !is)
		c->unread_since_ms = uv_now(c->d->loop);
	else if (!was && is && c->unread_since_ms) {
		c->last_rx_ms += uv_now(c->d->loop) - c->unread_since_ms;
		c->unread_since_ms = 0;
	}
	c->poll_events = events;
	if (events)
		uv_poll_start(&c->poll, events, on_poll);
	else
		uv_poll_stop(&c->poll);
}

bool gd_conn_reading(const struct gd_conn *c)
{
	return (c->poll_events & UV_READABLE) != 0;
}

/* Reading stops while stalled or while replies pile up unsent: a client
 * that does not read its replies cannot make the daemon buffer without end.
 * It stops for good when the daemon stops, or the connection is saying
 * goodbye, so that the work to finish is only what was already asked for. */
static void update_events(struct gd_conn *c)
{
	int ev = 0;
	if (!c->stalled && !c->d->stopping && !c->bye_msg && c->out.len < OUT_HIGH_WATER)
		ev |= UV_READABLE;
	if (c->out.len)
		ev |= UV_WRITABLE;
	set_events(c, ev);
}

void gd_conn_flush(struct gd_conn *c)
{
	while (c->out.len && !c->closing) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			gw_buf_consume(&c->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		gd_conn_close(c, n < 0 ? strerror(errno) : hung_up, NULL);
		return;
	}
	if (c->bye_msg && !c->out.len) {
		gd_conn_goodbye(c, c->bye_code, c->bye_msg);
		return;
	}
	update_events(c);
}

void gd_conn_send(struct gd_conn *c, const Gpucmd__Reply *reply)
{
	if (c->closing)
		return;
	c->last_tx_ms = uv_now(c->d->loop);
	int r = gw_pack(&c->out, &reply->base, c->d->cfg.max_frame);
	if (r == -EMSGSIZE) {
		/* Only a reply that carries data can be this large, and the
		 * requests that ask for data are bounded by max_frame first. */
		Gpucmd__Reply small = GPUCMD__REPLY__INIT;
		small.id = reply->id;
		small.status = -EMSGSIZE;
		small.error = "reply larger than the maximum frame size";
		r = gw_pack(&c->out, &small.base, c->d->cfg.max_frame);
	}
	if (r < 0)
		gd_conn_close(c, "out of memory for a reply", NULL);
}

void gd_conn_reply_status(struct gd_conn *c, uint64_t id, int code, uint64_t failed_req, const char *msg)
{
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = id;
	rep.status = code;
	rep.failed_request = failed_req;
	rep.error = code ? (char *)msg : "";
	if (code && gd_log_max_level >= GD_LOG_DEBUG)
		gd_log(GD_LOG_DEBUG, &GD_CONN_LOG_FIELDS(c), "client %u: request %llu refused (%d): %s", c->id,
		       (unsigned long long)(failed_req ? failed_req : id), code, msg);
	gd_conn_send(c, &rep);
	gd_conn_flush(c);
}

void gd_conn_reply_times(struct gd_conn *c, uint64_t id, int code, uint64_t failed_req, const char *msg,
			 uint64_t start_ns, uint64_t end_ns)
{
	Gpucmd__GpuTimes t = GPUCMD__GPU_TIMES__INIT;
	t.start_ns = start_ns;
	t.end_ns = end_ns;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = id;
	rep.status = code;
	rep.failed_request = failed_req;
	rep.error = code ? (char *)msg : "";
	rep.body_case = GPUCMD__REPLY__BODY_GPU_TIMES;
	rep.gpu_times = &t;
	gd_conn_send(c, &rep);
	gd_conn_flush(c);
}

void gd_conn_fail(struct gd_conn *c, uint64_t req, int code, const char *fmt, ...)
{
	if (c->err)
		return;
	c->err = code;
	c->err_req = req;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
}

static void free_conn(uv_handle_t *h)
{
	struct gd_conn *c = h->data;
	struct gd_daemon *d = c->d;
	struct gd_session *s;
	struct gd_buffer *b;
	while ((s = gd_handles_pop(&c->sessions)))
		gd_session_close(s);
	if (c->xfer)
		gd_session_close(c->xfer);
	gd_conn_kernels_finish(&c->kernels);
	gd_token_revoke(d, c, NULL);
	struct gd_graph *g;
	while ((g = gd_handles_pop(&c->graphs)))
		gd_graph_unref(g);
	gd_fence_drop_waiters(d, c);
	while (c->n_fds)
		close(gd_conn_take_fd(c));
	while ((b = gd_handles_pop(&c->buffers)))
		gd_buffer_unref(b);
	gd_handles_finish(&c->sessions);
	gd_handles_finish(&c->buffers);
	gd_handles_finish(&c->graphs);
	gw_reader_finish(&c->in);
	gw_buf_finish(&c->out);
	gw_arena_finish(&c->arena);
	gd_account_unref(c->acct);
	close(c->fd);
	d->stats.clients--;
	free(c);
}

static void close_conn(struct gd_conn *c, const char *why, int code, const char *tell)
{
	if (c->closing)
		return;
	/* An ordinary hang-up is routine (debug, like the connect); any other
	 * reason is worth an operator's eye. */
	gd_log(why == hung_up ? GD_LOG_DEBUG : GD_LOG_INFO, &GD_CONN_LOG_FIELDS(c),
	       "client %u (pid %d, uid %u, %s): closing: %s", c->id, (int)c->pid, (unsigned)c->uid,
	       c->name[0] ? c->name : "no name", why);
	if (tell) {
		Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
		rep.status = code;
		rep.error = (char *)tell;
		gd_conn_send(c, &rep);
		/* Best effort: the connection is going away either way. */
		if (c->out.len)
			(void)!send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	c->closing = true;
	gd_list_remove(&c->link);
	gd_list_remove(&c->stall_link);
	/* Sessions detach now so that work retiring before the close callback
	 * answers nobody. */
	uv_close((uv_handle_t *)&c->poll, free_conn);
}

void gd_conn_close(struct gd_conn *c, const char *why, const char *tell)
{
	close_conn(c, why, GPUCMD_E_PROTOCOL, tell);
}

void gd_conn_goodbye(struct gd_conn *c, int code, const char *tell)
{
	if (c->out.len && !c->closing) {
		/* Replies already owed go first (a large buffer read may still
		 * be on its way); gd_conn_flush comes back here once sent. */
		c->bye_code = code;
		c->bye_msg = tell;
		update_events(c);
		return;
	}
	close_conn(c, tell, code, tell);
}

/* Handles every complete frame held. Stops early when a request stalls. */
static void process(struct gd_conn *c)
{
	const uint8_t *payload;
	size_t len;
	int r = 0;
	/* A connection saying goodbye (device loss, timeout, stop) handles
	 * nothing more, even frames already read. */
	struct gw_dispatch_request fast;
	while (!c->closing && !c->bye_msg && (r = gw_reader_peek(&c->in, &payload, &len)) == 1) {
		Gpucmd__Request *req = &fast.req;
		if (!gw_decode_dispatch(payload, len, &fast))
			req = (Gpucmd__Request *)protobuf_c_message_unpack(&gpucmd__request__descriptor, &c->arena.pb,
									    len, payload);
		if (!req) {
			gw_arena_reset(&c->arena);
			char why[96];
			snprintf(why, sizeof(why), "undecodable request frame of %zu bytes", len);
			gd_conn_close(c, why, why);
			return;
		}
		r = gd_request_handle(c, req);
		gw_arena_reset(&c->arena);
		if (r == -EAGAIN) {
			if (!c->stalled) {
				c->stalled = true;
				gd_list_insert_tail(&c->d->stalled, &c->stall_link);
			}
			return;
		}
		gw_reader_consume(&c->in);
	}
	if (r == -EMSGSIZE) {
		char why[96];
		snprintf(why, sizeof(why), "frame larger than the maximum of %zu bytes", c->in.max_frame);
		gd_conn_close(c, why, why);
	} else if (c->n_fds && gw_reader_pending(&c->in) == 0 && !c->closing) {
		/* Every request that came with them is handled: nobody took them. */
		gd_conn_close(c, "file descriptors sent with a request that takes none",
			      "file descriptors sent with a request that takes none");
	}
}

int gd_conn_take_fd(struct gd_conn *c)
{
	if (!c->n_fds)
		return -1;
	int fd = c->fds[0];
	memmove(c->fds, c->fds + 1, --c->n_fds * sizeof(c->fds[0]));
	return fd;
}

/* Queues the descriptors that came with the bytes, for the requests that
 * take one. Returns false (all closed) when more came than may wait. */
static bool keep_fds(struct gd_conn *c, struct msghdr *mh)
{
	bool ok = !(mh->msg_flags & MSG_CTRUNC);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++) {
			if (ok && c->n_fds < GW_MAX_FDS)
				c->fds[c->n_fds++] = fds[i];
			else {
				close(fds[i]);
				ok = false;
			}
		}
	}
	return ok;
}

static void on_readable(struct gd_conn *c)
{
	size_t total = 0;
	while (total < READ_BUDGET) {
		uint8_t *p;
		size_t room;
		if (gw_reader_space(&c->in, READ_CHUNK, &p, &room) < 0) {
			gd_conn_close(c, "out of memory reading a request", NULL);
			return;
		}
		union {
			char buf[CMSG_SPACE(GW_MAX_FDS * sizeof(int))];
			struct cmsghdr align;
		} ctrl;
		struct iovec iov = {p, room};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
				    .msg_controllen = sizeof(ctrl.buf)};
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			gd_conn_close(c, n == 0 ? hung_up : strerror(errno), NULL);
			return;
		}
		if (mh.msg_controllen && !keep_fds(c, &mh)) {
			gd_conn_close(c, "too many file descriptors", "too many file descriptors sent at once");
			return;
		}
		gw_reader_commit(&c->in, (size_t)n);
		c->last_rx_ms = uv_now(c->d->loop);
		total += (size_t)n;
		if ((size_t)n < room)
			break;
	}
	process(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct gd_conn *c = h->data;
	if (status < 0) {
		gd_conn_close(c, uv_strerror(status), NULL);
		return;
	}
	if (events & UV_READABLE)
		on_readable(c);
	if (!c->closing)
		gd_conn_flush(c);
}

void gd_conn_resume(struct gd_conn *c)
{
	if (c->closing)
		return;
	c->stalled = false;
	gd_list_remove(&c->stall_link);
	process(c);
	if (!c->closing)
		gd_conn_flush(c);
}

int gd_conn_create(struct gd_daemon *d, int fd)
{
	struct gd_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->d = d;
	c->fd = fd;
	c->id = ++next_id;
	c->last_rx_ms = uv_now(d->loop);
	gd_list_init(&c->link);
	gd_list_init(&c->stall_link);
	gw_reader_init(&c->in, d->cfg.max_frame);
	gd_handles_init(&c->buffers);
	gd_handles_init(&c->sessions);
	gd_handles_init(&c->graphs);
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
		c->pid = cred.pid;
		c->uid = cred.uid;
		c->gid = cred.gid;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)c->pid);
	FILE *f = c->pid > 0 ? fopen(path, "re") : NULL;
	if (f) {
		if (fgets(c->comm, sizeof(c->comm), f))
			c->comm[strcspn(c->comm, "\n")] = '\0';
		fclose(f);
	}
	c->connected_ms = uv_now(d->loop);
	c->acct = gd_account_create(d, c->uid);
	if (!c->acct || gw_arena_init(&c->arena, 64u << 10) < 0 || uv_poll_init(d->loop, &c->poll, fd) < 0) {
		if (c->acct)
			gd_account_unref(c->acct);
		gw_arena_finish(&c->arena);
		close(fd);
		free(c);
		return -ENOMEM;
	}
	c->poll.data = c;
	gd_list_insert_tail(&d->conns, &c->link);
	d->stats.clients++;
	d->stats.connections++;
	update_events(c);
	if (gd_log_max_level >= GD_LOG_DEBUG)
		gd_log(GD_LOG_DEBUG, &GD_CONN_LOG_FIELDS(c), "client %u connected: pid %d uid %u", c->id,
		       (int)c->pid, (unsigned)c->uid);
	return 0;
}

uint32_t gd_conn_uid_sum(const struct gd_daemon *d, uid_t uid, uint32_t (*count)(const struct gd_conn *c))
{
	uint32_t n = 0;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->conns) {
		const struct gd_conn *o = gd_container_of(pos, struct gd_conn, link);
		if (o->uid == uid)
			n += count(o);
	}
	return n;
}
