/*
 * graph.c — captured graphs (see graph.h): the secondary command buffer a
 * capture records into, the node list and buffer slots kept beside it, and
 * replay. Everything runs on the loop thread. Capture allocates (it happens
 * once); a replay without changes allocates nothing, one with changes only
 * what recording into the session's stage may.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/account.h"
#include "model/buffer.h"
#include "model/core.h"
#include "device/gpu.h"
#include "device/vkcheck.h"
#include "model/graph.h"
#include "submit/scheduler.h"

struct gd_graph *gd_graph_create(struct gd_core *d, struct gd_account *acct)
{
	struct gd_graph *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->d = d;
	g->acct = gd_account_ref(acct);
	g->refs = 1;
	d->stats.live_graphs++;
	VkDevice dev = d->proc->gpu->device;
	VkCommandPoolCreateInfo pi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.queueFamilyIndex = d->proc->gpu->family,
	};
	if (vkCreateCommandPool(dev, &pi, NULL, &g->pool) != VK_SUCCESS)
		goto fail;
	VkCommandBufferAllocateInfo ai = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
		.commandPool = g->pool,
		.level = VK_COMMAND_BUFFER_LEVEL_SECONDARY,
		.commandBufferCount = 1,
	};
	if (vkAllocateCommandBuffers(dev, &ai, &g->rec.job.cb) != VK_SUCCESS)
		goto fail;
	/* Reusable, and possibly pending in several sessions' command
	 * buffers at once (two replays, or two connections through a token). */
	VkCommandBufferInheritanceInfo inh = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_INHERITANCE_INFO};
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT,
		.pInheritanceInfo = &inh,
	};
	if (vkBeginCommandBuffer(g->rec.job.cb, &bi) != VK_SUCCESS)
		goto fail;
	g->rec.serial = gd_scheduler_serial(d->sched);
	return g;
fail:
	gd_graph_unref(g);
	return NULL;
}

struct gd_graph *gd_graph_ref(struct gd_graph *g)
{
	g->refs++;
	return g;
}

void gd_graph_unref(struct gd_graph *g)
{
	if (!g || --g->refs)
		return;
	for (uint32_t i = 0; i < g->rec.n_refs; i++)
		gd_buffer_unref(g->rec.refs[i]);
	for (uint32_t i = 0; i < g->rec.n_progs; i++)
		gd_program_unref(g->rec.progs[i]);
	for (uint32_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].kind == GD_NODE_DISPATCH)
			gd_program_unref(g->nodes[i].k.prog);
	for (uint32_t i = 0; i < g->n_slots; i++)
		gd_buffer_unref(g->slots[i]);
	g->acct->graph_commands -= g->charged;
	gd_account_unref(g->acct);
	if (g->pool)
		vkDestroyCommandPool(g->d->proc->gpu->device, g->pool, NULL);
	gd_descriptors_finish(g->d->proc->gpu, &g->rec.desc);
	g->d->stats.live_graphs--;
	free(g->rec.refs);
	free(g->rec.progs);
	free(g->nodes);
	free(g->push);
	free(g->slots);
	free(g->map);
	free(g->push_override);
	free(g);
}

