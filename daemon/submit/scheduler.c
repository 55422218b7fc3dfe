/*
 * scheduler.c — batched submission and in-order retirement (see
 * scheduler.h). Loop thread only; the completion thread is completion.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/latency.h"
#include "base/log.h"
#include "base/settings.h"
#include "device/gpu.h"
#include "device/vkcheck.h"
#include "gpucmd_defs.h"
#include "submit/completion.h"
#include "submit/hold.h"
#include "submit/retired_sems.h"
#include "submit/scheduler.h"
#include "submit/submit_infos.h"

/* A queue and its retire timeline (job.h). */
struct track {
	VkQueue queue;
	pthread_mutex_t *queue_lock; /* another shard submits to this queue too */
	uint64_t next_value;         /* last value handed to a job */
	struct gd_job *flight, **flight_tail;
	struct gd_job *batch, **batch_tail; /* this turn's, while it is built */
	uint32_t n_batch;
};

struct gd_scheduler {
	uv_loop_t *loop;
	struct gd_gpu *gpu;
	struct gd_scheduler_listener listener;
	struct track tracks[GD_TRACKS];
	struct gd_hold hold;
	uint64_t serial;
	uint64_t pending;            /* queued + in flight */
	uint64_t submissions;        /* jobs submitted since start */
	uint64_t round_trip_jobs;    /* jobs queued to the round-trip track since start */
	struct gd_job *ready, **ready_tail;
	struct gd_job *held, **held_tail; /* waiting for another lane's timeline, or kept back (hold.h) */
	uint64_t pass, turn;
	bool high_queued;            /* a HIGH job is in ready */
	bool interleaved;            /* on_turn_end runs between requests: its poll waits for on_before_block */
	uint32_t looks;              /* gd_scheduler_interleave_high calls */
	uint64_t submit_order;       /* jobs given to a queue, all tracks, in order */

	VkSemaphore retire[GD_TRACKS]; /* each track's retire timeline */
	struct gd_submit_infos infos;  /* one vkQueueSubmit2's */

	uv_check_t check;
	uv_prepare_t before_block;
	uv_async_t async;
	bool handles_open;
	uint32_t handles_closing;     /* closed, their close callbacks not yet run */
	struct gd_completion *completion;
	uint64_t loop_poll_ns;        /* the loop thread's poll after submitting a commit_and_wait */
	uint32_t poll_track;          /* that poll: for poll_target of this track's timeline, */
	uint64_t poll_target, poll_until_ns; /* until then (0: none) */
	bool lost;                    /* the device is gone; nothing more is submitted */
	bool hung;                    /* ... because work did not end: it may still run */
	uint32_t hang_ms;             /* submission_timeout_ms */
	char lost_why[256];
	struct gd_retired_sems sems_kept; /* semaphores waiting to be destroyed */
};

static void fail_job(struct gd_job *job, int code, const char *why)
{
	job->failed = true;
	job->ops->failed(job, code, why);
}

static void fail_now(struct gd_scheduler *s, struct gd_job *sub, int code, const char *why);

/* After a device loss: everything queued or held fails and retires, so that
 * its session, buffers, programs and the client's in-flight count are
 * released (also what a client managed to commit after the loss). */
static void fail_queued(struct gd_scheduler *s)
{
	struct gd_job *lists[2] = {s->ready, s->held};
	s->ready = s->held = NULL;
	s->ready_tail = &s->ready;
	s->held_tail = &s->held;
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct gd_job *sub = lists[i];
			lists[i] = sub->next;
			fail_now(s, sub, GPUCMD_E_DEVICE_LOST, s->lost_why);
		}
}

/*
 * The device is gone: the completion thread gave up (VK_ERROR_DEVICE_LOST,
 * or the oldest submission ran past submission_timeout_ms, then it is the
 * one named), or a submission failed with VK_ERROR_DEVICE_LOST. Clients are
 * told (devicelost.h). After a hang the work may run on, so none of it is
 * retired or freed. After a loss the device is waited for (a lost device
 * answers at once), then everything queued, held and in flight fails and
 * retires, so that closing connections free all they had.
 */
