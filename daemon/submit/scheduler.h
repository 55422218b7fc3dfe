/*
 * scheduler.h — the one submission path to the device. Committed command
 * buffers (jobs) of every session gather in a ready queue during a loop
 * turn and go to the GPU at the end of the turn, one vkQueueSubmit2 per
 * track: HIGH sessions' work to a queue of its own where the family has
 * two (else the same queue, first), bulk work to the other. Each job
 * signals the next value of its track's retire timeline and waits on its
 * lane's previous one, so a session's work runs in order while different
 * sessions overlap. The daemon keeps bulk work back while HIGH work is
 * about, and bounds a lane's depth while others wait (hold.h). A
 * completion thread (completion.h) watches both retire timelines and wakes
 * the loop, which retires finished work in order on each track.
 *
 * The scheduler knows jobs, lanes and timelines, never sessions or
 * clients: it reports to the owner of each job through the job's ops, and
 * to the daemon (work retired, device lost) through the listener given at
 * creation.
 */
#ifndef GD_SCHEDULER_H
#define GD_SCHEDULER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>
#include <vulkan/vulkan.h>

#include "submit/job.h"

struct gd_config;
struct gd_gpu;

/* What the scheduler tells the daemon. */
struct gd_scheduler_listener {
	/* Work retired or failed: requests that waited for it may go on. */
	void (*progress)(void *data);
	/* The device is lost: why, and whether its work may still be running
	 * (a hang) rather than given up. */
	void (*lost)(void *data, const char *why, bool hung);
	void *data;
};

/* How a scheduler shares the device with other shards' (docs/SHARDS.md);
 * all zero for the only one. */
struct gd_scheduler_shard {
	VkQueue queue;                 /* every track's; VK_NULL_HANDLE: the device's queue per track */
	VkQueue shared_queue;          /* one another shard submits to as well: */
	pthread_mutex_t *queue_lock;   /* held around each vkQueueSubmit2 to it */
	uint64_t serial_base;          /* serials start above it, unique in the process (encoder.c) */
	_Atomic uint64_t *high_seen_ns; /* HIGH activity of every shard, which the hold sees; may be NULL */
	bool loop_polls;               /* its loop polls for what its clients wait for: the completion thread blocks, never spins */
};

struct gd_scheduler *gd_scheduler_create(uv_loop_t *loop, struct gd_gpu *gpu, const struct gd_config *cfg,
					 const struct gd_scheduler_listener *listener, const struct gd_scheduler_shard *shard);
/* Waits for all submitted work, retires it, stops the thread. Accepts NULL. */
void gd_scheduler_destroy(struct gd_scheduler *s);

/* Queues a committed job; it is submitted at the end of the turn. */
void gd_scheduler_queue(struct gd_scheduler *s, struct gd_job *job);
/* Destroys sem once the queue is certainly done with every submission made
 * so far: when a later one has completed, or at the scheduler's end. Seeing
 * a submission's retire value is not enough: lavapipe may still be
 * signalling the batch's other semaphores (a session's fence). */
void gd_scheduler_destroy_semaphore(struct gd_scheduler *s, VkSemaphore sem);
/* Process-wide serial for a new recording (reference dedup, encoder.c). */
uint64_t gd_scheduler_serial(struct gd_scheduler *s);
/* Fails every job still held back waiting for another lane's timeline
 * (shutdown: nothing will release them any more); bulk work the daemon
 * kept back goes to the GPU from now on. */
void gd_scheduler_cancel_held(struct gd_scheduler *s);
/* Stops the watcher handles so the loop can end (shutdown). */
void gd_scheduler_close(struct gd_scheduler *s);
/* Whether they have finished closing: only then may s be destroyed while
 * its loop goes on. */
bool gd_scheduler_closed(const struct gd_scheduler *s);
/* Jobs queued or in flight. */
uint64_t gd_scheduler_pending(const struct gd_scheduler *s);
/* The loop thread's poll after a commit_and_wait (loop_poll_us, resolved);
 * the handshake suggests it to clients for their own wait for a reply. */
uint32_t gd_scheduler_loop_poll_us(const struct gd_scheduler *s);
/* Between the requests of a busy turn (net/conn.c): answers HIGH work
 * that finished (one read of its timeline; every eighth call the other
 * tracks' too, retiring what finished there) and submits HIGH work
 * queued since the turn began (with everything else ready), now rather
 * than once every other connection's requests are handled. It does not
 * poll for what it submitted: the rest of the turn goes on, and the poll
 * runs before the loop would block (a poll here held the connections
 * after it, up to loop_poll_us each time, BENCHMARKS.md). */
void gd_scheduler_interleave_high(struct gd_scheduler *s);
/* Whether HIGH work is pending or was seen within high_window_ms: bulk
 * work is then kept few deep and cut short (hold.h). */
bool gd_scheduler_high_active(const struct gd_scheduler *s);
/* Takes the reloadable keys of cfg (SIGHUP). */
void gd_scheduler_configure(struct gd_scheduler *s, const struct gd_config *cfg);
/* Time since the completion thread last showed it is alive; it does so at
 * least every 100 ms unless it is stuck. Any thread may call it. */
uint64_t gd_scheduler_heartbeat_age_ns(struct gd_scheduler *s);
/* What the scheduler counted since it was made. */
struct gd_scheduler_counts {
	uint64_t submissions;        /* jobs submitted */
	uint64_t kept_back;          /* loop turns in which ready bulk work was kept back (hold.h) */
	uint64_t round_trips;        /* jobs that went to the round-trip track (job.h) */
	uint64_t retire_cpu_ns;      /* CPU time of the completion thread */
};
void gd_scheduler_get_counts(struct gd_scheduler *s, struct gd_scheduler_counts *ret);

#endif