/* The slot of buffer b, added (and referenced) on first use; -ENOMEM. */
static int64_t slot_of(struct gd_graph *g, struct gd_buffer *b)
{
	for (uint32_t i = 0; i < g->n_slots; i++)
		if (g->slots[i] == b)
			return i;
	if (g->n_slots == g->cap_slots) {
		uint32_t cap = g->cap_slots ? 2 * g->cap_slots : 8;
		struct gd_buffer **s = realloc(g->slots, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		g->slots = s;
		g->cap_slots = cap;
	}
	g->slots[g->n_slots] = gd_buffer_ref(b);
	return g->n_slots++;
}

/* n more commands' worth on the account, or -EDQUOT past the limit. */
static int charge(struct gd_graph *g, uint64_t n)
{
	uint32_t most = g->d->proc->cfg.max_graph_commands_per_client;
	if (most && g->acct->graph_commands + n > most)
		return -EDQUOT;
	g->acct->graph_commands += n;
	g->charged += n;
	return 0;
}

/* A new node with its uses set from (buffer, offset, range) triples in
 * *ret; 0, -EDQUOT or -ENOMEM. */
static int add_node(struct gd_graph *g, enum gd_node_kind kind, uint32_t n, struct gd_buffer *const *bufs,
		    const uint64_t *offsets, const uint64_t *ranges, struct gd_graph_node **ret)
{
	int r = charge(g, 1);
	if (r < 0)
		return r;
	if (g->n_nodes == g->cap_nodes) {
		uint32_t cap = g->cap_nodes ? 2 * g->cap_nodes : 16;
		struct gd_graph_node *nodes = realloc(g->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		g->nodes = nodes;
		g->cap_nodes = cap;
	}
	struct gd_graph_node *node = &g->nodes[g->n_nodes];
	memset(node, 0, sizeof(*node));
	node->kind = kind;
	node->n_uses = n;
	for (uint32_t i = 0; i < n; i++) {
		int64_t slot = slot_of(g, bufs[i]);
		if (slot < 0)
			return -ENOMEM;
		node->use[i] = (struct gd_graph_use){(uint32_t)slot, offsets[i], ranges[i]};
	}
	g->n_nodes++;
	*ret = node;
	return 0;
}

const char *gd_graph_error(const struct gd_graph *g, int r, char *buf, size_t len)
{
	if (r == -E2BIG)
		return "the capture holds 4 GiB of push constants, the most a graph keeps";
	if (r != -EDQUOT)
		return "daemon out of memory";
	snprintf(buf, len, "this connection's graphs and captures hold %" PRIu64 " commands, the most "
		 "max_graph_commands_per_client allows (a kernel a graph keeps counts one per %u bytes of its "
		 "SPIR-V; graph_free frees a graph's)", g->acct->graph_commands, GD_GRAPH_KERNEL_BYTES);
	return buf;
}

int gd_graph_add_dispatch(struct gd_graph *g, const struct gd_kernel *k, const struct gd_bound *bound,
			  const void *push, const uint32_t groups[3], bool barrier_before)
{
	struct gd_buffer *bufs[GPUCMD_MAX_BINDINGS];
	uint64_t offsets[GPUCMD_MAX_BINDINGS], ranges[GPUCMD_MAX_BINDINGS];
	const struct gd_iface *f = &k->prog->iface;
	for (uint32_t i = 0; i < f->n_bindings; i++) {
		bufs[i] = bound[i].buf;
		offsets[i] = bound[i].offset;
		ranges[i] = bound[i].range;
	}
	/* 64-bit, and at most 4 GiB in all: doubling a 32-bit capacity past
	 * 2 GiB would wrap to 0 and never reach what is needed. */
	uint64_t need = (uint64_t)g->push_len + f->push_size;
	if (need > UINT32_MAX)
		return -E2BIG;
	if (need > g->push_cap) {
		uint64_t cap = g->push_cap ? 2ull * g->push_cap : 256;
		while (cap < need)
			cap *= 2;
		if (cap > UINT32_MAX)
			cap = UINT32_MAX;
		uint8_t *p = realloc(g->push, cap);
		if (!p)
			return -ENOMEM;
		g->push = p;
		g->push_cap = (uint32_t)cap;
	}
	/* The programs recording added to rec.progs since the last node: a
	 * graph keeps each alive, after kernel_unregister too. */
	uint64_t kept = 0;
	for (; g->progs_charged < g->rec.n_progs; g->progs_charged++) {
		const struct gd_program *p = g->rec.progs[g->progs_charged];
		kept += (p->size + p->code_size) / GD_GRAPH_KERNEL_BYTES;
	}
	struct gd_graph_node *node;
	int r = charge(g, kept);
	if (r < 0)
		return r;
	r = add_node(g, GD_NODE_DISPATCH, f->n_bindings, bufs, offsets, ranges, &node);
	if (r < 0)
		return r;
	node->k = *k;
	gd_program_ref(k->prog);
	node->push_off = g->push_len;
	memcpy(g->push + g->push_len, push, f->push_size);
	g->push_len += f->push_size;
	memcpy(node->groups, groups, sizeof(node->groups));
	node->barrier_before = barrier_before;
	g->n_dispatches++;
	return 0;
}

int gd_graph_add_copy(struct gd_graph *g, struct gd_buffer *src, uint64_t src_offset, struct gd_buffer *dst,
		      uint64_t dst_offset, uint64_t size)
{
	struct gd_buffer *bufs[2] = {src, dst};
	uint64_t offsets[2] = {src_offset, dst_offset}, ranges[2] = {size, size};
	struct gd_graph_node *node;
	return add_node(g, GD_NODE_COPY, 2, bufs, offsets, ranges, &node);
}

int gd_graph_add_fill(struct gd_graph *g, struct gd_buffer *dst, uint64_t offset, uint64_t size, uint32_t value)
{
	/* "To the end" is kept as the bytes it meant, so that a larger buffer
	 * rebound later gets the same range: whole words, the last partial
	 * one included, as in the buffer rounded up to words that it filled. */
	uint64_t range = size == VK_WHOLE_SIZE ? ((dst->size + 3) & ~(uint64_t)3) - offset : size;
	struct gd_graph_node *node;
	int r = add_node(g, GD_NODE_FILL, 1, &dst, &offset, &range, &node);
	if (r < 0)
		return r;
	node->value = value;
	return 0;
}

/* How node i uses its j-th buffer, for the summary. */
static enum gd_access_kind use_kind(const struct gd_graph_node *node, uint32_t j)
{
	switch (node->kind) {
	case GD_NODE_DISPATCH:
	{
		const struct gd_iface *f = &node->k.prog->iface;
		return f->read_only[j] ? GD_ACCESS_READ : f->write_only[j] ? GD_ACCESS_WRITE : GD_ACCESS_RW;
	}
	case GD_NODE_COPY:
		return j == 0 ? GD_ACCESS_READ : GD_ACCESS_WRITE;
	default:
		return GD_ACCESS_WRITE;
	}
}

/* The union of every node's accesses, merged per buffer and kind, which a
 * replay presents to the session's hazard tracker as one command. */
static void summarize(struct gd_graph *g)
{
	struct gd_hazard h = {.n = 0};
	for (uint32_t i = 0; i < g->n_nodes && !g->summary_full; i++) {
		const struct gd_graph_node *node = &g->nodes[i];
		for (uint32_t j = 0; j < node->n_uses; j++) {
			const struct gd_graph_use *u = &node->use[j];
			struct gd_access a = {g->slots[u->slot], u->offset, u->offset + u->range, use_kind(node, j)};
			if (!gd_hazard_merge(&h, &a)) {
				g->summary_full = true;
				break;
			}
		}
	}
	memcpy(g->summary, h.r, h.n * sizeof(h.r[0]));
	g->n_summary = h.n;
}

int gd_graph_end(struct gd_graph *g)
{
	g->map = calloc(g->n_slots ? g->n_slots : 1, sizeof(*g->map));
	g->push_override = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*g->push_override));
	if (!g->map || !g->push_override)
		return -ENOMEM;
	int r = gd_vk_check("vkEndCommandBuffer", vkEndCommandBuffer(g->rec.job.cb));
	if (r < 0)
		return r;
	summarize(g);
	return 0;
}
