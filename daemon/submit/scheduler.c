/*
 * scheduler.c — batched submission and the completion thread (see
 * scheduler.h).
 *
 * Threads: the loop thread owns the queue, the ready and in-flight lists and
 * every session. The completion thread only reads the retire timeline; it
 * shares `submitted` (under the mutex) and `completed` / `abandoned`
 * (atomics) with the loop, and wakes it with uv_async_send.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "net/conn.h"
#include "model/core.h"
#include "service/devicelost.h"
#include "model/fence.h"
#include "gpucmd.h"
#include "device/gpu.h"
#include "base/log.h"
#include "submit/scheduler.h"
#include "model/session.h"

struct gd_scheduler {
	struct gd_daemon *d;
	VkSemaphore retire;          /* the daemon's retire timeline */
	uint64_t next_value;         /* last value handed to a submission */
	uint64_t serial;
	uint64_t pending;            /* queued + in flight */
	struct gd_submission *ready, **ready_tail;
	struct gd_submission *flight, **flight_tail;
	struct gd_submission *held, **held_tail; /* waiting for another session's fence */
	uint64_t pass;

	/* scratch for one vkQueueSubmit2, grown as needed, never shrunk */
	VkSubmitInfo2 *infos;
	VkCommandBufferSubmitInfo *cbs;
	VkSemaphoreSubmitInfo *sems;  /* SEMS_PER per submission: waits, then 2 signals */
	uint32_t cap;

	uv_check_t check;
	uv_async_t async;
	bool handles_open;

	pthread_t thread;
	bool thread_started;
	uint64_t spin_ns;             /* the completion thread's poll window */
	uint64_t loop_poll_ns;        /* the loop thread's, after submitting a commit_and_wait */
	atomic_bool loop_polling;     /* the loop thread polls: no uv_async_send needed */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t submitted;           /* under lock */
	bool stop;                    /* under lock */
	atomic_uint_fast64_t completed;
	atomic_uint_fast64_t spin_from; /* first value in flight that someone waits on (not a part) */
	atomic_uint_fast64_t abandoned; /* values given up on after device loss */
	atomic_int lost_result;
	atomic_uint_fast64_t beat_ns;  /* completion thread's last sign of life */
	atomic_uint_fast64_t hung_ns;  /* how long the oldest value ran, when it timed out */
	bool lost;                     /* the device is gone; nothing more is submitted */
	bool hung;                     /* ... because work did not end: it may still run */
	char lost_why[256];
#ifdef GPUCMD_FAULT_INJECTION
	uint64_t lose_at;              /* GPUCMD_FAULT_DEVICE_LOST: lose the device at this value */
#endif
	struct deferred_sem {          /* semaphores waiting to be destroyed */
		VkSemaphore sem;
		uint64_t after;        /* once a value past this one completed */
	} *deferred;
	uint32_t n_deferred, cap_deferred;
};

#define SEMS_PER (2 + GD_MAX_XWAITS + 2)
/* The completion thread shows it is alive at least this often, idle or
 * not (its blocking waits time out after this long too). */
#define BEAT_NS (100u * 1000 * 1000)

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void advance_completed(struct gd_scheduler *s, uint64_t v)
{
	uint_fast64_t cur = atomic_load(&s->completed);
	while (cur < v && !atomic_compare_exchange_weak(&s->completed, &cur, v))
		;
}

/*
 * The completion thread. For the oldest unfinished value it first polls the
 * counter for up to spin_us (a poll answers in microseconds where a
 * blocking wait costs tens of them on a GPU), unless spin_from is past it:
 * an eager session's part that nobody waits on, or a long command buffer
 * (update_spin_from). Then it blocks in
 * vkWaitSemaphores with a timeout so that it can notice `stop`. Every wait
 * is bounded by BEAT_NS and followed by a heartbeat, which the watchdog
 * reads: a thread stuck in the driver stops beating. A value that takes
 * longer than submission_timeout_ms is reported as VK_TIMEOUT: the GPU
 * hangs, and the loop treats the device as lost.
 */
