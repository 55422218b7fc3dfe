/*
 * fence.h — a session's stage-fence timeline as an object that can outlive
 * the session, reached by other connections through a token (token.h).
 *
 * A fence is a Vulkan timeline semaphore plus what the loop knows about it:
 * the highest value whose signal was submitted (`submitted`) and the highest
 * whose signalling work retired (`completed`). Another session may make its
 * GPU work wait on a value only once that value has been submitted, so no
 * queue ever waits on a signal that might never come; when the owning
 * session goes away first, the fence is `abandoned` and such waits fail.
 */
#ifndef GD_FENCE_H
#define GD_FENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "gpucmd_defs.h"

#include <vulkan/vulkan.h>

#include "base/list.h"
#include "submit/scheduler.h"

struct gd_client;
struct gd_core;

struct gd_fence {
	struct gd_timeline tl;    /* what the scheduler sees: semaphore, submitted, abandoned */
	struct gd_core *d;
	uint32_t refs;
	uint64_t completed;
	struct gd_list waiters;   /* struct gd_fence_waiter.link */
};

/* The fence whose timeline tl is. */
static inline struct gd_fence *gd_fence_of(struct gd_timeline *tl)
{
	return gd_container_of(tl, struct gd_fence, tl);
}

/* A new fence with one reference owned by the caller, or NULL. */
struct gd_fence *gd_fence_create(struct gd_core *d);
struct gd_fence *gd_fence_ref(struct gd_fence *f);
/* Drops a reference; the last one destroys the fence (its semaphore once
 * the queue is done with it). Accepts NULL. */
void gd_fence_unref(struct gd_fence *f);

/* The signalling work of `value` retired: wakes host waiters. */
void gd_fence_completed(struct gd_fence *f, uint64_t value);
/* The owner is gone: values above `last` (its last committed fence) never
 * come. Fails the waiters that wait for them. */
void gd_fence_abandon(struct gd_fence *f, uint64_t last);

/* How a host wait is answered: status 0 when the value was reached, else
 * why not (msg). The request layer builds the reply. */
typedef void gd_fence_answer_fn(struct gd_client *c, uint64_t req, int status, const char *msg);

/* A host wait by client c, answered through `answer` to request `req` when
 * value is reached; timeout_ms 0 answers at once. With event_fd >= 0 (the write end
 * of a non-blocking pipe only the daemon holds, which the fence then owns)
 * the answer is the 8-byte value 1 written to it, or 2 when the value will
 * never come. Counts against c's account until it ends (account.h). */
int gd_fence_wait(struct gd_fence *f, struct gd_client *c, uint64_t req, uint64_t value, uint32_t timeout_ms,
		  int event_fd, gd_fence_answer_fn *answer);
/* The daemon's parked waits (gd_core.fence_waits): gd_fence_waits_init
 * before the first wait; _close closes their timer once no wait can come
 * (the stop; a later wait with a timeout is answered at once), _finish frees
 * the waiter structs kept for reuse once the loop has ended. */
void gd_fence_waits_init(struct gd_core *d);
void gd_fence_waits_close(struct gd_core *d);
void gd_fence_waits_finish(struct gd_core *d);
/* Drops every waiter of connection c (it is closing). */
void gd_fence_drop_waiters(struct gd_core *d, struct gd_client *c);
/* Whether connection c waits on a fence on the host (or by an eventfd). */
bool gd_fence_has_waiters(struct gd_core *d, const struct gd_client *c);

#endif
