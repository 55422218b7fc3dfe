/*
 * graphs.c — capture and replay requests (see requests.h and
 * docs/ENCODER.md): capture_begin / capture_end, graph_replay with its
 * push-constant overrides and buffer rebinding, graph_free, and graph
 * export / import through capability tokens. Every argument is validated
 * before anything is recorded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "model/buffer.h"
#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "model/fence.h"
#include "model/token.h"
#include "model/graph.h"
#include "requests/requests.h"
#include "model/encoder.h"
#include "model/session.h"

typedef Gpucmd__Request Req;

static void reply_graph(struct gd_client *c, uint64_t id, uint32_t handle, const struct gd_graph *g)
{
	/* As many as the buffers the client captured: on the heap. */
	uint64_t *sizes = calloc(g->n_slots ? g->n_slots : 1, sizeof(*sizes));
	if (!sizes) {
		gd_reply_status(c, id, -ENOMEM, 0, "graph: daemon out of memory");
		return;
	}
	for (uint32_t i = 0; i < g->n_slots; i++)
		sizes[i] = g->slots[i]->size;
	Gpucmd__GraphInfo gi = GPUCMD__GRAPH_INFO__INIT;
	gi.graph = handle;
	gi.nodes = g->n_nodes;
	gi.dispatches = g->n_dispatches;
	gi.barriers = (uint32_t)g->barriers;
	gi.n_slot_sizes = g->n_slots;
	gi.slot_sizes = sizes;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = id;
	rep.body_case = GPUCMD__REPLY__BODY_GRAPH_INFO;
	rep.graph_info = &gi;
	gd_client_send(c, &rep);
	free(sizes);
}

/* Gives graph g (its reference) a handle on c and answers with it. */
static void add_and_reply(struct gd_client *c, uint64_t id, struct gd_graph *g)
{
	uint32_t h, most = c->d->proc->cfg.max_graphs_per_client;
	if ((most && c->graphs.count >= most) || gd_handles_add(&c->graphs, g, &h) < 0) {
		gd_graph_unref(g);
		char msg[160];
		snprintf(msg, sizeof(msg), "this connection holds %u graphs, the most it may (max_graphs_per_client; "
			 "graph_free frees one)", c->graphs.count);
		gd_reply_status(c, id, -EMFILE, 0, msg);
		return;
	}
	reply_graph(c, id, h, g);
}

void gd_request_capture_begin(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_request_session(c, req, req->capture_begin->session);
	if (s)
		gd_session_capture_begin(s, req->id);
}

