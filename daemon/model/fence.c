/*
 * fence.c — shareable fences and host waiters (see fence.h). Loop thread
 * only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "model/account.h"
#include "model/client.h"
#include "model/core.h"
#include "model/fence.h"
#include "device/gpu.h"
#include "gpucmd_defs.h"
#include "submit/scheduler.h"

struct gd_fence_waiter {
	struct gd_list link;   /* gd_fence.waiters */
	struct gd_list all;    /* gd_core.fence_waits.all, or .spare once finished */
	struct gd_list timed;  /* gd_core.fence_waits.timed (by deadline) while it has one */
	struct gd_fence *fence;
	struct gd_client *conn;
	gd_fence_answer_fn *answer;
	struct gd_account *acct; /* counts it against the waiter limits */
	uint64_t req, value;
	uint64_t deadline_ms;  /* loop time */
	int event_fd;
};

struct gd_fence *gd_fence_create(struct gd_core *d)
{
	struct gd_fence *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	VkSemaphoreTypeCreateInfo ti = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
		.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
	};
	VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
	if (vkCreateSemaphore(d->proc->gpu->device, &si, NULL, &f->tl.sem) != VK_SUCCESS) {
		free(f);
		return NULL;
	}
	f->d = d;
	f->refs = 1;
	gd_list_init(&f->waiters);
	return f;
}

struct gd_fence *gd_fence_ref(struct gd_fence *f)
{
	f->refs++;
	return f;
}

/* Waiter structs kept for reuse: a client pacing its stages with
 * fence_wait parks one per stage. */
#define SPARE_WAITERS 64

/* Tells the waiter: status 0 when the value was reached, else why not. With
 * an event fd (a non-blocking pipe written once and only by the daemon:
 * eight bytes always fit) 1 is written when it was reached, 2 when it never
 * will be, and the fd is closed. */
static void deliver(struct gd_client *c, gd_fence_answer_fn *answer, uint64_t req, int event_fd, int status,
		    const char *msg)
{
	if (event_fd >= 0) {
		uint64_t v = status == 0 ? 1 : 2;
		(void)!write(event_fd, &v, sizeof(v));
		close(event_fd);
	} else if (c) {
		answer(c, req, status, msg);
	}
}

/* Answers (or signals) a parked waiter and keeps it for reuse. */
static void finish_waiter(struct gd_fence_waiter *w, int status, const char *msg)
{
	struct gd_fence_waits *fw = &w->fence->d->fence_waits;
	gd_list_remove(&w->link);
	gd_list_remove(&w->all);
	gd_list_remove(&w->timed);
	gd_account_fence_waiters(w->acct, -1);
	gd_account_unref(w->acct);
	deliver(w->conn, w->answer, w->req, w->event_fd, status, msg);
	gd_fence_unref(w->fence);
	if (fw->n_spare < SPARE_WAITERS) {
		gd_list_insert_tail(&fw->spare, &w->all);
		fw->n_spare++;
	} else {
		free(w);
	}
}

void gd_fence_unref(struct gd_fence *f)
{
	if (!f || --f->refs)
		return;
	if (f->d->sched)
		gd_scheduler_destroy_semaphore(f->d->sched, f->tl.sem);
	else
		vkDestroySemaphore(f->d->proc->gpu->device, f->tl.sem, NULL);
	free(f);
}

void gd_fence_completed(struct gd_fence *f, uint64_t value)
{
	if (value > f->completed)
		f->completed = value;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &f->waiters) {
		struct gd_fence_waiter *w = gd_container_of(pos, struct gd_fence_waiter, link);
		if (w->value <= f->completed)
			finish_waiter(w, 0, NULL);
	}
}

static void abandoned_msg(char *buf, size_t len, const struct gd_fence *f, uint64_t value)
{
	snprintf(buf, len, "fence abandoned: its session closed at value %llu, value %llu will never be signalled",
		 (unsigned long long)f->tl.last, (unsigned long long)value);
}

static void fail_abandoned(struct gd_fence_waiter *w)
{
	char msg[160];
	abandoned_msg(msg, sizeof(msg), w->fence, w->value);
	finish_waiter(w, GPUCMD_E_FENCE_ABANDONED, msg);
}

void gd_fence_abandon(struct gd_fence *f, uint64_t last)
{
	f->tl.abandoned = true;
	f->tl.last = last;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &f->waiters) {
		struct gd_fence_waiter *w = gd_container_of(pos, struct gd_fence_waiter, link);
		if (w->value > last)
			fail_abandoned(w);
	}
}

static uint64_t deadline_of(const struct gd_list *timed)
{
	return gd_container_of(timed, struct gd_fence_waiter, timed)->deadline_ms;
}

/* The earliest deadline passed (or a waiter that had it finished first):
 * the waits past theirs time out, the timer is set for the next one. */