static void *completion_main(void *arg)
{
	struct gd_scheduler *s = arg;
	VkDevice dev = s->d->gpu->device;
	const uint64_t spin_ns = s->spin_ns;
	const uint64_t hang_ns = (uint64_t)s->d->cfg.submission_timeout_ms * 1000000u;
	uint64_t seen = 0;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (!s->stop && seen >= s->submitted) {
			struct timespec until;
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += BEAT_NS;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&s->cond, &s->lock, &until);
			atomic_store(&s->beat_ns, now_ns());
		}
		uint64_t submitted = s->submitted;
		bool stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (seen >= submitted && stop)
			break;
		uint64_t target = seen + 1, v = seen;
		/* Once given up, always: nothing completes on a lost device, and
		 * a later value seen finished must not hide the loss from the
		 * loop (it compares what was abandoned with what completed). */
		VkResult r = (VkResult)atomic_load(&s->lost_result);
		if (r == VK_SUCCESS)
			r = vkGetSemaphoreCounterValue(dev, s->retire, &v);
		uint64_t t0 = now_ns();
		atomic_store(&s->beat_ns, t0);
		const uint64_t spin = target >= atomic_load(&s->spin_from) ? spin_ns : 0;
		while (r == VK_SUCCESS && v < target && now_ns() - t0 < spin)
			r = vkGetSemaphoreCounterValue(dev, s->retire, &v);
		while (r == VK_SUCCESS && v < target) {
			VkSemaphoreWaitInfo wi = {
				.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
				.semaphoreCount = 1,
				.pSemaphores = &s->retire,
				.pValues = &target,
			};
			r = vkWaitSemaphores(dev, &wi, BEAT_NS);
			uint64_t now = now_ns();
			atomic_store(&s->beat_ns, now);
			if (r == VK_TIMEOUT && hang_ns && now - t0 >= hang_ns)
				atomic_store(&s->hung_ns, now - t0);
			else if (r == VK_TIMEOUT)
				r = VK_SUCCESS;
			if (r == VK_SUCCESS)
				r = vkGetSemaphoreCounterValue(dev, s->retire, &v);
		}
#ifdef GPUCMD_FAULT_INJECTION
		if (r == VK_SUCCESS && s->lose_at && target >= s->lose_at) {
			s->lose_at = 0;
			r = VK_ERROR_DEVICE_LOST;
		}
#endif
		if (r != VK_SUCCESS) {
			/* Nothing in flight will finish: give it all up. */
			atomic_store(&s->lost_result, (int)r);
			atomic_store(&s->abandoned, submitted);
			v = submitted;
		} else {
			advance_completed(s, v);
		}
		seen = v;
		/* A polling loop thread retires it when its poll ends (it reads
		 * `completed` after clearing the flag). */
		if (r != VK_SUCCESS || !atomic_load(&s->loop_polling))
			uv_async_send(&s->async);
	}
	return NULL;
}

static void fail_submission(struct gd_submission *sub, int code, const char *why)
{
	sub->failed = true;
	/* Its fence value will never be signalled: release whoever waits. */
	if (sub->fence_signal)
		gd_fence_abandon(sub->session->fence, sub->fence_signal - 1);
	gd_session_fail(sub->session, 0, code, "%s", why);
}

static void fail_now(struct gd_scheduler *s, struct gd_submission *sub, int code, const char *why);
static void destroy_deferred(struct gd_scheduler *s, bool all);

/* After a device loss: everything queued or held fails and retires, so that
 * its session, buffers, programs and the client's in-flight count are
 * released (also what a client managed to commit after the loss). */