void gd_request_capture_end(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_handles_get(&c->sessions, req->capture_end->session);
	char msg[400];
	if (!s) {
		snprintf(msg, sizeof(msg), "capture_end: no session %u on this connection", req->capture_end->session);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	struct gd_graph *g;
	uint64_t failed_req = s->err.req;
	int r = gd_session_capture_end(s, &g, msg, sizeof(msg));
	if (r < 0) {
		gd_reply_status(c, req->id, r, r == -EBUSY ? 0 : failed_req, msg);
		return;
	}
	add_and_reply(c, req->id, g);
}

/* Fills g->map and g->push_override from the request; false (and the
 * session failed, naming what was wrong) when an argument is bad. */
static bool prepare_replay(struct gd_client *c, struct gd_session *s, uint64_t id, const Gpucmd__GraphReplay *gr,
			   struct gd_graph *g, bool *ret_changed)
{
	bool changed = false;
	for (uint32_t i = 0; i < g->n_slots; i++)
		g->map[i] = g->slots[i];
	for (uint32_t i = 0; i < g->n_nodes; i++)
		g->push_override[i] = NULL;
	for (size_t i = 0; i < gr->n_push; i++) {
		const Gpucmd__GraphPush *p = gr->push[i];
		if (p->node >= g->n_nodes || g->nodes[p->node].kind != GD_NODE_DISPATCH) {
			gd_session_fail(s, id, -EINVAL, "graph replay: push constants for node %u, which is %s", p->node,
					p->node >= g->n_nodes ? "beyond the graph's nodes" : "a copy or fill, not a dispatch");
			return false;
		}
		const struct gd_kernel *k = &g->nodes[p->node].k;
		if (p->push.len != k->prog->iface.push_size) {
			gd_session_fail(s, id, -EINVAL,
					"graph replay: node %u (kernel '%s'): %zu bytes of push constants, the kernel takes %u",
					p->node, k->name, p->push.len, k->prog->iface.push_size);
			return false;
		}
		g->push_override[p->node] = p->push.data;
		changed = true;
	}
	for (size_t i = 0; i < gr->n_rebind; i++) {
		const Gpucmd__GraphRebind *rb = gr->rebind[i];
		if (rb->slot >= g->n_slots) {
			gd_session_fail(s, id, -EINVAL, "graph replay: rebinding slot %u, the graph has %u buffer slots",
					rb->slot, g->n_slots);
			return false;
		}
		struct gd_buffer *b = gd_handles_get(&c->buffers, rb->buffer);
		if (!b) {
			gd_session_fail(s, id, -ENOENT, "graph replay: slot %u rebound to buffer %u, which this connection does not have",
					rb->slot, rb->buffer);
			return false;
		}
		if (b->size < g->slots[rb->slot]->size) {
			gd_session_fail(s, id, -ERANGE,
					"graph replay: slot %u needs a buffer of at least %" PRIu64 " bytes, buffer %u has %" PRIu64,
					rb->slot, g->slots[rb->slot]->size, rb->buffer, b->size);
			return false;
		}
		changed = changed || b != g->slots[rb->slot];
		g->map[rb->slot] = b;
	}
	/* Rebinding two slots to one buffer may make a copy overlap itself,
	 * which Vulkan leaves undefined (buffer_copy refuses it too). */
	for (uint32_t i = 0; gr->n_rebind && i < g->n_nodes; i++) {
		const struct gd_graph_node *node = &g->nodes[i];
		const struct gd_graph_use *u = node->use;
		if (node->kind == GD_NODE_COPY && g->map[u[0].slot] == g->map[u[1].slot] &&
		    u[0].offset < u[1].offset + u[1].range && u[1].offset < u[0].offset + u[0].range) {
			gd_session_fail(s, id, -EINVAL,
					"graph replay: after rebinding, copy node %u would copy between overlapping ranges of one buffer",
					i);
			return false;
		}
	}
	*ret_changed = changed;
	return true;
}

void gd_request_graph_replay(struct gd_client *c, const Req *req)
{
	const Gpucmd__GraphReplay *gr = req->graph_replay;
	struct gd_session *s = gd_request_session(c, req, gr->session);
	if (!s)
		return;
	struct gd_graph *g = gd_handles_get(&c->graphs, gr->graph);
	if (!g) {
		gd_session_fail(s, req->id, -ENOENT, "graph replay: no graph %u on this connection", gr->graph);
		return;
	}
	bool changed;
	if (prepare_replay(c, s, req->id, gr, g, &changed))
		gd_graph_replay(g, s, req->id, changed);
}

void gd_request_graph_free(struct gd_client *c, const Req *req)
{
	struct gd_graph *g = gd_handles_remove(&c->graphs, req->graph_free->graph);
	if (!g) {
		char msg[96];
		snprintf(msg, sizeof(msg), "graph free: no graph %u on this connection", req->graph_free->graph);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	gd_token_revoke(c, GD_TOKEN_GRAPH, g);
	gd_graph_unref(g);
	gd_reply_status(c, req->id, 0, 0, NULL);
}

void gd_request_graph_export(struct gd_client *c, const Req *req)
{
	struct gd_graph *g = gd_handles_get(&c->graphs, req->graph_export->graph);
	uint8_t token[GPUCMD_TOKEN_BYTES];
	if (!g) {
		char msg[96];
		snprintf(msg, sizeof(msg), "graph export: no graph %u on this connection", req->graph_export->graph);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	int r = gd_token_issue(c, GD_TOKEN_GRAPH, g, token);
	if (r < 0) {
		gd_reply_status(c, req->id, r, 0, "graph export: no token could be made");
		return;
	}
	gd_request_reply_token(c, req->id, token);
}

void gd_request_graph_import(struct gd_client *c, const Req *req)
{
	ProtobufCBinaryData tok = req->graph_import->token;
	void *g = NULL;
	int r = tok.len == GPUCMD_TOKEN_BYTES ? gd_token_lookup(c->d, GD_TOKEN_GRAPH, tok.data, &g) : -EINVAL;
	if (!g) {
		gd_reply_status(c, req->id, r == -EXDEV ? -EXDEV : -ENOENT, 0,
				r == -EINVAL  ? "graph import: a token is 16 bytes"
				: r == -EXDEV ? "graph import: " GD_TOKEN_ELSEWHERE
					      : "graph import: unknown graph token (never issued, or its exporter freed the graph)");
		return;
	}
	add_and_reply(c, req->id, gd_graph_ref(g));
}
