/*
 * timeouts.c — idle, read and handshake timeouts, and the per-second
 * GPU utilisation of each client, on one timer (see timeouts.h).
 *
 * A connection's silence only counts against it while the daemon reads
 * from it: a stalled connection, or one whose replies pile up unsent, is
 * not reading, and its client cannot be blamed for sending nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "model/account.h"
#include "net/conn.h"
#include "model/core.h"
#include "model/fence.h"
#include "net/timeouts.h"

#define MIN_TICK_MS 20u
#define MAX_TICK_MS 1000u

/* A sweep every quarter of the shortest timeout closes a connection at
 * most 25 % late. */
static uint64_t tick_ms(const struct gd_config *cfg)
{
	uint64_t t = MAX_TICK_MS;
	if (cfg->read_timeout_ms && cfg->read_timeout_ms / 4 < t)
		t = cfg->read_timeout_ms / 4;
	if (cfg->idle_timeout_sec && (uint64_t)cfg->idle_timeout_sec * 250 < t)
		t = (uint64_t)cfg->idle_timeout_sec * 250;
	if (cfg->handshake_timeout_ms && cfg->handshake_timeout_ms / 4 < t)
		t = cfg->handshake_timeout_ms / 4;
	return t < MIN_TICK_MS ? MIN_TICK_MS : t;
}

/* Idle: nothing arrived and nothing was answered for idle_timeout_sec (an
 * answer after a long wait starts the clock again), and closing loses
 * nothing the client could still want (no buffer, shared or imported ones
 * included, no session, kernel of its own, work on the GPU, fence wait or
 * reply owed). */
static bool idle(struct gd_conn *c, uint64_t now)
{
	uint32_t limit = c->net->core->proc->cfg.idle_timeout_sec;
	uint64_t last = c->last_rx_ms > c->last_tx_ms ? c->last_rx_ms : c->last_tx_ms;
	return limit && now - last >= (uint64_t)limit * 1000 && !c->client.buffers.count && !c->client.sessions.count &&
	       !c->client.xfer && !c->client.kernels.n && !c->client.kernels.job && !c->client.acct->in_flight && !c->out.len &&
	       !gd_fence_has_waiters(c->net->core, &c->client);
}

/* The sweep also works out each client's share of the GPU's time since the
 * last time, once a second at most (the status's utilisation, like
 * nvidia-smi pmon's): two counters per connection, no GPU work. */
static void gpu_util(struct gd_conn *c, uint64_t now)
{
	if (!c->client.util_ms) {
		c->client.util_ms = now;
		c->client.util_ns = c->client.gpu_ns;
	}
	if (now - c->client.util_ms < 1000)
		return;
	uint64_t busy = (c->client.gpu_ns - c->client.util_ns) / 1000u; /* µs */
	uint64_t permille = busy / (now - c->client.util_ms);
	c->client.gpu_util = permille > 1000 ? 1000 : (uint32_t)permille;
	c->client.util_ms = now;
	c->client.util_ns = c->client.gpu_ns;
}

static void sweep(uv_timer_t *h)
{
	struct gd_net *net = h->data;
	struct gd_core *d = net->core;
	uint64_t now = uv_now(d->loop);
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->clients) {
		struct gd_conn *c = gd_conn_of(gd_container_of(pos, struct gd_client, link));
		gpu_util(c, now);
		if (c->closing || c->bye_msg)
			continue;
		size_t partial = gw_reader_pending(&c->in);
		if (c->input_reserved && partial < c->input_reserved && d->proc->cfg.read_timeout_ms &&
		    now - c->reserved_ms >= d->proc->cfg.read_timeout_ms) {
			/* A large frame holds room others may wait for: it must
			 * arrive whole in time, not merely keep trickling, and
			 * replies its client leaves unread do not stop the clock. */
			snprintf(c->client.bye_text, sizeof(c->client.bye_text),
				 "closed: a request frame of %" PRIu64 " bytes did not arrive whole within "
				 "read_timeout_ms (%u ms); %zu bytes came",
				 c->input_reserved, d->proc->cfg.read_timeout_ms, partial);
			gd_conn_close(c, c->client.bye_text, c->client.bye_text);
			continue;
		}
		if (!gd_conn_reading(c))
			continue;
		uint64_t silent = now - c->last_rx_ms;
		if (!c->client.greeted && d->proc->cfg.handshake_timeout_ms &&
		    now - c->client.connected_ms >= d->proc->cfg.handshake_timeout_ms) {
			snprintf(c->client.bye_text, sizeof(c->client.bye_text),
				 "closed: no hello within handshake_timeout_ms (%u ms) of connecting",
				 d->proc->cfg.handshake_timeout_ms);
			gd_conn_goodbye(c, -ETIMEDOUT, c->client.bye_text);
		} else if (partial && d->proc->cfg.read_timeout_ms && silent >= d->proc->cfg.read_timeout_ms) {
			snprintf(c->client.bye_text, sizeof(c->client.bye_text),
				 "closed: %zu bytes of a request frame arrived, then nothing for %" PRIu64
				 " ms (read_timeout_ms is %u)",
				 partial, silent, d->proc->cfg.read_timeout_ms);
			gd_conn_goodbye(c, -ETIMEDOUT, c->client.bye_text);
		} else if (!partial && idle(c, now)) {
			snprintf(c->client.bye_text, sizeof(c->client.bye_text),
				 "closed: idle for %u s or more while holding no buffer or session "
				 "(idle_timeout_sec)",
				 d->proc->cfg.idle_timeout_sec);
			gd_conn_goodbye(c, -ETIMEDOUT, c->client.bye_text);
		}
	}
	/* Room in max_input_bytes given back on another shard wakes nobody
	 * here: its waiters try again each sweep. */
	gd_conn_input_released(net);
	/* A reload may have changed the timeouts. */
	uv_timer_set_repeat(h, tick_ms(&d->proc->cfg));
}

void gd_timeouts_init(struct gd_net *net)
{
	uv_timer_init(net->core->loop, &net->timeouts);
	net->timeouts.data = net;
	uint64_t t = tick_ms(&net->core->proc->cfg);
	uv_timer_start(&net->timeouts, sweep, t, t);
	uv_unref((uv_handle_t *)&net->timeouts);
}

void gd_timeouts_finish(struct gd_net *net)
{
	uv_close((uv_handle_t *)&net->timeouts, NULL);
}
