/*
 * job.h — what the scheduler submits: jobs (one command buffer each), the
 * lanes they run in (one per session: order, priority, fence timeline) and
 * timelines other jobs wait on. Owned by their owners (model/session.c);
 * the scheduler only links them while queued or in flight.
 */
#ifndef GD_JOB_H
#define GD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define GD_MAX_XWAITS 4

struct gd_job;

/* HIGH work goes to a queue and a retire timeline of its own (the HIGH
 * track); within a loop turn's batch, ready work goes high first, then
 * normal, then low. Values as the protocol's Priority. */
enum gd_priority { GD_PRIORITY_NORMAL, GD_PRIORITY_HIGH, GD_PRIORITY_LOW, GD_PRIORITY_COUNT };

/* A timeline semaphore jobs signal and other jobs wait on (a session's
 * fence embeds one, model/fence.h). A wait goes to the queue only once the
 * signal it waits for has. */
struct gd_timeline {
	VkSemaphore sem;
	uint64_t submitted;    /* highest value whose signal is in the queue */
	bool abandoned;        /* its owner is gone ... */
	uint64_t last;         /* ... and values above this one never come */
	uint64_t bulk_turn;    /* the turn in which bulk work last raised `submitted` ... */
	uint64_t turn_base;    /* ... and its value before: HIGH work, submitted first, waits a turn */
};

/* What the scheduler keeps per session: its order and its timeline. */
struct gd_lane {
	enum gd_priority priority;
	struct gd_timeline *timeline; /* signalled by fence commits; NULL until the first */
	uint64_t last_value;          /* retire value of its newest job, on its track's timeline */
	uint64_t submit_order;        /* daemon-wide position of its newest job among all submitted */
	uint64_t blocked_pass;        /* scheduler pass in which a job of it was held */
	bool blocked_on_fence;        /* then: for a fence (else kept back by submit/hold.c) */
	uint64_t round;               /* the last batch round that took a job of it */
};

/* The track (retire timeline and queue) a lane's work goes to. */
static inline uint32_t gd_lane_track(const struct gd_lane *lane)
{
	return lane->priority == GD_PRIORITY_HIGH;
}

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

#endif
