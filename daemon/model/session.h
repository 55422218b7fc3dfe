/*
 * session.h — an encoder session: the stage state machine of the seeds'
 * EncoderSession on Vulkan. A session records dispatches into one command
 * buffer at a time and hands it to the scheduler at commit; fences signal
 * the session's own timeline semaphore, created on the first fence.
 *
 * Lifetime: the connection's handle holds one reference, every committed
 * command buffer until it retires holds another. Closing drops the handle's
 * reference and discards uncommitted work; committed work still completes.
 */
#ifndef GD_SESSION_H
#define GD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "base/kept.h"
#include "model/submission.h"
#include "submit/scheduler.h"

#define GD_PART_FIRST 32            /* commands in an eager session's first part of a stage */
#define GD_PART_MAX 256             /* ... and in its longest */
#define GD_MAX_RESIDENCY_OPS 65536  /* residency changes staged between commits */
#define GD_PROFILED_SESSIONS_MAX 16 /* sessions of one connection with timing records */
#define GD_SPARE_MAX_COMMANDS 4096  /* a retired command buffer of more is freed, not kept for reuse */
#define GD_SPARES_MAX 8             /* command buffers a session keeps for reuse */

struct gd_account;
struct gd_buffer;
struct gd_client;
struct gd_fence;
struct gd_core;
struct gd_graph;
struct gd_kernel;
struct gd_program;


enum gd_commit_mode { GD_COMMIT_STAGE, GD_COMMIT_AND_WAIT, GD_COMMIT_FENCE };

struct gd_session {
	struct gd_core *d;
	struct gd_client *client;      /* NULL once closed */
	const struct gd_session_events *ev;
	struct gd_account *acct;     /* the opening connection's, referenced: in-flight counts */
	struct gd_lane lane;         /* its order in the scheduler, its priority and fence timeline */
	bool eager;                  /* stages go to the GPU in parts while recorded */
	uint32_t part_commands;      /* commands in the next part */
	uint64_t parts;              /* parts submitted before their stage's commit */
	uint32_t refs;
	char name[64];
	VkCommandPool pool;
	struct gd_fence *fence;      /* the session timeline, created on first use */
	bool exported;               /* fence_token is issued */
	uint8_t fence_token[16];
	struct gd_fence *xwait[GD_MAX_XWAITS]; /* waits for the next submission */
	uint64_t xwait_value[GD_MAX_XWAITS];
	uint32_t n_xwait;
	struct gd_submission *open;  /* being recorded, NULL when none */
	struct gd_submission *spares;
	uint32_t n_spares;
	struct gd_submission *newest;/* newest committed, until it retires */
	uint32_t in_flight;          /* committed, not yet retired */
	uint32_t held;               /* of those, held back for a fence */

	bool drained, fence_pending;
	uint64_t fence_value, wait_value, wait_count, next_wait;
	char stage_label[128], last_label[128];
	uint64_t syncs, dispatches, command_buffers, barriers, completed;
	uint64_t barriers_elided, barriers_forced, groups; /* hazard counters, see hazard.h */
	uint64_t replays;            /* graph replays recorded */

	bool profiling;              /* command buffers opened from now on are timed */
	struct gd_timing *timing;    /* records until fetched; NULL until profiling first turned on */
	uint64_t gpu_ns;             /* GPU time of its timed command buffers */
	uint64_t last_start_ns, last_end_ns; /* of the newest timed command buffer that retired */

	struct gd_graph *capture;    /* being captured (owned), NULL when not capturing */
	uint64_t capture_barriers;   /* `barriers` when the capture began */
	uint64_t failures;           /* every gd_session_fail, kept or not */

	struct gd_residency_op {     /* staged until the next commit */
		struct gd_buffer *buf;       /* referenced */
		bool add;
	} *residency;
	uint32_t n_residency, cap_residency;
	uint64_t residency_requests; /* add and remove calls, staged or applied */

	uint64_t sync_id;            /* request id of the commit_and_wait waiting */
	uint64_t sync_start_ns;      /* ... and when it came (round-trip latency, status) */
	struct gd_kept err;          /* first failure since the last report */
};

/* What a session tells the layer above, which answers its client. */
struct gd_session_events {
	/* A commit_and_wait (request req) is done: the reply carries s->err
	 * (code 0: none) and, when s->profiling, the newest command buffer's
	 * GPU times. The session clears s->err after. */
	void (*synced)(struct gd_session *s, uint64_t req);
};

/* Creates a session with one reference, owned by the caller (the handle).
 * An eager session submits long stages in parts before their commit. */
int gd_session_create(struct gd_core *d, struct gd_client *client, const struct gd_session_events *ev,
		      const char *name, enum gd_priority priority,
		      bool eager, struct gd_session **ret);
/* Discards uncommitted work, detaches from the connection, drops the
 * handle's reference. */
void gd_session_close(struct gd_session *s);

/* Keeps the first failure of a streamed request for the next sync call. */
void gd_session_fail(struct gd_session *s, uint64_t req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

void gd_session_begin_stage(struct gd_session *s, const char *label);
/* Commits the open stage; for GD_COMMIT_AND_WAIT, ev->synced answers
 * request `req` when the work retires. At most one commit_and_wait waits
 * at a time (sync_id): the caller refuses a second. */
void gd_session_commit(struct gd_session *s, uint64_t req, enum gd_commit_mode mode, const char *label);
void gd_session_reset(struct gd_session *s);
/* Stages adding or removing b from the residency set; it takes effect at
 * the session's next commit and is dropped if the session closes first. */
void gd_session_residency(struct gd_session *s, uint64_t req, struct gd_buffer *b, bool add);
/* Turns timestamp queries on or off for command buffers opened from now
 * on; -ENOTSUP (message in err) when the queue writes no timestamps. */
int gd_session_profile(struct gd_session *s, bool enable, char *err, size_t errlen);

/* The next submission waits on the GPU for fence f to reach value. */
void gd_session_wait_fence(struct gd_session *s, uint64_t req, struct gd_fence *f, uint64_t value);
/* The session's fence, created on demand; NULL when out of memory. */
struct gd_fence *gd_session_fence(struct gd_session *s);

/* For the encoder (encoder.c): the command buffer being recorded, opened
 * on first use (NULL when none can be opened); and, after a command, the
 * open one goes to the GPU as a part when it is due. */
struct gd_submission *gd_session_open(struct gd_session *s);
void gd_session_submit_part(struct gd_session *s);

/* Whether an eager session's open command buffer is long enough to go to
 * the GPU as a part (after the command being recorded). */
bool gd_session_part_due(const struct gd_session *s);

#endif