static void lose_device(struct gd_scheduler *s, VkResult r)
{
	struct gd_job *oldest = NULL;
	for (uint32_t t = 0; t < GD_TRACKS && !oldest; t++) {
		struct gd_job *first = s->tracks[t].flight;
		if (first && first->value > gd_completion_done(s->completion, t))
			oldest = first;
	}
	s->lost = true;
	s->hung = r == VK_TIMEOUT;
	if (s->hung && oldest) {
		char who[160];
		oldest->ops->describe(oldest, who, sizeof(who));
		snprintf(s->lost_why, sizeof(s->lost_why), "%s ran for %" PRIu64 " ms, past submission_timeout_ms (%u)",
			 who, gd_completion_hung_ns(s->completion) / 1000000u, s->hang_ms);
	} else {
		snprintf(s->lost_why, sizeof(s->lost_why), "%s while running submitted work", gd_vk_result(r));
	}
	for (uint32_t t = 0; t < GD_TRACKS; t++) {
		uint64_t done = gd_completion_done(s->completion, t);
		for (struct gd_job *job = s->tracks[t].flight; job; job = job->next)
			if (job->value > done)
				job->ops->lost(job, s->lost_why);
	}
	s->listener.lost(s->listener.data, s->lost_why, s->hung);
	if (s->hung)
		return;
	vkDeviceWaitIdle(s->gpu->device);
	fail_queued(s);
}

/* A submission of more commands than this runs for a millisecond or more:
 * the tens of microseconds a blocking wait takes to wake up are lost in
 * it, and polling through it would burn a core for nothing. */
#define SPIN_MAX_COMMANDS 256

/* Tells the completion thread where, in the values in flight, the first one
 * worth polling for is: a short one that someone waits on (not an eager
 * session's part). It blocks for the values before it. */
static void update_spin_from(struct gd_scheduler *s)
{
	for (uint32_t t = 0; t < GD_TRACKS; t++) {
		const struct gd_job *job = s->tracks[t].flight;
		while (job && (job->part || job->n_commands > SPIN_MAX_COMMANDS))
			job = job->next;
		gd_completion_spin_from(s->completion, t, job ? job->value : UINT64_MAX);
	}
}

/* Retires, in order on each track, what the completion thread reported
 * finished; after a device loss (not a hang), everything in flight. */
static void retire_finished(struct gd_scheduler *s)
{
	for (uint32_t t = 0; t < GD_TRACKS && !s->lost; t++)
		if (gd_completion_abandoned(s->completion, t) > gd_completion_done(s->completion, t))
			lose_device(s, gd_completion_result(s->completion));
	for (uint32_t t = 0; t < GD_TRACKS; t++) {
		struct track *k = &s->tracks[t];
		uint64_t done = gd_completion_done(s->completion, t);
		while (k->flight && (k->flight->value <= done || (s->lost && !s->hung))) {
			struct gd_job *sub = k->flight;
			k->flight = sub->next;
			if (!k->flight)
				k->flight_tail = &k->flight;
			if (sub->value > done)
				fail_job(sub, GPUCMD_E_DEVICE_LOST, s->lost_why);
			s->pending--;
			sub->lane->queued--;
			gd_hold_retired(&s->hold, sub, true);
			sub->ops->retired(sub);
		}
	}
	update_spin_from(s);
	gd_retired_sems_collect(&s->sems_kept, s->gpu->device, s->completion, false);
}

/* Kept semaphores go as submissions retire. With nothing in flight, none
 * may: they go now, or (both tracks on one queue) when an empty
 * submission retires; else a client closing sessions with fences on an
 * idle device piled them up without bound. */
void gd_scheduler_destroy_semaphore(struct gd_scheduler *s, VkSemaphore sem)
{
	uint64_t after[GD_TRACKS];
	bool idle = !s->lost && s->completion;
	for (uint32_t t = 0; t < GD_TRACKS; t++) {
		after[t] = s->tracks[t].next_value;
		idle = idle && gd_completion_done(s->completion, t) >= after[t];
	}
	gd_retired_sems_add(&s->sems_kept, s->gpu->device, sem, after);
	if (!idle)
		return;
	gd_retired_sems_collect(&s->sems_kept, s->gpu->device, s->completion, false);
	struct track *k = &s->tracks[GD_TRACK_BULK];
	if (s->sems_kept.n && !gd_vk_check("vkQueueSubmit2", gd_retired_sems_nudge(k->queue, k->queue_lock,
							s->retire[GD_TRACK_BULK], k->next_value + 1)))
		gd_completion_submitted(s->completion, GD_TRACK_BULK, ++k->next_value);
}

