/*
 * encoder.c — recording commands into a session's stage or capture (see
 * encoder.h): references on what the command uses, the barrier it needs
 * (hazard.h), the bound-state cache, timestamps around it when profiling,
 * and an eager session's parts cut as it grows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/gpu.h"
#include "device/registry.h"
#include "model/account.h"
#include "model/buffer.h"
#include "model/client.h"
#include "model/core.h"
#include "model/encoder.h"
#include "model/graph.h"
#include "model/session.h"

/* Kernels read uniform buffers too (a dispatch's reads name both kinds). */
#define SHADER_READ_ACCESS (VK_ACCESS_2_SHADER_STORAGE_READ_BIT | VK_ACCESS_2_UNIFORM_READ_BIT)
#define READ_ACCESS (SHADER_READ_ACCESS | VK_ACCESS_2_TRANSFER_READ_BIT)

/* How each kind of command touches memory, so that a barrier names exactly
 * the stages and accesses on its two sides: a stream of dispatches gets
 * compute-to-compute barriers, which NVIDIA's driver records in a fraction
 * of the time one that also names copies and clears takes. */
static const struct gd_cmd_sync DISPATCH_SYNC = {VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT,
						 SHADER_READ_ACCESS, VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT};
static const struct gd_cmd_sync COPY_SYNC = {VK_PIPELINE_STAGE_2_COPY_BIT, VK_ACCESS_2_TRANSFER_READ_BIT,
					     VK_ACCESS_2_TRANSFER_WRITE_BIT};
/* vkCmdFillBuffer is a "transfer" command: the validation layer puts it in
 * the copy stage, the stage list under clear. */
static const struct gd_cmd_sync FILL_SYNC = {VK_PIPELINE_STAGE_2_COPY_BIT | VK_PIPELINE_STAGE_2_CLEAR_BIT, 0,
					     VK_ACCESS_2_TRANSFER_WRITE_BIT};
static const struct gd_cmd_sync GRAPH_SYNC = {GD_WRITE_STAGES, READ_ACCESS, GD_WRITE_ACCESS};


static int keep_ref(struct gd_submission *sub, struct gd_buffer *b)
{
	if (b->tag == sub->serial)
		return 0;
	if (sub->n_refs == sub->cap_refs) {
		uint32_t cap = sub->cap_refs ? sub->cap_refs * 2 : 16;
		struct gd_buffer **refs = realloc(sub->refs, cap * sizeof(*refs));
		if (!refs)
			return -ENOMEM;
		sub->refs = refs;
		sub->cap_refs = cap;
	}
	sub->refs[sub->n_refs++] = gd_buffer_ref(b);
	b->tag = sub->serial;
	return 0;
}

/* The pipeline (a client's kernel may be dropped meanwhile) lives until the
 * command buffer retires. */
static int keep_program(struct gd_submission *sub, struct gd_program *p)
{
	/* Programs are shared by every shard: serials are process-wide
	 * (scheduler.h), so another shard's tag never matches this one's. */
	if (atomic_load_explicit(&p->tag, memory_order_relaxed) == sub->serial)
		return 0;
	if (sub->n_progs == sub->cap_progs) {
		uint32_t cap = sub->cap_progs ? sub->cap_progs * 2 : 4;
		struct gd_program **progs = realloc(sub->progs, cap * sizeof(*progs));
		if (!progs)
			return -ENOMEM;
		sub->progs = progs;
		sub->cap_progs = cap;
	}
	sub->progs[sub->n_progs++] = gd_program_ref(p);
	atomic_store_explicit(&p->tag, sub->serial, memory_order_relaxed);
	return 0;
}

/* Orders a new command after the ones before it in its command buffer:
 * a barrier when it conflicts with the current concurrent group (or the
 * client asked for one), nothing otherwise. The first command of a
 * command buffer starts its first group; submissions are ordered with each
 * other by the retire timeline (SESSIONS.md), for every stage.
 *
 * A barrier waits for the stages its group ran and makes the group's writes
 * visible to the stage of the command after it, no more; commands before
 * the group are behind the barrier that opened it, which chains with this
 * one through the group's stages. So a command may join a group only in a
 * stage that group's opening barrier covered: a copy after a
 * compute-to-compute barrier takes a barrier of its own even where its
 * ranges conflict with nothing. */