static void on_deadline(uv_timer_t *t)
{
	struct gd_fence_waits *fw = t->data;
	uint64_t now = uv_now(t->loop);
	while (!gd_list_empty(&fw->timed)) {
		if (deadline_of(fw->timed.next) > now) {
			uv_timer_start(&fw->timer, on_deadline, deadline_of(fw->timed.next) - now, 0);
			return;
		}
		struct gd_fence_waiter *w = gd_container_of(fw->timed.next, struct gd_fence_waiter, timed);
		char msg[128];
		snprintf(msg, sizeof(msg), "fence wait timed out before value %llu (reached %llu)",
			 (unsigned long long)w->value, (unsigned long long)w->fence->completed);
		finish_waiter(w, -ETIMEDOUT, msg);
	}
}

/* Links w among the timed waits by deadline and sets the timer when it is
 * the first. Most waits share one timeout, so w usually goes last, else
 * first; only deadlines between others walk the list, which the waiter
 * limits bound (max_fence_waiters_per_uid: 1024 by default). */
static void add_deadline(struct gd_fence_waits *fw, struct gd_fence_waiter *w)
{
	struct gd_list *after = fw->timed.prev;
	if (after != &fw->timed && deadline_of(fw->timed.next) > w->deadline_ms)
		after = &fw->timed;
	while (after != &fw->timed && deadline_of(after) > w->deadline_ms)
		after = after->prev;
	gd_list_insert_tail(after->next, &w->timed);
	if (fw->timed.next == &w->timed && fw->open)
		uv_timer_start(&fw->timer, on_deadline, w->deadline_ms - uv_now(fw->timer.loop), 0);
}

static struct gd_fence_waiter *take_waiter(struct gd_fence_waits *fw)
{
	if (gd_list_empty(&fw->spare))
		return malloc(sizeof(struct gd_fence_waiter));
	struct gd_fence_waiter *w = gd_container_of(fw->spare.next, struct gd_fence_waiter, all);
	gd_list_remove(&w->all);
	fw->n_spare--;
	return w;
}

int gd_fence_wait(struct gd_fence *f, struct gd_client *c, uint64_t req, uint64_t value, uint32_t timeout_ms,
		  int event_fd, gd_fence_answer_fn *answer)
{
	/* Answered at once: nothing is parked. */
	if (value <= f->completed) {
		deliver(c, answer, req, event_fd, 0, NULL);
		return 0;
	}
	char msg[160];
	if (f->tl.abandoned && value > f->tl.last) {
		abandoned_msg(msg, sizeof(msg), f, value);
		deliver(c, answer, req, event_fd, GPUCMD_E_FENCE_ABANDONED, msg);
		return 0;
	}
	struct gd_fence_waits *fw = &f->d->fence_waits;
	if (event_fd < 0 && (timeout_ms == 0 || !fw->open)) {
		snprintf(msg, sizeof(msg), "fence value %llu not reached yet (reached %llu)", (unsigned long long)value,
			 (unsigned long long)f->completed);
		deliver(c, answer, req, event_fd, -ETIMEDOUT, msg);
		return 0;
	}
	struct gd_fence_waiter *w = take_waiter(fw);
	if (!w)
		return -ENOMEM;
	*w = (struct gd_fence_waiter){.fence = gd_fence_ref(f), .conn = c, .answer = answer,
				      .acct = gd_account_ref(c->acct), .req = req, .value = value, .event_fd = event_fd};
	gd_account_fence_waiters(w->acct, 1);
	gd_list_insert_tail(&f->waiters, &w->link);
	gd_list_insert_tail(&fw->all, &w->all);
	gd_list_init(&w->timed);
	if (event_fd < 0) {
		w->deadline_ms = uv_now(fw->timer.loop) + timeout_ms;
		add_deadline(fw, w);
	}
	return 0;
}

void gd_fence_waits_init(struct gd_core *d)
{
	struct gd_fence_waits *fw = &d->fence_waits;
	gd_list_init(&fw->all);
	gd_list_init(&fw->timed);
	gd_list_init(&fw->spare);
	uv_timer_init(d->loop, &fw->timer);
	fw->timer.data = fw;
	fw->open = true;
}

void gd_fence_waits_close(struct gd_core *d)
{
	struct gd_fence_waits *fw = &d->fence_waits;
	if (!fw->open)
		return;
	fw->open = false;
	uv_close((uv_handle_t *)&fw->timer, NULL);
}

void gd_fence_waits_finish(struct gd_core *d)
{
	struct gd_fence_waits *fw = &d->fence_waits;
	while (!gd_list_empty(&fw->spare)) {
		struct gd_fence_waiter *w = gd_container_of(fw->spare.next, struct gd_fence_waiter, all);
		gd_list_remove(&w->all);
		free(w);
	}
	fw->n_spare = 0;
}

void gd_fence_drop_waiters(struct gd_core *d, struct gd_client *c)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->fence_waits.all) {
		struct gd_fence_waiter *w = gd_container_of(pos, struct gd_fence_waiter, all);
		if (w->conn == c) {
			w->conn = NULL;
			if (w->event_fd >= 0) {
				close(w->event_fd);
				w->event_fd = -1;
			}
			finish_waiter(w, 0, NULL);
		}
	}
}

bool gd_fence_has_waiters(struct gd_core *d, const struct gd_client *c)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->fence_waits.all)
		if (gd_container_of(pos, struct gd_fence_waiter, all)->conn == c)
			return true;
	return false;
}
