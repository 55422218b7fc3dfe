/*
 * conn.c — connection I/O and lifetime (see conn.h).
 *
 * The socket is non-blocking and watched with uv_poll so that recvmsg and
 * sendmsg are ours: ancillary data (file descriptors) is seen, counted, tied
 * to the frame it came with and closed here rather than hidden by a stream
 * abstraction. One readable event reads a chunk at a time up to a per-turn
 * budget and handles every complete frame after each chunk, decoded from an
 * arena (no malloc). What a connection can make the daemon hold is bounded
 * here (SECURITY.md): handling stops while its unsent replies pass
 * OUT_HIGH_WATER, and a frame over GD_SMALL_FRAME is read only once room
 * for it is reserved in max_input_bytes. A request that must wait for the
 * GPU (a read of a buffer still in use) leaves its frame in place and
 * stalls the connection until retirement resumes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/latency.h"
#include "base/log.h"
#include "device/memory.h"
#include "gpucmd_defs.h"
#include "model/account.h"
#include "model/core.h"
#include "model/release.h"
#include "net/conn.h"
#include "requests/kernels.h"
#include "requests/requests.h"
#include "submit/scheduler.h"

#define READ_CHUNK (64u << 10)
#define READ_BUDGET (4u << 20)   /* bytes read per turn before others get theirs */
#define OUT_HIGH_WATER (16u << 20)

static _Atomic uint32_t next_id; /* every shard numbers its connections from it */
/* The reason given for a peer that simply closed its end (logged at debug). */
static const char hung_up[] = "client disconnected";
static const char moved[] = "handed to the HIGH shard";

static void on_poll(uv_poll_t *h, int status, int events);
static void release_input(struct gd_conn *c);
static int conn_take_fd(struct gd_client *client);

