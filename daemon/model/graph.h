/*
 * graph.h — a captured graph: the dispatches, copies and fills a session
 * recorded between capture_begin and capture_end, kept in the daemon as a
 * reusable secondary command buffer (with its barriers) plus the node list
 * it was recorded from, so that one replay message can run it again.
 *
 * A graph references every buffer it uses (its slots, in first-use order)
 * and every kernel program for as long as it exists. Lifetime: each connection handle holds one
 * reference, and so does every submission that executes it until it
 * retires. Replays without changes execute the recorded command buffer;
 * replays with new push constants or rebound buffers record the nodes again
 * into the session's stage (docs/ENCODER.md says why).
 */
#ifndef GD_GRAPH_H
#define GD_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "model/hazard.h"
#include "device/registry.h"
#include "model/submission.h"

enum gd_node_kind { GD_NODE_DISPATCH, GD_NODE_COPY, GD_NODE_FILL };

/* One recorded command; buffers are named by slot. */
struct gd_graph_node {
	enum gd_node_kind kind;
	struct gd_kernel k;           /* dispatch only; k.prog referenced (a client
				       * may unregister the kernel meanwhile) */
	uint32_t n_uses;              /* bindings; copy: src, dst; fill: dst */
	struct gd_graph_use {
		uint32_t slot;
		uint64_t offset, range;
	} use[GPUCMD_MAX_BINDINGS];
	uint32_t push_off;            /* into gd_graph.push, the kernel's push_size bytes */
	uint32_t groups[3];
	uint32_t value;               /* fill */
	bool barrier_before;          /* the client's explicit barrier */
};

struct gd_graph {
	struct gd_core *d;
	struct gd_account *acct;      /* referenced; what it keeps counts on it until the graph is freed */
	uint64_t charged;             /* on acct->graph_commands: its nodes and kernels (gd_graph_add_dispatch) */
	uint32_t progs_charged;       /* of rec.progs */
	uint32_t refs;
	VkCommandPool pool;
	struct gd_submission rec;     /* the secondary command buffer, its buffer references, hazard state */
	uint64_t failures_at_begin;   /* session failures when capture began */
	struct gd_graph_node *nodes;
	uint32_t n_nodes, cap_nodes, n_dispatches;
	uint64_t barriers;            /* recorded between nodes */
	uint8_t *push;
	uint32_t push_len, push_cap;
	struct gd_buffer **slots;     /* referenced; distinct buffers in first-use order */
	uint32_t n_slots, cap_slots;
	struct gd_access summary[GD_HAZARD_MAX_RANGES]; /* every node's accesses, merged */
	uint32_t n_summary;
	bool summary_full;            /* more than fit: replays are fenced by barriers */
	/* Scratch of one re-recording replay, sized at capture_end. */
	struct gd_buffer **map;       /* slot -> buffer */
	const uint8_t **push_override;/* node -> push constants, NULL: recorded ones */
};

/* Creates an empty graph recording into a fresh secondary command buffer,
 * with one reference owned by the caller; NULL when out of memory. Its
 * nodes count on connection account acct (max_graph_commands_per_client)
 * for as long as the graph lives, wherever it is imported: a graph is
 * host and driver memory of the daemon's that one request makes. So do the
 * kernels it keeps alive (a client may unregister them), one command per
 * GD_GRAPH_KERNEL_BYTES of SPIR-V each, as sent and as specialized. */
#define GD_GRAPH_KERNEL_BYTES 512
struct gd_graph *gd_graph_create(struct gd_core *d, struct gd_account *acct);
struct gd_graph *gd_graph_ref(struct gd_graph *g);
/* The last reference frees the command buffer and drops the buffers. */
void gd_graph_unref(struct gd_graph *g);

/* Adds a node while capturing; -ENOMEM, -E2BIG (over 4 GiB of push
 * constants) or -EDQUOT (max_graph_commands_per_client) leaves the graph
 * unusable (the caller fails the capture; gd_graph_error says why). */
int gd_graph_add_dispatch(struct gd_graph *g, const struct gd_kernel *k, const struct gd_bound *bound,
			  const void *push, const uint32_t groups[3], bool barrier_before);
int gd_graph_add_copy(struct gd_graph *g, struct gd_buffer *src, uint64_t src_offset, struct gd_buffer *dst,
		      uint64_t dst_offset, uint64_t size);
int gd_graph_add_fill(struct gd_graph *g, struct gd_buffer *dst, uint64_t offset, uint64_t size, uint32_t value);
/* What an error of gd_graph_add_* means, for the capture's message. */
const char *gd_graph_error(const struct gd_graph *g, int r, char *buf, size_t len);
/* Ends the recording; 0 or -ENOMEM / -EIO. */
int gd_graph_end(struct gd_graph *g);


#endif
