/*
 * scheduler.h — the one submission path to the device. Committed command
 * buffers (jobs) of every session gather in a ready queue during a loop
 * turn and go to the queue in one vkQueueSubmit2 at the end of the turn;
 * each signals the next value of the daemon's retire timeline and waits on
 * its lane's previous one, so a session's work runs in order while
 * different sessions overlap. A completion thread (completion.h) watches
 * the retire timeline and wakes the loop, which retires finished work in
 * order.
 *
 * The scheduler knows jobs, lanes and timelines, never sessions or
 * clients: it reports to the owner of each job through the job's ops, and
 * to the daemon (work retired, device lost) through the listener given at
 * creation.
 */
#ifndef GD_SCHEDULER_H
#define GD_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>
#include <vulkan/vulkan.h>

#define GD_MAX_XWAITS 4

struct gd_config;
struct gd_gpu;
struct gd_job;

/* Within a loop turn's batch, ready work goes to the queue high first,
 * then normal, then low. Values as the protocol's Priority. */
enum gd_priority { GD_PRIORITY_NORMAL, GD_PRIORITY_HIGH, GD_PRIORITY_LOW, GD_PRIORITY_COUNT };

/* A timeline semaphore jobs signal and other jobs wait on (a session's
 * fence embeds one, model/fence.h). A wait goes to the queue only once the
 * signal it waits for has. */
struct gd_timeline {
	VkSemaphore sem;
	uint64_t submitted;    /* highest value whose signal is in the queue */
	bool abandoned;        /* its owner is gone ... */
	uint64_t last;         /* ... and values above this one never come */
};

/* What the scheduler keeps per session: its order and its timeline. */
struct gd_lane {
	enum gd_priority priority;
	struct gd_timeline *timeline; /* signalled by fence commits; NULL until the first */
	uint64_t last_value;          /* retire value of its newest job */
	uint64_t blocked_pass;        /* scheduler pass in which a job of it was held */
};

/* How the scheduler reports to a job's owner. */
struct gd_job_ops {
	/* It went to the queue; or it is held back for another lane's
	 * timeline (work that cannot run yet). */
	void (*submitted)(struct gd_job *job);
	void (*held)(struct gd_job *job);
	/* It failed (never ran, or the device was lost): why, to keep for
	 * the owner's client. job->failed is set; retired follows. */
	void (*failed)(struct gd_job *job, int code, const char *why);
	/* Finished, in lane order; the scheduler forgets it. */
	void (*retired)(struct gd_job *job);
	/* Names the owner in a log line or a goodbye. */
	void (*describe)(const struct gd_job *job, char *buf, size_t len);
	/* The device was lost while it was on the GPU. */
	void (*lost)(struct gd_job *job, const char *why);
};

/* One command buffer on its way to the GPU. */
struct gd_job {
	struct gd_job *next;          /* scheduler lists, or the owner's while not queued */
	const struct gd_job_ops *ops;
	struct gd_lane *lane;
	VkCommandBuffer cb;
	uint64_t value;               /* retire-timeline value, set at submit */
	uint64_t prev_value;          /* the lane's value before this one */
	uint64_t fence_signal;        /* lane timeline value to signal, 0: none */
	uint64_t fence_wait;          /* lane timeline value to wait for, 0: none */
	struct gd_timeline *xwait[GD_MAX_XWAITS]; /* other lanes' timelines it waits on */
	uint64_t xwait_value[GD_MAX_XWAITS];
	uint32_t n_xwait;
	uint32_t n_commands;          /* commands recorded: long ones are not polled for */
	bool sync;                    /* someone waits for it: worth polling */
	bool part;                    /* an eager session's part: nobody waits on it */
	bool failed;
};

/* What the scheduler tells the daemon. */
struct gd_scheduler_listener {
	/* Work retired or failed: requests that waited for it may go on. */
	void (*progress)(void *data);
	/* The device is lost: why, and whether its work may still be running
	 * (a hang) rather than given up. */
	void (*lost)(void *data, const char *why, bool hung);
	void *data;
};

struct gd_scheduler *gd_scheduler_create(uv_loop_t *loop, struct gd_gpu *gpu, const struct gd_config *cfg,
					 const struct gd_scheduler_listener *listener);
/* Waits for all submitted work, retires it, stops the thread. Accepts NULL. */
void gd_scheduler_destroy(struct gd_scheduler *s);

/* Queues a committed job; it is submitted at the end of the turn. */
void gd_scheduler_queue(struct gd_scheduler *s, struct gd_job *job);
/* Destroys sem once the queue is certainly done with every submission made
 * so far: when a later one has completed, or at the scheduler's end. Seeing
 * a submission's retire value is not enough: lavapipe may still be
 * signalling the batch's other semaphores (a session's fence). */
void gd_scheduler_destroy_semaphore(struct gd_scheduler *s, VkSemaphore sem);
/* Daemon-wide serial for a new recording (buffer-reference dedup). */
uint64_t gd_scheduler_serial(struct gd_scheduler *s);
/* Fails every job still held back waiting for another lane's timeline
 * (shutdown: nothing will release them any more). */
void gd_scheduler_cancel_held(struct gd_scheduler *s);
/* Stops the watcher handles so the loop can end (shutdown). */
void gd_scheduler_close(struct gd_scheduler *s);
/* Jobs queued or in flight; jobs submitted since start. */
uint64_t gd_scheduler_pending(const struct gd_scheduler *s);
uint64_t gd_scheduler_submissions(const struct gd_scheduler *s);
/* The loop thread's poll after a commit_and_wait (loop_poll_us, resolved);
 * the handshake suggests it to clients for their own wait for a reply. */
uint32_t gd_scheduler_loop_poll_us(const struct gd_scheduler *s);
/* Time since the completion thread last showed it is alive; it does so at
 * least every 100 ms unless it is stuck. Any thread may call it. */
uint64_t gd_scheduler_heartbeat_age_ns(struct gd_scheduler *s);

#endif