static void fail_queued(struct gd_scheduler *s)
{
	struct gd_submission *lists[2] = {s->ready, s->held};
	s->ready = s->held = NULL;
	s->ready_tail = &s->ready;
	s->held_tail = &s->held;
	for (int i = 0; i < 2; i++)
		while (lists[i]) {
			struct gd_submission *sub = lists[i];
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
	uint64_t done = atomic_load(&s->completed);
	struct gd_submission *oldest = s->flight && s->flight->value > done ? s->flight : NULL;
	s->lost = true;
	s->hung = r == VK_TIMEOUT;
	if (s->hung && oldest) {
		struct gd_conn *c = oldest->session->conn;
		snprintf(s->lost_why, sizeof(s->lost_why),
			 "session '%s' of client %u (pid %d) ran for %" PRIu64 " ms, past submission_timeout_ms (%u)",
			 oldest->session->name, c ? c->id : 0, c ? (int)c->pid : 0,
			 (uint64_t)atomic_load(&s->hung_ns) / 1000000u, s->d->cfg.submission_timeout_ms);
	} else {
		snprintf(s->lost_why, sizeof(s->lost_why), "%s while running submitted work", gd_vk_result(r));
	}
	for (struct gd_submission *sub = s->flight; sub; sub = sub->next)
		if (sub->value > done)
			gd_device_lost_affects(sub->session, s->lost_why);
	gd_device_lost(s->d, s->lost_why, s->hung);
	if (s->hung)
		return;
	vkDeviceWaitIdle(s->d->gpu->device);
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
	const struct gd_submission *sub = s->flight;
	while (sub && (sub->part || sub->n_commands > SPIN_MAX_COMMANDS))
		sub = sub->next;
	atomic_store(&s->spin_from, sub ? sub->value : UINT64_MAX);
}

/* Retires, in order, everything the completion thread reported finished;
 * after a device loss (not a hang), everything in flight. */
static void retire_finished(struct gd_scheduler *s)
{
	uint64_t done = atomic_load(&s->completed);
	if (atomic_load(&s->abandoned) > done && !s->lost)
		lose_device(s, (VkResult)atomic_load(&s->lost_result));
	while (s->flight && (s->flight->value <= done || (s->lost && !s->hung))) {
		struct gd_submission *sub = s->flight;
		s->flight = sub->next;
		if (!s->flight)
			s->flight_tail = &s->flight;
		if (sub->value > done)
			fail_submission(sub, GPUCMD_E_DEVICE_LOST, s->lost_why);
		s->pending--;
		gd_session_retire(sub->session, sub);
	}
	update_spin_from(s);
	destroy_deferred(s, false);
}

void gd_scheduler_destroy_semaphore(struct gd_scheduler *s, VkSemaphore sem)
{
	if (s->n_deferred == s->cap_deferred) {
		uint32_t cap = s->cap_deferred ? s->cap_deferred * 2 : 16;
		struct deferred_sem *d = realloc(s->deferred, cap * sizeof(*d));
		if (!d) {
			vkDestroySemaphore(s->d->gpu->device, sem, NULL); /* the old behaviour */
			return;
		}
		s->deferred = d;
		s->cap_deferred = cap;
	}
	s->deferred[s->n_deferred++] = (struct deferred_sem){sem, s->next_value};
}

/* Destroys the deferred semaphores the queue is certainly done with (all of
 * them when the device is idle). */
static void destroy_deferred(struct gd_scheduler *s, bool all)
{
	uint64_t done = atomic_load(&s->completed);
	uint32_t kept = 0;
	for (uint32_t i = 0; i < s->n_deferred; i++) {
		if (all || done > s->deferred[i].after)
			vkDestroySemaphore(s->d->gpu->device, s->deferred[i].sem, NULL);
		else
			s->deferred[kept++] = s->deferred[i];
	}
	s->n_deferred = kept;
}

static void on_async(uv_async_t *h)
{
	struct gd_scheduler *s = h->data;
	retire_finished(s);
	gd_daemon_resume_stalled(s->d);
}

static int grow_scratch(struct gd_scheduler *s, uint32_t n)
{
	if (n <= s->cap)
		return 0;
	uint32_t cap = s->cap ? s->cap : 16;
	while (cap < n)
		cap *= 2;
	VkSubmitInfo2 *infos = realloc(s->infos, cap * sizeof(*infos));
	if (infos)
		s->infos = infos;
	VkCommandBufferSubmitInfo *cbs = realloc(s->cbs, cap * sizeof(*cbs));
	if (cbs)
		s->cbs = cbs;
	VkSemaphoreSubmitInfo *sems = realloc(s->sems, SEMS_PER * cap * sizeof(*sems));
	if (sems)
		s->sems = sems;
	if (!infos || !cbs || !sems)
		return -ENOMEM;
	s->cap = cap;
	return 0;
}

static VkSemaphoreSubmitInfo sem_info(VkSemaphore sem, uint64_t value)
{
	return (VkSemaphoreSubmitInfo){
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SUBMIT_INFO,
		.semaphore = sem,
		.value = value,
		.stageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
	};
}

/* Fills one VkSubmitInfo2 for sub: wait on the session's previous
 * submission (order within a session) and on its fence after a reset; signal
 * the next retire value and, for a fence, the session timeline. */
static void describe(struct gd_scheduler *s, struct gd_submission *sub, uint32_t i)
{
	struct gd_session *ses = sub->session;
	VkSemaphoreSubmitInfo *sem = &s->sems[SEMS_PER * i];
	VkSemaphoreSubmitInfo *sig = sem + SEMS_PER - 2;
	uint32_t nw = 0, ns = 0;
	if (ses->last_value)
		sem[nw++] = sem_info(s->retire, ses->last_value);
	if (sub->fence_wait)
		sem[nw++] = sem_info(ses->fence->sem, sub->fence_wait);
	for (uint32_t k = 0; k < sub->n_xwait; k++)
		sem[nw++] = sem_info(sub->xwait[k]->sem, sub->xwait_value[k]);
	sub->prev_value = ses->last_value;
	sub->value = ++s->next_value;
	gd_session_submitted(ses, sub);
	sig[ns++] = sem_info(s->retire, sub->value);
	if (sub->fence_signal) {
		sig[ns++] = sem_info(ses->fence->sem, sub->fence_signal);
		/* From here on other sessions may wait for this value: its
		 * signal is ahead of them in the queue. */
		ses->fence->submitted = sub->fence_signal;
	}
	ses->last_value = sub->value;
	s->cbs[i] = (VkCommandBufferSubmitInfo){.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_SUBMIT_INFO,
						.commandBuffer = sub->cb};
	s->infos[i] = (VkSubmitInfo2){
		.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO_2,
		.waitSemaphoreInfoCount = nw,
		.pWaitSemaphoreInfos = sem,
		.commandBufferInfoCount = 1,
		.pCommandBufferInfos = &s->cbs[i],
		.signalSemaphoreInfoCount = ns,
		.pSignalSemaphoreInfos = sig,
	};
}

/* Whether a wait for `value` of fence f may go to the queue: 1 its signal
 * is submitted, 0 not yet, -1 never (the fence was abandoned below it). */
static int wait_state(const struct gd_fence *f, uint64_t value)
{
	if (value <= f->submitted)
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
static int ready_to_submit(const struct gd_submission *sub)
{
	int ok = 1;
	if (sub->fence_wait && wait_state(sub->session->fence, sub->fence_wait) != 1)
		return -1;
	for (uint32_t k = 0; k < sub->n_xwait; k++) {
		int r = wait_state(sub->xwait[k], sub->xwait_value[k]);
		if (r < 0)
			return -1;
		ok &= r;
	}
	return ok;
}

static void append(struct gd_submission ***tail, struct gd_submission *sub)
{
	sub->next = NULL;
	**tail = sub;
	*tail = &sub->next;
}

/* A submission that can never run: its session learns why, in order. */
static void fail_now(struct gd_scheduler *s, struct gd_submission *sub, int code, const char *why)
{
	fail_submission(sub, code, why);
	s->pending--;
	gd_session_retire(sub->session, sub);
}

/*
 * Sorts held and newly ready submissions, in order, into this turn's batch
 * and the held list. A session whose submission is held keeps its later
 * ones held too, so its order never changes. Passes repeat while a pass
 * released something, since a fence submitted in the batch can release a
 * waiter that came before it.
 */
/* Orders the work committed this turn by its session's priority, keeping
 * commit order within each priority (and so within each session). */
static void sort_ready(struct gd_scheduler *s)
{
	static const enum gd_priority order[] = {GD_PRIORITY_HIGH, GD_PRIORITY_NORMAL, GD_PRIORITY_LOW};
	struct gd_submission *by[GD_PRIORITY_COUNT] = {NULL}, **tail[GD_PRIORITY_COUNT];
	for (int p = 0; p < GD_PRIORITY_COUNT; p++)
		tail[p] = &by[p];
	while (s->ready) {
		struct gd_submission *sub = s->ready;
		s->ready = sub->next;
		append(&tail[sub->session->priority], sub);
	}
	s->ready_tail = &s->ready;
	for (int i = 0; i < GD_PRIORITY_COUNT; i++) {
		*s->ready_tail = by[order[i]];
		if (by[order[i]])
			s->ready_tail = tail[order[i]];
	}
}

static struct gd_submission *gather(struct gd_scheduler *s, uint32_t *ret_n)
{
	sort_ready(s);
	struct gd_submission *batch = NULL, **batch_tail = &batch;
	struct gd_submission *queue = s->held;
	*s->held_tail = s->ready;
	if (!queue)
		queue = s->ready;
	s->ready = s->held = NULL;
	s->ready_tail = &s->ready;
	s->held_tail = &s->held;
	uint32_t n = 0;
	for (bool progress = true; progress && queue;) {
		progress = false;
		s->pass++;
		struct gd_submission *again = NULL, **again_tail = &again;
		while (queue) {
			struct gd_submission *sub = queue;
			queue = sub->next;
			struct gd_session *ses = sub->session;
			int r = ses->blocked_pass == s->pass ? 0 : ready_to_submit(sub);
			if (r < 0) {
				fail_now(s, sub, GPUCMD_E_FENCE_ABANDONED,
					 "fence abandoned: the session that owns a fence this stage waits on (directly, or "
					 "through an earlier stage of its own session) closed before signalling the value");
				continue;
			}
			if (r == 0) {
				gd_session_held(ses, sub);
				ses->blocked_pass = s->pass;
				append(&again_tail, sub);
				continue;
			}
			describe(s, sub, n++);
			append(&batch_tail, sub);
			progress = true;
		}
		queue = again;
	}
	s->held = queue;
	while (*s->held_tail)
		s->held_tail = &(*s->held_tail)->next;
	*ret_n = n;
	return batch;
}

/*
 * After submitting a commit_and_wait, the loop thread polls the retire
 * timeline itself for a moment: a short stage finishes within microseconds
 * on a GPU, and answering it here saves the hop from the completion thread
 * through uv_async (one thread wake-up, about ten microseconds). It stops as
 * soon as any other event is ready (a client's request, a signal), so no one
 * waits behind it for more than a poll of the epoll set.
 */
static void poll_briefly(struct gd_scheduler *s, uint64_t target)
{
	VkDevice dev = s->d->gpu->device;
	int efd = uv_backend_fd(s->d->loop);
	uint64_t t0 = now_ns(), v = 0;
	atomic_store(&s->loop_polling, true);
	for (unsigned i = 1;; i++) {
		if (vkGetSemaphoreCounterValue(dev, s->retire, &v) != VK_SUCCESS)
			break;
		if (v >= target) {
			advance_completed(s, v);
			break;
		}
		struct epoll_event ev;
		if ((i % 16 == 0 && epoll_wait(efd, &ev, 1, 0) != 0) || now_ns() - t0 > s->loop_poll_ns)
			break;
	}
	atomic_store(&s->loop_polling, false);
	/* A device loss is the async handler's to deal with (the completion
	 * thread always sends it for one). */
	if (atomic_load(&s->lost_result) == VK_SUCCESS)
		retire_finished(s);
	/* Retiring may have released a connection held back by its in-flight
	 * limit; resume it from the next turn, where its work is submitted. */
	uv_async_send(&s->async);
}

/* Runs once per loop turn, after I/O: everything committed during the turn
 * (and held work that became ready) goes to the GPU in one vkQueueSubmit2. */
static void on_check(uv_check_t *h)
{
	struct gd_scheduler *s = h->data;
	if (s->lost && !s->hung && (s->ready || s->held)) {
		fail_queued(s);
		gd_daemon_resume_stalled(s->d);
		return;
	}
	if (s->lost || (!s->ready && !s->held))
		return;
	uint32_t total = 0, n;
	for (struct gd_submission *sub = s->ready; sub; sub = sub->next)
		total++;
	for (struct gd_submission *sub = s->held; sub; sub = sub->next)
		total++;
	VkResult res = VK_ERROR_OUT_OF_HOST_MEMORY;
	uint64_t first = s->next_value;
	struct gd_submission *batch = NULL;
	if (grow_scratch(s, total) == 0) {
		batch = gather(s, &n);
		if (!batch)
			return;
		res = vkQueueSubmit2(s->d->gpu->queue, n, s->infos, VK_NULL_HANDLE);
	} else {
		batch = s->ready;
		s->ready = NULL;
		s->ready_tail = &s->ready;
	}
	if (res != VK_SUCCESS) {
		/* None of these values will ever be signalled: roll them back so
		 * no later submission waits for them, and fail the work. */
		gd_vk_error("vkQueueSubmit2", res);
		s->next_value = first;
		while (batch) {
			struct gd_submission *sub = batch;
			batch = sub->next;
			if (sub->prev_value <= first)
				sub->session->last_value = sub->prev_value;
			fail_now(s, sub, res == VK_ERROR_DEVICE_LOST ? GPUCMD_E_DEVICE_LOST : -EIO, gd_vk_result(res));
		}
		if (res == VK_ERROR_DEVICE_LOST && !s->lost) {
			lose_device(s, res);
			retire_finished(s);
		}
		gd_daemon_resume_stalled(s->d);
		return;
	}
	uint64_t sync_value = 0;
	*s->flight_tail = batch;
	for (; *s->flight_tail; s->flight_tail = &(*s->flight_tail)->next)
		if ((*s->flight_tail)->sync)
			sync_value = (*s->flight_tail)->value;
	s->d->stats.submissions += n;
	update_spin_from(s);
	pthread_mutex_lock(&s->lock);
	s->submitted = s->next_value;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (sync_value && s->loop_poll_ns)
		poll_briefly(s, sync_value);
}

void gd_scheduler_queue(struct gd_scheduler *s, struct gd_submission *sub)
{
	sub->next = NULL;
	*s->ready_tail = sub;
	s->ready_tail = &sub->next;
	s->pending++;
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

uint64_t gd_scheduler_heartbeat_age_ns(struct gd_scheduler *s)
{
	uint64_t beat = atomic_load(&s->beat_ns), now = now_ns();
	return now > beat ? now - beat : 0;
}

struct gd_scheduler *gd_scheduler_create(struct gd_daemon *d)
{
	struct gd_scheduler *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->d = d;
	s->ready_tail = &s->ready;
	s->flight_tail = &s->flight;
	s->held_tail = &s->held;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&s->beat_ns, now_ns());
	atomic_store(&s->spin_from, UINT64_MAX);
#ifdef GPUCMD_FAULT_INJECTION
	/* Test builds only: the wait for this retire value reports
	 * VK_ERROR_DEVICE_LOST once (the work itself still runs). */
	const char *lose = getenv("GPUCMD_FAULT_DEVICE_LOST");
	s->lose_at = lose ? strtoull(lose, NULL, 10) : 0;
	unsetenv("GPUCMD_FAULT_DEVICE_LOST"); /* once: not again on the recreated device */
	if (s->lose_at)
		log_warn("fault injection: the device will be reported lost at submission %llu",
			 (unsigned long long)s->lose_at);
#endif
	VkSemaphoreTypeCreateInfo ti = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
		.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
	};
	VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
	VkResult res = vkCreateSemaphore(d->gpu->device, &si, NULL, &s->retire);
	if (res != VK_SUCCESS) {
		gd_vk_error("vkCreateSemaphore", res);
		goto fail;
	}
	uv_check_init(d->loop, &s->check);
	uv_async_init(d->loop, &s->async, on_async);
	s->check.data = s->async.data = s;
	s->handles_open = true;
	uv_check_start(&s->check, on_check);
	/* On a GPU a blocking wait wakes tens of microseconds late (38 µs
	 * against 13 µs polling on an H200, BENCHMARKS.md), so the window
	 * covers short kernels and graph replays; on a CPU device the poll
	 * would take a core from the driver that runs the work. */
	bool cpu = d->gpu->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
	uint32_t spin_us = d->cfg.spin_us == GD_CONFIG_AUTO ? (cpu ? 200 : 3000) : d->cfg.spin_us;
	/* On a CPU device the loop thread's poll would take a core from the
	 * driver that runs the work. 50 µs covers a tiny dispatch's round trip
	 * on a GPU (13 µs on an H200) without holding other clients back. */
	uint32_t loop_us = d->cfg.loop_poll_us == GD_CONFIG_AUTO ? (cpu ? 0 : 50) : d->cfg.loop_poll_us;
	s->spin_ns = (uint64_t)spin_us * 1000u;
	s->loop_poll_ns = (uint64_t)loop_us * 1000u;
	log_debug("completion thread polls for %u µs before blocking, the loop thread for %u µs", spin_us, loop_us);
	if (pthread_create(&s->thread, NULL, completion_main, s) != 0) {
		log_err("cannot start the completion thread");
		goto fail;
	}
	s->thread_started = true;
	pthread_setname_np(s->thread, "gpucmdd-retire"); /* named in top, perf and the benchmarks */
	return s;
fail:
	gd_scheduler_destroy(s);
	return NULL;
}

void gd_scheduler_cancel_held(struct gd_scheduler *s)
{
	while (s->held) {
		struct gd_submission *sub = s->held;
		s->held = sub->next;
		fail_now(s, sub, -ECANCELED, "gpucmdd is stopping; this stage still waited for another session's fence");
	}
	s->held_tail = &s->held;
}

void gd_scheduler_close(struct gd_scheduler *s)
{
	if (!s->handles_open)
		return;
	s->handles_open = false;
	uv_close((uv_handle_t *)&s->check, NULL);
	uv_close((uv_handle_t *)&s->async, NULL);
}

void gd_scheduler_destroy(struct gd_scheduler *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		retire_finished(s);
	}
	if (s->n_deferred) {
		vkDeviceWaitIdle(s->d->gpu->device);
		destroy_deferred(s, true);
	}
	free(s->deferred);
	if (s->retire)
		vkDestroySemaphore(s->d->gpu->device, s->retire, NULL);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->infos);
	free(s->cbs);
	free(s->sems);
	free(s);
}