static void order_command(struct gd_session *s, struct gd_submission *sub, const struct gd_access *acc, uint32_t n,
			  const struct gd_cmd_sync *sync, bool barrier_before)
{
	struct gd_stats *st = &s->d->stats;
	if (!sub->job.n_commands) {
		gd_hazard_reset(&sub->hazard);
		gd_hazard_add(&sub->hazard, acc, n);
		sub->group = *sync;
		sub->covered = GD_WRITE_STAGES;
		s->groups++;
		st->groups++;
		return;
	}
	bool need;
	if (barrier_before) {
		s->barriers_forced++;
		need = true;
	} else {
		need = gd_hazard_add(&sub->hazard, acc, n) != GD_HAZARD_JOIN || (sync->stage & ~sub->covered);
	}
	if (!need) {
		sub->group.stage |= sync->stage;
		sub->group.write |= sync->write;
		s->barriers_elided++;
		st->barriers_elided++;
		return;
	}
	gd_hazard_reset(&sub->hazard); /* the command alone starts the new group */
	gd_hazard_add(&sub->hazard, acc, n);
	gd_cmd_barrier(sub->job.cb, sub->group.stage, sub->group.write, sync->stage, sync->read | sync->write);
	sub->group = *sync;
	sub->covered = sync->stage;
	s->barriers++;
	st->barriers++;
	s->groups++;
	st->groups++;
}

/* The command buffer a new command goes into, holding references on the
 * buffers of its n accesses and ordered after the commands before it; NULL
 * (and the session failed) when the stage cannot take it. `what` and
 * `name` say what the command is, for the message: ("dispatch of kernel",
 * "add_f32"). */