static void set_events(struct gd_conn *c, int events)
{
	if (c->closing || events == c->poll_events)
		return;
	/* Time while the daemon does not read (stalled on GPU work or
	 * backpressure, replies unsent) is not the client's silence: the read
	 * and idle clocks (timeouts.c) skip it. */
	bool was = c->poll_events & UV_READABLE, is = events & UV_READABLE;
	if (was && !is)
		c->unread_since_ms = uv_now(c->net->core->loop);
	else if (!was && is && c->unread_since_ms) {
		c->last_rx_ms += uv_now(c->net->core->loop) - c->unread_since_ms;
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
static bool may_handle(const struct gd_conn *c)
{
	return !c->closing && !c->client.stalled && !c->bye_msg && c->out.len < OUT_HIGH_WATER;
}

static void update_events(struct gd_conn *c)
{
	int ev = 0;
	if (may_handle(c) && !c->net->core->stopping && gd_list_empty(&c->input_link))
		ev |= UV_READABLE;
	if (c->out.len)
		ev |= UV_WRITABLE;
	set_events(c, ev);
}

/* Sends out bytes up to the next reply that carries a descriptor; at that
 * reply, its first bytes go with the descriptor (the client ties it to that
 * reply the way the daemon ties received ones to their request). */
static ssize_t send_some(struct gd_conn *c)
{
	struct gd_out_fd *of = c->n_out_fds ? &c->out_fds[0] : NULL;
	if (!of || of->off)
		return send(c->fd, c->out.data, of ? of->off : c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	size_t len = c->n_out_fds > 1 ? c->out_fds[1].off : c->out.len;
	ssize_t n = gw_send_fds(c->fd, c->out.data, len, &of->fd, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n > 0) {
		close(of->fd);
		memmove(c->out_fds, c->out_fds + 1, --c->n_out_fds * sizeof(c->out_fds[0]));
	}
	return n;
}

static void consume_out(struct gd_conn *c, size_t n)
{
	gw_buf_consume(&c->out, n);
	for (uint32_t i = 0; i < c->n_out_fds; i++)
		c->out_fds[i].off -= n;
}

void gd_conn_flush(struct gd_conn *c)
{
	while (c->out.len && !c->closing) {
		ssize_t n = send_some(c);
		if (n > 0) {
			consume_out(c, (size_t)n);
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

static void conn_send(struct gd_client *client, const Gpucmd__Reply *reply)
{
	struct gd_conn *c = gd_conn_of(client);
	if (c->closing)
		return;
	c->last_tx_ms = uv_now(c->net->core->loop);
	int r = gw_pack(&c->out, &reply->base, c->net->core->proc->cfg.max_frame);
	if (r == -EMSGSIZE) {
		/* Only a reply that carries data can be this large, and the
		 * requests that ask for data are bounded by max_frame first. */
		Gpucmd__Reply small = GPUCMD__REPLY__INIT;
		small.id = reply->id;
		small.status = -EMSGSIZE;
		small.error = "reply larger than the maximum frame size";
		r = gw_pack(&c->out, &small.base, c->net->core->proc->cfg.max_frame);
	}
	if (r < 0)
		gd_conn_close(c, "out of memory for a reply", NULL);
}

static void conn_flush(struct gd_client *client)
{
	gd_conn_flush(gd_conn_of(client));
}

static int conn_send_fd(struct gd_client *client, const Gpucmd__Reply *reply, int fd)
{
	struct gd_conn *c = gd_conn_of(client);
	if (c->closing || c->n_out_fds == GW_MAX_FDS) {
		close(fd);
		return c->closing ? 0 : -EBUSY;
	}
	size_t off = c->out.len;
	conn_send(client, reply);
	if (c->closing || c->out.len == off) {
		close(fd);
		return -ENOMEM;
	}
	c->out_fds[c->n_out_fds++] = (struct gd_out_fd){fd, off};
	return 0;
}

static void free_conn(uv_handle_t *h)
{
	struct gd_conn *c = h->data;
	gd_client_kernels_finish(&c->client.kernels);
	gd_client_finish(&c->client);
	gd_fdq_clear(&c->in_fds);
	while (c->n_out_fds)
		close(c->out_fds[--c->n_out_fds].fd);
	gw_reader_finish(&c->in);
	gw_buf_finish(&c->out);
	gw_arena_finish(&c->arena);
	close(c->fd);
	c->net->core->stats.clients--;
	/* Nobody is left to reuse kept memory: the device gets it back. */
	if (atomic_fetch_sub(&c->net->core->proc->clients, 1) == 1)
		gd_memory_trim(c->net->core->proc->memory);
	free(c);
}

/* A connection is in net->high_epfd while it has HIGH sessions and is
 * not closing, on the main loop: the HIGH shard's are all HIGH clients,
 * and looking there between requests would cost a system call for none. */
static void high_set_update(struct gd_conn *c)
{
	bool want = c->client.high_sessions && !c->closing && c->net->core->index == 0;
	if (want == c->in_high_set)
		return;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (epoll_ctl(c->net->high_epfd, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, c->fd, &ev) < 0) {
		log_warn("client %u: its HIGH sessions are %s between others: %s", c->client.id,
			 want ? "not read" : "still watched", strerror(errno));
		if (want)
			return;
	}
	c->in_high_set = want;
	c->net->high_conns += want ? 1 : -1;
}

static void close_conn(struct gd_conn *c, const char *why, int code, const char *tell)
{
	if (c->closing)
		return;
	/* An ordinary hang-up is routine (debug, like the connect); any other
	 * reason is worth an operator's eye, at a rate no client can flood. */
	static struct gd_ratelimit closes = GD_RATELIMIT_CLIENT;
	bool routine = why == hung_up || why == moved;
	gd_log_limited(routine ? NULL : &closes, routine ? GD_LOG_DEBUG : GD_LOG_INFO, &GD_CLIENT_LOG_FIELDS(&c->client),
		       "client %u (pid %d, uid %u, %s): closing: %s", c->client.id, (int)c->client.pid,
		       (unsigned)c->client.uid, c->client.name[0] ? c->client.name : "no name", why);
	if (tell) {
		Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
		rep.status = code;
		rep.error = (char *)tell;
		conn_send(&c->client, &rep);
		/* Best effort: the connection is going away either way. */
		if (c->out.len)
			(void)!send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	c->closing = true;
	high_set_update(c);
	gd_list_remove(&c->client.link);
	gd_list_remove(&c->stall_link);
	gd_list_remove(&c->input_link);
	release_input(c);
	if (!c->client.greeted)
		c->client.acct->parent->handshakes--;
	c->client.acct->parent->conns--;
	/* Sessions detach in free_conn; work retiring before then answers
	 * nobody, since nothing is sent on a closing connection. */
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

/* Gives back the room the frame being received held in max_input_bytes. */
static void release_input(struct gd_conn *c)
{
	if (!c->input_reserved)
		return;
	gd_account_input_release(c->client.acct, c->input_reserved);
	c->input_reserved = 0;
	gd_conn_input_released(c->net);
}

/* Whether the descriptors that came with the frame in hand fit its request:
 * none for a request that takes none, before it runs; after it ran
 * (`ran`), none left over. Otherwise the client broke the protocol and the
 * connection closes, saying so. */
static bool fds_fit(struct gd_conn *c, const Gpucmd__Request *req, bool ran)
{
	uint32_t n = gd_fdq_before(&c->in_fds, c->frame_end);
	if (!n || (!ran && gd_request_takes_fd(req)))
		return true;
	const char *name = gw_request_name(req);
	if (ran)
		snprintf(c->client.bye_text, sizeof(c->client.bye_text), "%u file descriptor%s more than a %s request takes", n,
			 n == 1 ? "" : "s", name);
	else
		snprintf(c->client.bye_text, sizeof(c->client.bye_text), "%u file descriptor%s sent with a %s request, which takes "
			 "none", n, n == 1 ? "" : "s", name);
	while (n--)
		close(conn_take_fd(&c->client));
	gd_conn_close(c, c->client.bye_text, c->client.bye_text);
	return false;
}

static void interleave_high(struct gd_net *net, struct gd_conn *cur);

/* Handles every complete frame held, looking for HIGH work between them
 * (interleave_high). Stops early when a request stalls or the replies owed
 * pass OUT_HIGH_WATER: a client that does not read its replies cannot make
 * the daemon answer its requests into memory without end. */
static void process(struct gd_conn *c)
{
	const uint8_t *payload;
	size_t len;
	int r = 0;
	/* A connection saying goodbye (device loss, timeout, stop) handles
	 * nothing more, even frames already read. */
	struct gw_fast_request fast;
	while (may_handle(c) && (r = gw_reader_peek(&c->in, &payload, &len)) == 1) {
		Gpucmd__Request *req = &fast.req;
		c->frame_end = c->rx_consumed + GW_HEADER + len;
		if (!gw_decode_fast(payload, len, &fast))
			req = (Gpucmd__Request *)protobuf_c_message_unpack(&gpucmd__request__descriptor, &c->arena.pb,
									    len, payload);
		if (!req) {
			gw_arena_reset(&c->arena);
			char why[96];
			snprintf(why, sizeof(why), "undecodable request frame of %zu bytes", len);
			gd_conn_close(c, why, why);
			return;
		}
		if (!fds_fit(c, req, false)) {
			gw_arena_reset(&c->arena);
			return;
		}
		r = gd_request_handle(&c->client, req);
		bool fit = r == -EAGAIN || c->closing || fds_fit(c, req, true);
		gw_arena_reset(&c->arena);
		if (r == -EAGAIN) {
			if (!c->client.stalled) {
				c->client.stalled = true;
				gd_list_insert_tail(&c->net->stalled, &c->stall_link);
			}
			return;
		}
		gw_reader_consume(&c->in);
		c->rx_consumed = c->frame_end;
		if (len + GW_HEADER > GD_SMALL_FRAME)
			release_input(c);
		if (c->closing || !fit)
			return;
		interleave_high(c->net, c);
	}
	if (r == -EMSGSIZE) {
		char why[96];
		snprintf(why, sizeof(why), "frame larger than the maximum of %zu bytes", c->in.max_frame);
		gd_conn_close(c, why, why);
	}
}

static int conn_take_fd(struct gd_client *client)
{
	struct gd_conn *c = gd_conn_of(client);
	return gd_fdq_take(&c->in_fds, c->frame_end);
}

/* Whether room is reserved for the frame being received, when it needs
 * any: frames over GD_SMALL_FRAME wait, unread, until max_input_bytes and
 * max_input_bytes_per_uid have room for them (gd_account_input_reserve). */
static bool try_reserve(struct gd_conn *c)
{
	const uint8_t *hdr = c->in.buf.data + c->in.off;
	size_t held = gw_reader_pending(&c->in);
	if (c->input_reserved || held < GW_HEADER)
		return true;
	uint64_t need = GW_HEADER + (uint64_t)(hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24);
	if (need <= GD_SMALL_FRAME || need <= held || need > GW_HEADER + c->in.max_frame)
		return true;
	if (!gd_account_input_reserve(c->client.acct, need))
		return false;
	c->input_reserved = need;
	c->reserved_ms = uv_now(c->net->core->loop);
	return true;
}

void gd_conn_input_released(struct gd_net *net)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &net->input_waiting) {
		struct gd_conn *c = gd_container_of(pos, struct gd_conn, input_link);
		if (try_reserve(c)) {
			gd_list_remove(&c->input_link);
			update_events(c);
		}
	}
}

/* Reads and handles what arrived, a chunk at a time (so the buffer holds
 * at most one frame in the making and one chunk), up to a per-turn budget. */
static void on_readable(struct gd_conn *c)
{
	size_t total = 0;
	while (total < READ_BUDGET && may_handle(c)) {
		if (!try_reserve(c)) {
			gd_list_insert_tail(&c->net->input_waiting, &c->input_link);
			update_events(c);
			break;
		}
		uint8_t *p;
		size_t room;
		if (gw_reader_space(&c->in, READ_CHUNK, &p, &room) < 0) {
			gd_conn_close(c, "out of memory reading a request", NULL);
			return;
		}
		int fds[GW_MAX_FDS];
		uint32_t k;
		bool lost;
		ssize_t n = gw_recv_fds(c->fd, p, room, MSG_DONTWAIT, fds, GW_MAX_FDS, &k, &lost);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			gd_conn_close(c, n == 0 ? hung_up : strerror(errno), NULL);
			return;
		}
		/* Each descriptor is tied to the last byte of the read. */
		if ((k || lost) && !gd_fdq_keep(&c->in_fds, fds, k, lost, c->rx_total + (size_t)n - 1)) {
			gd_conn_close(c, "too many file descriptors", "too many file descriptors sent at once");
			return;
		}
		gw_reader_commit(&c->in, (size_t)n);
		c->rx_total += (size_t)n;
		c->last_rx_ms = uv_now(c->net->core->loop);
		total += (size_t)n;
		process(c);
		if ((size_t)n < room)
			break;
	}
	/* A buffer grown for a large frame goes back once it is handled. */
	if (!c->closing)
		gw_reader_trim(&c->in, 2 * READ_CHUNK);
}

/* How often at most a busy turn looks for HIGH work between requests. A
 * look costs an epoll_wait and a read of the HIGH timeline, about half a
 * microsecond; a HIGH request or a finished HIGH stage waits for at most
 * this and the request being handled when it came. */
#define HIGH_LOOK_NS 2000u

/* While HIGH work is about, after each request handled (and each
 * connection) the connections with HIGH sessions that have bytes waiting
 * are read and HIGH work is submitted and answered, so that a HIGH request
 * waits for one request rather than a connection's or a whole turn's, and
 * a finished HIGH stage is answered as soon (BENCHMARKS.md, "Where a HIGH
 * round trip's time goes"). A connection closed meanwhile is freed only
 * after this turn. */
static void interleave_high(struct gd_net *net, struct gd_conn *cur)
{
	struct gd_scheduler *sched = net->core->sched;
	if (net->interleaving || !net->high_conns)
		return;
	uint64_t now = gd_now_ns();
	if (now - net->high_look_ns < HIGH_LOOK_NS || !gd_scheduler_high_active(sched))
		return;
	net->high_look_ns = now;
	net->interleaving = true;
	gd_scheduler_interleave_high(sched);
	struct epoll_event ev[16];
	int n = epoll_wait(net->high_epfd, ev, 16, 0);
	for (int i = 0; i < n; i++) {
		struct gd_conn *c = ev[i].data.ptr;
		if (c == cur || c->closing || !(c->poll_events & UV_READABLE))
			continue;
		on_readable(c);
		if (!c->closing)
			gd_conn_flush(c);
	}
	gd_scheduler_interleave_high(sched);
	net->interleaving = false;
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
	if (c->closing)
		return;
	gd_conn_flush(c);
	/* Replies went out: requests read but left for the high-water mark
	 * are handled now. */
	if ((events & UV_WRITABLE) && may_handle(c) && gw_reader_pending(&c->in)) {
		process(c);
		if (!c->closing)
			gd_conn_flush(c);
	}
	interleave_high(c->net, c);
}

/* Handles frames that arrived while the connection was stalled. */
static void conn_resume(struct gd_conn *c)
{
	if (c->closing)
		return;
	c->client.stalled = false;
	gd_list_remove(&c->stall_link);
	process(c);
	if (!c->closing)
		gd_conn_flush(c);
}

static void conn_close(struct gd_client *client, const char *why, const char *tell)
{
	gd_conn_close(gd_conn_of(client), why, tell);
}

static void conn_goodbye(struct gd_client *client, int code, const char *tell)
{
	gd_conn_goodbye(gd_conn_of(client), code, tell);
}

static void conn_high_changed(struct gd_client *client)
{
	high_set_update(gd_conn_of(client));
}

/* The connection's socket (a duplicate: this loop's poll handle still
 * closes the original) and every byte from the request being handled on
 * go to `to`'s inbox; its loop takes them up as a connection of its own
 * (on_inbox). Only before any reply or descriptor is owed. The new
 * connection is counted before this one closes, so that no connection
 * accepted meanwhile finds room under a limit that is not there. */
static int conn_move(struct gd_client *client, struct gd_core *to)
{
	struct gd_conn *c = gd_conn_of(client);
	struct gd_account *uid = c->client.acct->parent;
	if (c->in_fds.n || c->out.len || c->closing)
		return -EBUSY;
	int fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Out of this loop's epoll set before the other loop polls it. */
	uv_poll_stop(&c->poll);
	c->poll_events = 0;
	gd_account_count_conn(gd_account_ref(uid), 1);
	int r = gd_inbox_put(&to->net->inbox, fd, c->client.id, uid, c->in.buf.data + c->in.off,
			     gw_reader_pending(&c->in));
	if (r < 0) {
		gd_account_count_conn(uid, -1);
		gd_account_unref(uid);
		close(fd);
		update_events(c);
		return r;
	}
	close_conn(c, moved, 0, NULL);
	return 0;
}

static const struct gd_client_ops conn_ops = {
	.send = conn_send,
	.send_fd = conn_send_fd,
	.take_fd = conn_take_fd,
	.flush = conn_flush,
	.close = conn_close,
	.goodbye = conn_goodbye,
	.high_changed = conn_high_changed,
	.move = conn_move,
};

/* A connection on fd (owned, closed on failure too) numbered id; counted
 * (gd_account_count_conn) unless `counted` (handed over, conn_move). */
static struct gd_conn *conn_new(struct gd_net *net, int fd, uint32_t id, bool counted)
{
	struct gd_core *d = net->core;
	struct gd_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return NULL;
	}
	c->net = net;
	c->fd = fd;
	c->last_rx_ms = uv_now(d->loop);
	gd_list_init(&c->stall_link);
	gd_list_init(&c->input_link);
	gw_reader_init(&c->in, d->proc->cfg.max_frame);
	struct ucred cred = {.pid = 0};
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0)
		cred = (struct ucred){.pid = 0};
	int r = gd_client_init(&c->client, d, &conn_ops, cred.pid, cred.uid, cred.gid);
	if (r < 0 || gw_arena_init(&c->arena, 64u << 10) < 0 || uv_poll_init(d->loop, &c->poll, fd) < 0) {
		gd_client_finish(&c->client);
		gw_arena_finish(&c->arena);
		close(fd);
		free(c);
		return NULL;
	}
	c->client.id = id;
	c->poll.data = c;
	if (!counted)
		gd_account_count_conn(c->client.acct->parent, 1);
	d->stats.clients++;
	update_events(c);
	return c;
}

int gd_conn_create(struct gd_net *net, int fd)
{
	struct gd_conn *c = conn_new(net, fd, atomic_fetch_add(&next_id, 1) + 1, false);
	if (!c)
		return -ENOMEM;
	net->core->stats.connections++;
	if (gd_log_max_level >= GD_LOG_DEBUG)
		gd_log(GD_LOG_DEBUG, &GD_CLIENT_LOG_FIELDS(&c->client), "client %u connected: pid %d uid %u",
		       c->client.id, (int)c->client.pid, (unsigned)c->client.uid);
	return 0;
}

/* Connections another shard handed over (conn_move): each goes on from
 * the bytes it had not handled there, its handshake first. */
static void on_inbox(uv_async_t *h)
{
	struct gd_net *net = h->data;
	struct gd_list in;
	gd_inbox_take(&net->inbox, &in);
	while (!gd_list_empty(&in)) {
		struct gd_moved_conn *m = gd_container_of(in.next, struct gd_moved_conn, link);
		gd_list_remove(&m->link);
		struct gd_conn *c = conn_new(net, m->fd, m->id, true);
		if (!c) {
			m->fd = -1; /* conn_new closed it */
			gd_inbox_drop(m);
			continue;
		}
		gd_account_unref(m->uid); /* the connection's own account holds it now */
		uint8_t *p;
		size_t room;
		if (gw_reader_space(&c->in, m->n, &p, &room) == 0) {
			memcpy(p, m->bytes, m->n);
			gw_reader_commit(&c->in, m->n);
			c->rx_total = m->n;
			process(c);
			if (!c->closing)
				gd_conn_flush(c);
		} else {
			gd_conn_close(c, "out of memory taking over a connection", NULL);
		}
		free(m);
	}
}

int gd_net_init(struct gd_net *net, struct gd_core *core)
{
	net->core = core;
	core->net = net;
	gd_list_init(&net->stalled);
	gd_list_init(&net->input_waiting);
	net->high_epfd = -1;
	if (gd_inbox_init(&net->inbox, core->loop, on_inbox, net) < 0)
		return -ENOMEM;
	net->high_epfd = epoll_create1(EPOLL_CLOEXEC);
	return net->high_epfd < 0 ? -errno : 0;
}

void gd_net_close(struct gd_net *net)
{
	gd_inbox_close(&net->inbox);
}

void gd_net_finish(struct gd_net *net)
{
	gd_inbox_finish(&net->inbox);
	if (net->high_epfd >= 0)
		close(net->high_epfd);
	net->high_epfd = -1;
}

void gd_net_resume_stalled(struct gd_net *net)
{
	/* Each stalled connection is tried once: one that stalls again goes
	 * back on net->stalled, not on the list being walked. HIGH clients
	 * are read between them as between the requests of a turn: after
	 * a retirement every bulk client's requests held back by its
	 * in-flight limit are handled here, in one go otherwise. A
	 * connection closed meanwhile leaves `pending` as it closes. */
	struct gd_list pending;
	gd_list_move_all(&pending, &net->stalled);
	while (!gd_list_empty(&pending)) {
		struct gd_conn *c = gd_container_of(pending.next, struct gd_conn, stall_link);
		gd_list_remove(&c->stall_link);
		conn_resume(c);
		interleave_high(net, c);
	}
}