static void on_async(uv_async_t *h)
{
	struct gd_scheduler *s = h->data;
	retire_finished(s);
	s->listener.progress(s->listener.data);
}

static void append_job(struct gd_job ***tail, struct gd_job *sub)
{
	sub->next = NULL;
	**tail = sub;
	*tail = &sub->next;
}

/* sub's entry i of the batch: the next value of its track's retire
 * timeline; it becomes its lane's newest job. */
static void fill_submit_info(struct gd_scheduler *s, struct gd_job *sub, uint32_t i)
{
	struct gd_lane *lane = sub->lane;
	sub->value = ++s->tracks[lane->track].next_value;
	gd_submit_infos_fill(&s->infos, i, sub, s->retire, sub->value);
	sub->ops->submitted(sub);
	sub->prev_value = lane->last_value;
	sub->prev_track = lane->last_track;
	lane->last_value = sub->value;
	lane->last_track = lane->track;
	lane->submit_order = ++s->submit_order;
}

/* sub joins this turn's batch of its track. From here on other sessions
 * may wait for its fence value: its signal is ahead of them in the queue
 * (in this turn, for tracks submitted after its own, job.h). */
static void add_to_batch(struct gd_scheduler *s, struct gd_job *sub)
{
	struct track *k = &s->tracks[sub->lane->track];
	if (sub->fence_signal)
		gd_timeline_raise(sub->lane->timeline, s->turn, sub->lane->track, sub->fence_signal);
	append_job(&k->batch_tail, sub);
	k->n_batch++;
	gd_hold_submitted(&s->hold, sub);
}

/* Whether a wait for `value` of fence f may go to the queue: 1 its signal
 * is submitted, 0 not yet, -1 never (the fence was abandoned below it). */
static int wait_state(const struct gd_scheduler *s, const struct gd_timeline *f, uint64_t value, enum gd_track track)
{
	if (value <= gd_timeline_visible(f, s->turn, track))
		return 1;
	return f->abandoned && value > f->last ? -1 : 0;
}

/*
 * Whether sub can go to the queue now: 1 yes, 0 not yet (a fence it waits
 * for has not been submitted), -1 never. The rule: the queue never waits on
 * a value that no submitted work will signal, whichever call recorded the
 * wait. That covers a stage's waits on other sessions' fences and its wait
 * on its own session's fence after a reset: the stage that was to signal
 * it may have failed without being submitted (say, it waited on a fence
 * abandoned first), and then this stage fails too, with the same code.
 * A session's own value can only come from its earlier submissions, which
 * are all behind it once it is considered (order within a session), so
 * "not yet" there means never.
 */
static int ready_to_submit(const struct gd_scheduler *s, const struct gd_job *sub)
{
	int ok = 1;
	enum gd_track track = sub->lane->track;
	if (sub->fence_wait && wait_state(s, sub->lane->timeline, sub->fence_wait, track) != 1)
		return -1;
	for (uint32_t k = 0; k < sub->n_xwait; k++) {
		int r = wait_state(s, sub->xwait[k], sub->xwait_value[k], track);
		if (r < 0)
			return -1;
		ok &= r;
	}
	return ok;
}

/* A submission that can never run: its session learns why, in order. */
static void fail_now(struct gd_scheduler *s, struct gd_job *sub, int code, const char *why)
{
	fail_job(sub, code, why);
	s->pending--;
	sub->lane->queued--;
	gd_hold_retired(&s->hold, sub, false);
	sub->ops->retired(sub);
}