static struct gd_submission *begin_command(struct gd_session *s, uint64_t req, const char *what, const char *name,
					   const struct gd_access *acc, uint32_t n, const struct gd_cmd_sync *sync,
					   bool barrier_before)
{
	const char *q = name ? " '" : "", *q2 = name ? "'" : "";
	if (!name)
		name = "";
	if (s->drained && !s->capture) {
		gd_session_fail(s, req, -EBUSY, "%s%s%s%s: the stage was committed; call reset_for_next_stage first",
				what, q, name, q2);
		return NULL;
	}
	/* While capturing, commands go into the graph's command buffer. */
	struct gd_submission *sub = s->capture ? &s->capture->rec : gd_session_open(s);
	if (!sub) {
		gd_session_fail(s, req, -ENOMEM, "%s%s%s%s: no command buffer could be opened", what, q, name, q2);
		return NULL;
	}
	/* The driver's memory for a command buffer grows with its commands. */
	uint32_t most = s->d->proc->cfg.max_commands_per_stage;
	if (most && sub->job.n_commands >= most) {
		gd_session_fail(s, req, -E2BIG, "%s%s%s%s: the %s already holds %u commands, the most "
				"max_commands_per_stage allows (commit the stage, or open the session eager)",
				what, q, name, q2, s->capture ? "capture" : "stage", sub->job.n_commands);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		if (keep_ref(sub, acc[i].buf) < 0) {
			gd_session_fail(s, req, -ENOMEM, "%s%s%s%s: daemon out of memory", what, q, name, q2);
			return NULL;
		}
	order_command(s, sub, acc, n, sync, barrier_before);
	sub->job.n_commands++;
	if (sub->timed) {
		sub->open_query = gd_cb_timing_cmd_start(sub->timing, sub->job.cb, name[0] ? name : what);
		if (sub->open_query < 0)
			s->timing->untimed++;
	}
	return sub;
}

/* Closes the timestamp bracket begin_command opened, when profiling. */
static void end_command(struct gd_submission *sub)
{
	if (sub->timed && sub->open_query >= 0)
		gd_cb_timing_cmd_end(sub->timing, sub->job.cb, sub->open_query);
	sub->open_query = -1;
}

/* A command recorded while capturing that its graph could not keep: the
 * capture fails (capture_end makes no graph). */
static void capture_failed(struct gd_session *s, uint64_t req, int r, const char *what, const char *name)
{
	char buf[256];
	gd_session_fail(s, req, r, "capture of %s%s%s%s: %s", what, name ? " '" : "", name ? name : "", name ? "'" : "",
			gd_graph_error(s->capture, r, buf, sizeof(buf)));
}

/* What a binding does to its range, from the kernel's reflection: a
 * binding with neither decoration may both read and write. */
static enum gd_access_kind binding_access(const struct gd_iface *f, uint32_t i)
{
	if (f->read_only[i])
		return GD_ACCESS_READ;
	if (f->write_only[i])
		return GD_ACCESS_WRITE;
	return GD_ACCESS_RW;
}

void gd_session_dispatch(struct gd_session *s, uint64_t req, const struct gd_kernel *k,
			 const struct gd_bound *bound, const void *push, const uint32_t groups[3],
			 bool barrier_before)
{
	struct gd_program *p = k->prog;
	struct gd_access acc[GPUCMD_MAX_BINDINGS];
	for (uint32_t i = 0; i < p->iface.n_bindings; i++)
		acc[i] = (struct gd_access){bound[i].buf, bound[i].offset, bound[i].offset + bound[i].range,
					    binding_access(&p->iface, i)};
	struct gd_submission *sub = begin_command(s, req, "dispatch of kernel", k->name, acc, p->iface.n_bindings, &DISPATCH_SYNC,
						  barrier_before);
	if (!sub)
		return;
	if (keep_program(sub, p) < 0) {
		gd_session_fail(s, req, -ENOMEM, "dispatch of kernel '%s': daemon out of memory", k->name);
		return;
	}
	VkCommandBuffer cb = sub->job.cb;
	const uint32_t n = p->iface.n_bindings, push_size = p->iface.push_size;
	bool same_layout = sub->bound_layout == p->layout;
	if (!same_layout || memcmp(sub->bound_set, bound, n * sizeof(*bound))) {
		VkDescriptorBufferInfo info[GPUCMD_MAX_BINDINGS];
		for (uint32_t i = 0; i < n; i++)
			info[i] = (VkDescriptorBufferInfo){bound[i].buf->buf, bound[i].offset, bound[i].range};
		if (gd_descriptors_bind(s->d->proc->gpu, &sub->desc, cb, p, info) < 0) {
			gd_session_fail(s, req, -ENOMEM, "dispatch of kernel '%s': no descriptor set could be allocated",
					k->name);
			sub->bound_layout = VK_NULL_HANDLE;
			return;
		}
		memcpy(sub->bound_set, bound, n * sizeof(*bound));
	}
	if (sub->bound != p->pipeline) {
		vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
		sub->bound = p->pipeline;
	}
	if (push_size && (!same_layout || push_size > GD_PUSH_CACHE || memcmp(sub->bound_push, push, push_size))) {
		vkCmdPushConstants(cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
		if (push_size <= GD_PUSH_CACHE)
			memcpy(sub->bound_push, push, push_size);
	}
	/* A push larger than the cache is never compared: it always goes out. */
	sub->bound_layout = push_size > GD_PUSH_CACHE ? VK_NULL_HANDLE : p->layout;
	vkCmdDispatch(cb, groups[0], groups[1], groups[2]);
	end_command(sub);
	if (s->capture) {
		int r = gd_graph_add_dispatch(s->capture, k, bound, push, groups, barrier_before);
		if (r < 0)
			capture_failed(s, req, r, "a dispatch of kernel", k->name);
		return;
	}
	s->dispatches++;
	if (s->client)
		s->client->dispatches++;
	s->d->stats.dispatches++;
	gd_session_submit_part(s);
}

void gd_session_copy(struct gd_session *s, uint64_t req, struct gd_buffer *src, uint64_t src_offset,
		     struct gd_buffer *dst, uint64_t dst_offset, uint64_t size)
{
	struct gd_access acc[2] = {
		{src, src_offset, src_offset + size, GD_ACCESS_READ},
		{dst, dst_offset, dst_offset + size, GD_ACCESS_WRITE},
	};
	struct gd_submission *sub = begin_command(s, req, "buffer copy", NULL, acc, 2, &COPY_SYNC, false);
	if (!sub)
		return;
	VkBufferCopy region = {src_offset, dst_offset, size};
	vkCmdCopyBuffer(sub->job.cb, src->buf, dst->buf, 1, &region);
	end_command(sub);
	int r = s->capture ? gd_graph_add_copy(s->capture, src, src_offset, dst, dst_offset, size) : 0;
	if (r < 0)
		capture_failed(s, req, r, "a buffer copy", NULL);
	gd_session_submit_part(s);
}

void gd_session_fill(struct gd_session *s, uint64_t req, struct gd_buffer *dst, uint64_t offset, uint64_t size,
		     uint32_t value)
{
	uint64_t end = size == VK_WHOLE_SIZE ? dst->size : offset + size;
	struct gd_access acc = {dst, offset, end, GD_ACCESS_WRITE};
	struct gd_submission *sub = begin_command(s, req, "buffer fill", NULL, &acc, 1, &FILL_SYNC, false);
	if (!sub)
		return;
	vkCmdFillBuffer(sub->job.cb, dst->buf, offset, size, value);
	end_command(sub);
	int r = s->capture ? gd_graph_add_fill(s->capture, dst, offset, size, value) : 0;
	if (r < 0)
		capture_failed(s, req, r, "a buffer fill", NULL);
	gd_session_submit_part(s);
}

void gd_session_capture_begin(struct gd_session *s, uint64_t req)
{
	if (s->capture) {
		gd_session_fail(s, req, -EBUSY, "capture_begin: the session is already capturing; call capture_end first");
		return;
	}
	if (!(s->capture = gd_graph_create(s->d, s->acct))) {
		gd_session_fail(s, req, -ENOMEM, "capture_begin: no command buffer could be made for the graph");
		return;
	}
	s->capture->failures_at_begin = s->failures;
	s->capture_barriers = s->barriers;
}

int gd_session_capture_end(struct gd_session *s, struct gd_graph **ret, char *err, size_t errlen)
{
	struct gd_graph *g = s->capture;
	if (!g) {
		snprintf(err, errlen, "capture_end: the session is not capturing (call capture_begin first)");
		return -EBUSY;
	}
	s->capture = NULL;
	g->barriers = s->barriers - s->capture_barriers;
	int r = 0;
	if (s->failures != g->failures_at_begin) {
		/* A command of the capture failed: a graph without it would
		 * silently compute something else. */
		r = s->err.code ? s->err.code : -EINVAL;
		snprintf(err, errlen, "capture failed, no graph was made: %s",
			 s->err.code ? s->err.msg : "a captured request failed");
		gd_kept_clear(&s->err);
	} else if ((r = gd_graph_end(g)) < 0) {
		snprintf(err, errlen, "capture_end: the graph's command buffer could not be finished");
	}
	if (r < 0) {
		gd_graph_unref(g);
		return r;
	}
	*ret = g;
	return 0;
}

static int keep_graph(struct gd_submission *sub, struct gd_graph *g)
{
	if (sub->n_graphs == sub->cap_graphs) {
		uint32_t cap = sub->cap_graphs ? sub->cap_graphs * 2 : 4;
		struct gd_graph **graphs = realloc(sub->graphs, cap * sizeof(*graphs));
		if (!graphs)
			return -ENOMEM;
		sub->graphs = graphs;
		sub->cap_graphs = cap;
	}
	sub->graphs[sub->n_graphs++] = gd_graph_ref(g);
	return 0;
}

void gd_session_execute(struct gd_session *s, uint64_t req, struct gd_graph *g)
{
	/* The graph is one command to the hazard tracker: its merged ranges;
	 * when they did not fit, barriers on both sides stand in for them. */
	struct gd_submission *sub = begin_command(s, req, "replay of a graph", NULL, g->summary, g->n_summary, &GRAPH_SYNC,
						  g->summary_full);
	if (!sub)
		return;
	for (uint32_t i = 0; i < g->n_slots; i++)
		if (keep_ref(sub, g->slots[i]) < 0) {
			gd_session_fail(s, req, -ENOMEM, "replay of a graph: daemon out of memory");
			return;
		}
	if (keep_graph(sub, g) < 0) {
		gd_session_fail(s, req, -ENOMEM, "replay of a graph: daemon out of memory");
		return;
	}
	vkCmdExecuteCommands(sub->job.cb, 1, &g->rec.job.cb);
	end_command(sub);
	/* The secondary leaves pipeline, descriptor and push-constant state undefined. */
	sub->bound = VK_NULL_HANDLE;
	sub->bound_layout = VK_NULL_HANDLE;
	if (g->summary_full) {
		gd_cmd_barrier(sub->job.cb, GD_WRITE_STAGES, GD_WRITE_ACCESS, GD_WRITE_STAGES, READ_ACCESS | GD_WRITE_ACCESS);
		gd_hazard_reset(&sub->hazard);
		sub->group = (struct gd_cmd_sync){0}; /* nothing since that barrier */
		sub->covered = GD_WRITE_STAGES;
		s->barriers++;
		s->groups++;
		s->d->stats.barriers++;
		s->d->stats.groups++;
	}
	s->dispatches += g->n_dispatches;
	s->d->stats.dispatches += g->n_dispatches;
	gd_session_submit_part(s);
}

void gd_graph_replay(struct gd_graph *g, struct gd_session *s, uint64_t req, bool changed)
{
	s->replays++;
	if (!changed && !s->capture) {
		gd_session_execute(s, req, g);
		return;
	}
	/* Recorded again, node by node, with the session's own hazard
	 * tracking: the barriers follow the new buffers' ranges. Inside a
	 * capture this inlines the graph into the new one (a secondary
	 * command buffer cannot execute another). Refused whole when the
	 * stage cannot take it, before a million nodes are visited in vain. */
	const struct gd_submission *sub = s->capture ? &s->capture->rec : s->open;
	uint64_t have = sub ? sub->job.n_commands : 0, most = s->d->proc->cfg.max_commands_per_stage;
	if (most && have + g->n_nodes > most) {
		gd_session_fail(s, req, -E2BIG, "graph replay: its %u commands recorded again would make the %s hold %llu, "
				"over max_commands_per_stage (%llu)", g->n_nodes, s->capture ? "capture" : "stage",
				(unsigned long long)(have + g->n_nodes), (unsigned long long)most);
		return;
	}
	for (uint32_t i = 0; i < g->n_nodes; i++) {
		const struct gd_graph_node *node = &g->nodes[i];
		const struct gd_graph_use *u = node->use;
		switch (node->kind) {
		case GD_NODE_DISPATCH: {
			struct gd_bound bound[GPUCMD_MAX_BINDINGS];
			for (uint32_t j = 0; j < node->n_uses; j++)
				bound[j] = (struct gd_bound){g->map[u[j].slot], u[j].offset, u[j].range};
			const uint8_t *push = g->push_override[i] ? g->push_override[i] : g->push + node->push_off;
			gd_session_dispatch(s, req, &node->k, bound, push, node->groups, node->barrier_before);
			break;
		}
		case GD_NODE_COPY:
			gd_session_copy(s, req, g->map[u[0].slot], u[0].offset, g->map[u[1].slot], u[1].offset,
					u[0].range);
			break;
		case GD_NODE_FILL:
			gd_session_fill(s, req, g->map[u[0].slot], u[0].offset, u[0].range, node->value);
			break;
		}
	}
}
