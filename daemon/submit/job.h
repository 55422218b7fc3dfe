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

/* Values as the protocol's Priority; within a loop turn's batch ready work
 * goes high first, then normal, then low. */
enum gd_priority { GD_PRIORITY_NORMAL, GD_PRIORITY_HIGH, GD_PRIORITY_LOW, GD_PRIORITY_COUNT };

/*
 * Tracks: a queue and a retire timeline each, in the order a turn submits
 * them. HIGH sessions' work; a normal or low session's round trip (a
 * commit_and_wait with nothing else of its client in flight), so that it
 * does not queue behind another client's flood; the rest, bulk. Tracks may
 * share a VkQueue (gpu.h); each keeps its own timeline and order of
 * retirement. A lane moves between round-trip and bulk only with nothing
 * queued or in flight, so its work still retires in order.
 */
enum gd_track { GD_TRACK_HIGH, GD_TRACK_ROUND_TRIP, GD_TRACK_BULK, GD_TRACKS };

/* A timeline semaphore jobs signal and other jobs wait on (a session's
 * fence embeds one, model/fence.h). A wait goes to the queue only once the
 * signal it waits for has: submitted in an earlier turn, or earlier in this
 * one (a track submitted before the waiter's, or the same track). */
struct gd_timeline {
	VkSemaphore sem;
	uint64_t submitted;    /* highest value whose signal is in the queue, or in this turn's batches */
	bool abandoned;        /* its owner is gone ... */
	uint64_t last;         /* ... and values above this one never come */
	uint64_t raised_turn;  /* the turn in which work last raised `submitted`, */
	uint64_t turn_base;    /* its value before, */
	enum gd_track raised_track; /* and the track of that work */
};

/* Work of track `track` in turn `turn` raises tl to `value`. */
static inline void gd_timeline_raise(struct gd_timeline *tl, uint64_t turn, enum gd_track track, uint64_t value)
{
	if (tl->raised_turn != turn) {
		tl->raised_turn = turn;
		tl->turn_base = tl->submitted;
	}
	tl->raised_track = track;
	tl->submitted = value;
}

/* The highest value of tl that work of `track` may wait for in turn `turn`. */
static inline uint64_t gd_timeline_visible(const struct gd_timeline *tl, uint64_t turn, enum gd_track track)
{
	return tl->raised_turn == turn && tl->raised_track > track ? tl->turn_base : tl->submitted;
}

/* What the scheduler keeps per session: its order and its timeline. */
struct gd_lane {
	enum gd_priority priority;
	enum gd_track track;          /* of its work now; set by the scheduler */
	enum gd_track last_track;     /* of its newest job, whose retire value is last_value */
	struct gd_timeline *timeline; /* signalled by fence commits; NULL until the first */
	uint64_t last_value;          /* retire value of its newest job, on last_track's timeline */
	uint64_t submit_order;        /* position of its newest job among all its loop submitted */
	uint64_t queued;              /* jobs queued, held or in flight */
	uint64_t blocked_pass;        /* scheduler pass in which a job of it was held */
	bool blocked_on_fence;        /* then: for a fence (else kept back by submit/hold.c) */
	uint64_t round;               /* the last batch round that took a job of it */
};

/* How the scheduler reports to a job's owner. */
struct gd_job_ops {
	/* It went to the queue; or it is held back for another lane's
	 * timeline (work that cannot run yet), which returns true when that
	 * made room for its owner (connections waiting for room then go on). */
	void (*submitted)(struct gd_job *job);
	bool (*held)(struct gd_job *job);
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
	uint64_t prev_value;          /* the lane's value before this one, */
	enum gd_track prev_track;     /* on this track's timeline */
	uint64_t fence_signal;        /* lane timeline value to signal, 0: none */
	uint64_t fence_wait;          /* lane timeline value to wait for, 0: none */
	struct gd_timeline *xwait[GD_MAX_XWAITS]; /* other lanes' timelines it waits on */
	uint64_t xwait_value[GD_MAX_XWAITS];
	uint32_t n_xwait;
	uint32_t n_commands;          /* commands recorded: long ones are not polled for */
	bool sync;                    /* someone waits for it: worth polling */
	bool part;                    /* an eager session's part: nobody waits on it */
	bool round_trip;              /* a commit_and_wait with nothing else of its client in flight */
	bool failed;
};

#endif