/*
 * Sorts held and newly ready submissions, in order, into this turn's
 * batches (one per track) and the held list. A session whose submission is
 * held (a fence it waits for is not submitted yet, or the daemon keeps bulk
 * work back, hold.h) keeps its later ones held too, so its order never
 * changes. Passes repeat while a pass released something, since a fence
 * submitted in the batch can release a waiter that came before it. True
 * when a submission held or failed made room for its owner: a connection
 * that waits for room must hear of it (nothing else may ever retire).
 */
static bool gather(struct gd_scheduler *s)
{
	bool made_room = false;
	struct gd_job *queue = s->held, *ready = gd_hold_begin_turn(&s->hold, s->ready);
	*s->held_tail = ready;
	if (!queue)
		queue = ready;
	s->ready = s->held = NULL;
	s->ready_tail = &s->ready;
	s->held_tail = &s->held;
	for (bool progress = true; progress && queue;) {
		progress = false;
		s->pass++;
		struct gd_job *again = NULL, **again_tail = &again;
		while (queue) {
			struct gd_job *sub = queue;
			queue = sub->next;
			struct gd_lane *ses = sub->lane;
			bool blocked = ses->blocked_pass == s->pass;
			int r = blocked ? 0 : ready_to_submit(s, sub);
			if (r < 0) {
				made_room = true;
				fail_now(s, sub, GPUCMD_E_FENCE_ABANDONED,
					 "fence abandoned: the session that owns a fence this stage waits on (directly, or "
					 "through an earlier stage of its own session) closed before signalling the value");
				continue;
			}
			if (r == 0 || gd_hold_keep(&s->hold, sub)) {
				/* Only a fence wait stops counting against the in-flight
				 * limit (else a flood kept back is read without end). */
				ses->blocked_on_fence = blocked ? ses->blocked_on_fence : r == 0;
				if (ses->blocked_on_fence && sub->ops->held(sub))
					made_room = true;
				ses->blocked_pass = s->pass;
				append_job(&again_tail, sub);
				continue;
			}
			add_to_batch(s, sub);
			progress = true;
		}
		queue = again;
	}
	s->held = queue;
	while (*s->held_tail)
		s->held_tail = &(*s->held_tail)->next;
	return made_room;
}

/* After a commit_and_wait went to the queue, the loop thread polls for it
 * itself for up to loop_poll_us (completion.h), then retires what finished.
 * The poll stops for any other event and goes on before the loop would next
 * block (on_before_block) until its time is up: a sleeping loop is woken by
 * the completion thread tens of µs late (BENCHMARKS.md, "Where a HIGH round trip waits"). */
static void poll_briefly(struct gd_scheduler *s)
{
	uint64_t now = gd_now_ns();
	if (!s->poll_target || now >= s->poll_until_ns ||
	    gd_completion_done(s->completion, s->poll_track) >= s->poll_target) {
		s->poll_target = 0;
		return;
	}
	gd_completion_poll(s->completion, uv_backend_fd(s->loop), s->poll_track, s->poll_target,
			   s->poll_until_ns - now);
	uint64_t pending = s->pending; /* a device loss is on_async's */
	if (gd_completion_result(s->completion) == VK_SUCCESS)
		retire_finished(s);
	/* What retired may free a connection held by its in-flight limit:
	 * resume it next turn; a poll that retired nothing wakes no one. */
	if (s->pending != pending)
		uv_async_send(&s->async);
}

/* A batch the queue refused: none of its values will ever be signalled.
 * They are rolled back so no later submission waits for them, and the
 * work fails. */
static void fail_batch(struct gd_scheduler *s, struct track *k, uint64_t first, VkResult res)
{
	k->next_value = first;
	while (k->batch) {
		struct gd_job *sub = k->batch;
		k->batch = sub->next;
		if (sub->prev_track != (enum gd_track)(k - s->tracks) || sub->prev_value <= first) {
			sub->lane->last_value = sub->prev_value;
			sub->lane->last_track = sub->prev_track;
		}
		gd_hold_unsubmitted(&s->hold, sub);
		fail_now(s, sub, gd_vk_errno(res), gd_vk_result(res));
	}
}

/* Submits track k's batch in one vkQueueSubmit2 and moves it in flight.
 * Returns the retire value of its newest commit_and_wait (0: none), or
 * the queue's error. */
