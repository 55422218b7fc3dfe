/*
 * graphs.c — libgpucmd's capture and replay (docs/ENCODER.md): capturing a
 * session's commands into a graph, replaying it with new push constants or
 * buffers, and sharing graphs between connections by token.
 */
#include <errno.h>
#include <stdlib.h>

#include "client_internal.h"

int gpucmd_capture_begin(gpucmd_client *c, gpucmd_session s)
{
	Gpucmd__CaptureBegin cb = GPUCMD__CAPTURE_BEGIN__INIT;
	cb.session = s;
	return gc_stream(c, &cb.base);
}

/* Sends a request answered with GraphInfo and fills the caller's results. */
static int call_graph(gpucmd_client *c, ProtobufCMessage *body, gpucmd_graph *ret, struct gpucmd_graph_info *ret_info)
{
	Gpucmd__Reply *rep;
	int r = gc_call(c, body, GPUCMD__REPLY__BODY_GRAPH_INFO, &rep);
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
		return gc_fail(c, -EINVAL, "capture_end: ret_graph is required");
	Gpucmd__CaptureEnd ce = GPUCMD__CAPTURE_END__INIT;
	ce.session = s;
	return call_graph(c, &ce.base, ret, ret_info);
}

/* The replay's messages: arrays the caller frees with free() whatever this
 * returns. */
static int replay_fill(gpucmd_client *c, Gpucmd__GraphReplay *gr, const struct gpucmd_graph_push *push,
		       uint32_t n_push, const struct gpucmd_graph_rebind *rebind, uint32_t n_rebind,
		       Gpucmd__GraphPush **ret_pp, Gpucmd__GraphRebind **ret_rb)
{
	Gpucmd__GraphPush *pp = *ret_pp = n_push ? calloc(n_push, sizeof(*pp)) : NULL;
	Gpucmd__GraphRebind *rb = *ret_rb = n_rebind ? calloc(n_rebind, sizeof(*rb)) : NULL;
	gr->push = n_push ? calloc(n_push, sizeof(*gr->push)) : NULL;
	gr->rebind = n_rebind ? calloc(n_rebind, sizeof(*gr->rebind)) : NULL;
	if ((n_push && (!pp || !gr->push)) || (n_rebind && (!rb || !gr->rebind)))
		return gc_fail(c, -ENOMEM, "graph_replay: out of memory");
	for (uint32_t i = 0; i < n_push; i++) {
		if (push[i].size && !push[i].data)
			return gc_fail(c, -EINVAL, "graph_replay: push constants of node %u missing", push[i].node);
		pp[i] = (Gpucmd__GraphPush)GPUCMD__GRAPH_PUSH__INIT;
		pp[i].node = push[i].node;
		pp[i].push.data = (uint8_t *)push[i].data;
		pp[i].push.len = push[i].size;
		gr->push[i] = &pp[i];
	}
	for (uint32_t i = 0; i < n_rebind; i++) {
		rb[i] = (Gpucmd__GraphRebind)GPUCMD__GRAPH_REBIND__INIT;
		rb[i].slot = rebind[i].slot;
		rb[i].buffer = rebind[i].buffer;
		gr->rebind[i] = &rb[i];
	}
	gr->n_push = n_push;
	gr->n_rebind = n_rebind;
	return 0;
}

int gpucmd_graph_replay(gpucmd_client *c, gpucmd_session s, gpucmd_graph g, const struct gpucmd_graph_push *push,
			uint32_t n_push, const struct gpucmd_graph_rebind *rebind, uint32_t n_rebind)
{
	if ((n_push && !push) || (n_rebind && !rebind))
		return gc_fail(c, -EINVAL, "graph_replay: push or rebind array missing");
	Gpucmd__GraphReplay gr = GPUCMD__GRAPH_REPLAY__INIT;
	gr.session = s;
	gr.graph = g;
	Gpucmd__GraphPush *pp;
	Gpucmd__GraphRebind *rb;
	int r = replay_fill(c, &gr, push, n_push, rebind, n_rebind, &pp, &rb);
	if (r == 0)
		r = gc_stream(c, &gr.base);
	free(pp);
	free(gr.push);
	free(rb);
	free(gr.rebind);
	return r;
}

int gpucmd_graph_free(gpucmd_client *c, gpucmd_graph g)
{
	Gpucmd__GraphFree gf = GPUCMD__GRAPH_FREE__INIT;
	gf.graph = g;
	return gc_call(c, &gf.base, GC_ANY_BODY, NULL);
}

int gpucmd_graph_export(gpucmd_client *c, gpucmd_graph g, gpucmd_token *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "graph_export: ret_token is required");
	Gpucmd__GraphExport ge = GPUCMD__GRAPH_EXPORT__INIT;
	ge.graph = g;
	return gc_call_token(c, &ge.base, ret);
}

int gpucmd_graph_import(gpucmd_client *c, const gpucmd_token *t, gpucmd_graph *ret, struct gpucmd_graph_info *ret_info)
{
	if (!t || !ret)
		return gc_fail(c, -EINVAL, "graph_import: token and ret_graph are required");
	Gpucmd__GraphImport gi = GPUCMD__GRAPH_IMPORT__INIT;
	gi.token = gc_token_bytes(t);
	return call_graph(c, &gi.base, ret, ret_info);
}
