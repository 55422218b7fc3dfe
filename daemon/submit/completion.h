/*
 * completion.h — the completion thread: it watches the retire timelines,
 * one per track (job.h), polling briefly, then blocking on whichever
 * moves first, and wakes the loop when values complete.
 * It also says when the device gave up: a wait that failed (device lost) or
 * a value that ran past submission_timeout_ms (a hang).
 *
 * Threads: the loop thread calls everything here; the thread shares
 * `submitted` (under a mutex) and `completed`, `abandoned`, the result and
 * the heartbeat (atomics) with it, and wakes it with uv_async_send.
 */
#ifndef GD_COMPLETION_H
#define GD_COMPLETION_H

#include <stdint.h>

#include <uv.h>
#include <vulkan/vulkan.h>

#include "submit/job.h"

struct gd_completion;

/* Starts the thread watching the n_tracks timelines `retire` on dev. It polls up to spin_ns before
 * blocking, reports a value running past hang_ns (0: never) as a hang, and
 * sends `wake` when values complete. NULL when out of memory or the thread
 * cannot start. */
struct gd_completion *gd_completion_create(VkDevice dev, const VkSemaphore *retire, uint32_t n_tracks, uint64_t spin_ns,
					   uint64_t hang_ns, uv_async_t *wake);
/* Stops the thread and waits for it to end: what it saw complete stays
 * readable. Again: a no-op. */
void gd_completion_stop(struct gd_completion *c);
/* Stops the thread if it runs and frees c. Accepts NULL. */
void gd_completion_destroy(struct gd_completion *c);

/* Every value of track's timeline up to `value` is in a queue. */
void gd_completion_submitted(struct gd_completion *c, uint32_t track, uint64_t value);
/* The highest value of track's timeline known complete. */
uint64_t gd_completion_done(struct gd_completion *c, uint32_t track);
/* The same after reading the timeline now (the loop thread, for work it
 * must answer before the completion thread's report could reach it). */
uint64_t gd_completion_check(struct gd_completion *c, uint32_t track);
/* The first value worth polling for (UINT64_MAX: none): values before it
 * are long or nobody waits on them, and are waited for blocking. */
void gd_completion_spin_from(struct gd_completion *c, uint32_t track, uint64_t value);
/* VK_SUCCESS, or why the thread gave up: then every value up to
 * abandoned() will never complete. hung_ns() tells how long the oldest ran
 * when it gave up on a hang (VK_TIMEOUT). */
VkResult gd_completion_result(struct gd_completion *c);
uint64_t gd_completion_abandoned(struct gd_completion *c, uint32_t track);
uint64_t gd_completion_hung_ns(struct gd_completion *c);
/* The loop thread polls for `target` of track's timeline itself for up to
 * max_ns, stopping as soon as another event is ready on the epoll fd efd. */
void gd_completion_poll(struct gd_completion *c, int efd, uint32_t track, uint64_t target, uint64_t max_ns);
/* Time since the thread last showed it is alive (at least every 100 ms
 * unless stuck in the driver). Any thread may call it. */
uint64_t gd_completion_heartbeat_age_ns(struct gd_completion *c);
/* CPU time the thread has used (0 once it ended or where the clock cannot
 * be read). Any thread may call it. */
uint64_t gd_completion_cpu_ns(struct gd_completion *c);

#endif