static VkResult submit_track(struct gd_scheduler *s, struct track *k, uint64_t *sync_value)
{
	uint64_t first = k->next_value;
	uint32_t n = 0;
	*sync_value = 0;
	for (struct gd_job *sub = k->batch; sub; sub = sub->next)
		fill_submit_info(s, sub, n++);
	if (n && k->queue_lock)
		pthread_mutex_lock(k->queue_lock);
	VkResult res = n ? vkQueueSubmit2(k->queue, n, s->infos.infos, VK_NULL_HANDLE) : VK_SUCCESS;
	if (n && k->queue_lock)
		pthread_mutex_unlock(k->queue_lock);
	if (res != VK_SUCCESS) {
		(void)gd_vk_check("vkQueueSubmit2", res);
		fail_batch(s, k, first, res);
	} else if (n) {
		*k->flight_tail = k->batch;
		for (; *k->flight_tail; k->flight_tail = &(*k->flight_tail)->next)
			if ((*k->flight_tail)->sync)
				*sync_value = (*k->flight_tail)->value;
		s->submissions += n;
		gd_completion_submitted(s->completion, (uint32_t)(k - s->tracks), k->next_value);
	}
	k->batch = NULL;
	k->batch_tail = &k->batch;
	k->n_batch = 0;
	return res;
}

/* Runs once per loop turn, after I/O: everything committed during the turn
 * (and held work that became ready) goes to the GPU, one vkQueueSubmit2 per
 * track in track order (HIGH work first). */
static void on_turn_end(uv_check_t *h)
{
	struct gd_scheduler *s = h->data;
	s->high_queued = false;
	if (s->lost && !s->hung && (s->ready || s->held)) {
		fail_queued(s);
		s->listener.progress(s->listener.data);
		return;
	}
	if (s->lost || (!s->ready && !s->held))
		return;
	uint32_t total = 0;
	for (struct gd_job *sub = s->ready; sub; sub = sub->next)
		total++;
	for (struct gd_job *sub = s->held; sub; sub = sub->next)
		total++;
	if (gd_submit_infos_reserve(&s->infos, total) < 0) {
		while (s->ready) {
			struct gd_job *sub = s->ready;
			s->ready = sub->next;
			fail_now(s, sub, -ENOMEM, "gpucmdd is out of memory for a submission");
		}
		s->ready_tail = &s->ready;
		s->listener.progress(s->listener.data);
		return;
	}
	s->turn++;
	bool made_room = gather(s);
	VkResult res = VK_SUCCESS;
	uint64_t sync[GD_TRACKS];
	for (uint32_t t = 0; t < GD_TRACKS; t++) {
		VkResult r = submit_track(s, &s->tracks[t], &sync[t]);
		res = res == VK_SUCCESS ? r : res;
	}
	if (res != VK_SUCCESS) {
		if (res == VK_ERROR_DEVICE_LOST && !s->lost) {
			lose_device(s, res);
			retire_finished(s);
		}
		s->listener.progress(s->listener.data);
		return;
	}
	/* Told next turn, so that what connections then send is submitted. */
	if (made_room)
		uv_async_send(&s->async);
	update_spin_from(s);
	/* The newest commit_and_wait of the first track that has one: HIGH
	 * work is what must not wait. */
	uint32_t t = 0;
	while (t < GD_TRACKS - 1 && !sync[t])
		t++;
	if (sync[t] && s->loop_poll_ns) {
		s->poll_track = t;
		s->poll_target = sync[t];
		s->poll_until_ns = gd_now_ns() + s->loop_poll_ns;
		if (!s->interleaved)
			poll_briefly(s);
	}
}

static void on_before_block(uv_prepare_t *h)
{
	poll_briefly(h->data);
}

/* A lane's round trip goes to the round-trip track, its other work to the
 * bulk track; it changes track only with nothing of it queued or in flight
 * (in-order retirement is per track). */
