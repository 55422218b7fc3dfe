/*
 * encoder.h — recording into a session's stage: dispatches, copies, fills,
 * captures and graph executions, each ordered after the commands before it
 * by hazard tracking (a barrier only where ranges conflict) and recorded
 * without state the command buffer already has bound.
 */
#ifndef GD_ENCODER_H
#define GD_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/submission.h"

struct gd_graph;
struct gd_kernel;
struct gd_session;

/* Records a dispatch. Arguments are already validated against the kernel's
 * reflection; only the session's state can still refuse it (a failure is
 * kept with gd_session_fail). A barrier goes before it when it conflicts
 * with the current concurrent group, or always with barrier_before. */
void gd_session_dispatch(struct gd_session *s, uint64_t req, const struct gd_kernel *k,
			 const struct gd_bound *bound, const void *push, const uint32_t groups[3],
			 bool barrier_before);
/* Records a copy of size bytes, or a fill of size bytes (a multiple of 4)
 * with a 32-bit value. Ranges are already validated by the caller. */
void gd_session_copy(struct gd_session *s, uint64_t req, struct gd_buffer *src, uint64_t src_offset,
		     struct gd_buffer *dst, uint64_t dst_offset, uint64_t size);
void gd_session_fill(struct gd_session *s, uint64_t req, struct gd_buffer *dst, uint64_t offset, uint64_t size,
		     uint32_t value);
/* Starts capturing: commands go into a new graph instead of the stage. */
void gd_session_capture_begin(struct gd_session *s, uint64_t req);
/* Ends the capture. Returns 0 and the graph (one reference, the caller's),
 * or a negative code with the reason in err (the session's kept failure
 * during the capture is reported here, once). */
int gd_session_capture_end(struct gd_session *s, struct gd_graph **ret_graph, char *err, size_t errlen);
/* Records the graph's command buffer into the stage as one command. */
void gd_session_execute(struct gd_session *s, uint64_t req, struct gd_graph *g);

/* Records the graph into session s's stage (or its capture): the recorded
 * command buffer when g->map holds the graph's own slots and
 * g->push_override is all NULL (changed = false), the node list with them
 * applied otherwise. The caller sets both, validated. */
void gd_graph_replay(struct gd_graph *g, struct gd_session *s, uint64_t req, bool changed);

#endif