void gd_scheduler_queue(struct gd_scheduler *s, struct gd_job *sub)
{
	struct gd_lane *lane = sub->lane;
	if (lane->queued++ == 0)
		lane->track = lane->priority == GD_PRIORITY_HIGH ? GD_TRACK_HIGH
			      : sub->round_trip                  ? GD_TRACK_ROUND_TRIP
								 : GD_TRACK_BULK;
	s->round_trip_jobs += lane->track == GD_TRACK_ROUND_TRIP;
	gd_hold_queued(&s->hold, sub);
	sub->next = NULL;
	*s->ready_tail = sub;
	s->ready_tail = &sub->next;
	s->pending++;
	s->high_queued |= sub->lane->priority == GD_PRIORITY_HIGH;
}

void gd_scheduler_interleave_high(struct gd_scheduler *s)
{
	/* The timelines themselves, not the completion thread's report of
	 * them: that thread, busy with bulk work's values, saw a finished HIGH
	 * stage a median 10 µs later under tiny bulk stages (BENCHMARKS.md,
	 * "Where a HIGH round trip's time goes"). The other tracks every
	 * eighth look: while HIGH work is about bulk work goes to the GPU only
	 * as bulk work retires, and a completion thread that shares a CPU with
	 * this busy loop reported that every few milliseconds on the H200,
	 * bulk keeping 1-3 k stages/s (BENCHMARKS.md, "2026-12-04"). */
	bool others = ++s->looks % 8 == 0, finished = false;
	for (uint32_t t = 0; t < GD_TRACKS && !finished; t++) {
		const struct gd_job *f = s->tracks[t].flight;
		finished = f && (t == GD_TRACK_HIGH || others) && gd_completion_check(s->completion, t) >= f->value;
	}
	if (finished)
		on_async(&s->async);
	if (s->high_queued) {
		s->interleaved = true;
		on_turn_end(&s->check);
		s->interleaved = false;
	}
}

uint64_t gd_scheduler_serial(struct gd_scheduler *s)
{
	return ++s->serial;
}

uint32_t gd_scheduler_loop_poll_us(const struct gd_scheduler *s)
{
	return (uint32_t)(s->loop_poll_ns / 1000u);
}

uint64_t gd_scheduler_pending(const struct gd_scheduler *s)
{
	return s->pending;
}

bool gd_scheduler_high_active(const struct gd_scheduler *s)
{
	return gd_hold_high_active(&s->hold);
}

void gd_scheduler_configure(struct gd_scheduler *s, const struct gd_config *cfg)
{
	gd_hold_configure(&s->hold, cfg);
}

uint64_t gd_scheduler_heartbeat_age_ns(struct gd_scheduler *s)
{
	return gd_completion_heartbeat_age_ns(s->completion);
}

void gd_scheduler_get_counts(struct gd_scheduler *s, struct gd_scheduler_counts *ret)
{
	*ret = (struct gd_scheduler_counts){s->submissions, s->hold.held, s->round_trip_jobs,
					    gd_completion_cpu_ns(s->completion)};
}

struct gd_scheduler *gd_scheduler_create(uv_loop_t *loop, struct gd_gpu *gpu, const struct gd_config *cfg,
					 const struct gd_scheduler_listener *listener, const struct gd_scheduler_shard *shard)
{
	struct gd_scheduler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = loop;
	s->gpu = gpu;
	s->listener = *listener;
	s->serial = shard->serial_base;
	s->hold.shared_high_ns = shard->high_seen_ns;
	s->hang_ms = cfg->submission_timeout_ms;
	s->ready_tail = &s->ready;
	s->held_tail = &s->held;
	gd_hold_configure(&s->hold, cfg);
	VkSemaphoreTypeCreateInfo ti = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
		.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
	};
	VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
	for (uint32_t t = 0; t < GD_TRACKS; t++) {
		struct track *k = &s->tracks[t];
		k->queue = shard->queue				? shard->queue
			   : t == GD_TRACK_HIGH		? gpu->queue_high
			   : t == GD_TRACK_ROUND_TRIP	? gpu->queue_round_trip
							: gpu->queue;
		k->queue_lock = k->queue == shard->shared_queue ? shard->queue_lock : NULL;
		k->flight_tail = &k->flight;
		k->batch_tail = &k->batch;
		if (gd_vk_check("vkCreateSemaphore", vkCreateSemaphore(gpu->device, &si, NULL, &s->retire[t])) < 0)
			goto fail;
	}
	s->sems_kept.shared = s->tracks[GD_TRACK_HIGH].queue == s->tracks[GD_TRACK_BULK].queue;
	uv_check_init(loop, &s->check);
	uv_prepare_init(loop, &s->before_block);
	uv_async_init(loop, &s->async, on_async);
	s->check.data = s->async.data = s->before_block.data = s;
	s->handles_open = true;
	uv_check_start(&s->check, on_turn_end);
	uv_prepare_start(&s->before_block, on_before_block);
	/* On a GPU a blocking wait wakes tens of microseconds late (38 µs
	 * against 13 µs polling on an H200, BENCHMARKS.md), so the window
	 * covers short kernels and graph replays; on a CPU device the poll
	 * would take a core from the driver that runs the work. */
	bool cpu = gpu->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
	uint32_t spin_us = cfg->spin_us == GD_CONFIG_AUTO ? (cpu ? 200 : 3000) : cfg->spin_us;
	if (shard->loop_polls)
		spin_us = 0;
	/* On a CPU device the loop thread's poll would take a core from the
	 * driver that runs the work. 50 µs covers a tiny dispatch's round trip
	 * on a GPU (13 µs on an H200) without holding other clients back. */
	uint32_t loop_us = cfg->loop_poll_us == GD_CONFIG_AUTO ? (cpu ? 0 : 50) : cfg->loop_poll_us;
	s->loop_poll_ns = (uint64_t)loop_us * 1000u;
	log_debug("completion thread polls for %u µs before blocking, the loop thread for %u µs", spin_us, loop_us);
	s->completion = gd_completion_create(gpu->device, s->retire, GD_TRACKS, (uint64_t)spin_us * 1000u,
					     (uint64_t)s->hang_ms * 1000000u, &s->async);
	if (!s->completion)
		goto fail;
	return s;
fail:
	gd_scheduler_destroy(s);
	return NULL;
}

void gd_scheduler_cancel_held(struct gd_scheduler *s)
{
	/* Bulk work kept back (hold.h) goes to the GPU from now on; what waits
	 * for a fence, and what follows it in its session, fails. */
	gd_hold_stop(&s->hold);
	struct gd_job *list = s->held;
	s->held = NULL;
	s->held_tail = &s->held;
	s->pass++;
	while (list) {
		struct gd_job *sub = list;
		list = sub->next;
		if (sub->lane->blocked_pass != s->pass && ready_to_submit(s, sub) == 1) {
			append_job(&s->held_tail, sub);
			continue;
		}
		sub->lane->blocked_pass = s->pass;
		fail_now(s, sub, -ECANCELED, "gpucmdd is stopping; this stage still waited for another session's fence");
	}
}

static void handle_closed(uv_handle_t *h)
{
	struct gd_scheduler *s = h->data;
	s->handles_closing--;
}

void gd_scheduler_close(struct gd_scheduler *s)
{
	if (!s->handles_open)
		return;
	s->handles_open = false;
	s->handles_closing = 3;
	uv_close((uv_handle_t *)&s->check, handle_closed);
	uv_close((uv_handle_t *)&s->before_block, handle_closed);
	uv_close((uv_handle_t *)&s->async, handle_closed);
}

bool gd_scheduler_closed(const struct gd_scheduler *s)
{
	return !s->handles_open && !s->handles_closing;
}

void gd_scheduler_destroy(struct gd_scheduler *s)
{
	if (!s)
		return;
	if (s->completion) {
		gd_completion_stop(s->completion);
		retire_finished(s);
	}
	/* On an idle device (the other shards stopped or parked): a value seen
	 * reached did not mean lavapipe was done with its semaphore (TSan). */
	vkDeviceWaitIdle(s->gpu->device);
	gd_retired_sems_collect(&s->sems_kept, s->gpu->device, s->completion, true);
	gd_retired_sems_finish(&s->sems_kept);
	gd_completion_destroy(s->completion);
	for (uint32_t t = 0; t < GD_TRACKS; t++)
		if (s->retire[t])
			vkDestroySemaphore(s->gpu->device, s->retire[t], NULL);
	gd_submit_infos_finish(&s->infos);
	free(s);
}
