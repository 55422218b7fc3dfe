/*
 * fence.c — shareable fences, host waiters and capability tokens (see
 * fence.h). Loop thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
	struct gd_list all;    /* gd_daemon.waiters */
	struct gd_fence *fence;
	struct gd_client *conn;
	gd_fence_answer_fn *answer;
	struct gd_account *acct; /* counts it against the waiter limits */
	uint64_t req, value;
	int event_fd;
	bool timed;
	uv_timer_t timer;
};

struct gd_token {
	struct gd_list link;   /* gd_daemon.tokens */
	uint8_t bytes[GPUCMD_TOKEN_BYTES];
	enum gd_token_kind kind;
	void *obj;
	struct gd_client *conn;
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
	if (vkCreateSemaphore(d->gpu->device, &si, NULL, &f->tl.sem) != VK_SUCCESS) {
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

static void free_waiter(uv_handle_t *h)
{
	free(h->data);
}

/* Answers (or signals) a waiter and frees it. status 0: reached. */
static void finish_waiter(struct gd_fence_waiter *w, int status, const char *msg)
{
	gd_list_remove(&w->link);
	gd_list_remove(&w->all);
	gd_account_fence_waiters(w->acct, -1);
	gd_account_unref(w->acct);
	if (w->event_fd >= 0) {
		/* 1: the value was reached; 2: it never will be. The pipe is
		 * non-blocking, written once and only by the daemon: eight
		 * bytes always fit. */
		uint64_t v = status == 0 ? 1 : 2;
		(void)!write(w->event_fd, &v, sizeof(v));
		close(w->event_fd);
	} else if (w->conn) {
		w->answer(w->conn, w->req, status, msg);
	}
	struct gd_fence *f = w->fence;
	if (w->timed) {
		uv_timer_stop(&w->timer);
		uv_close((uv_handle_t *)&w->timer, free_waiter);
	} else {
		free(w);
	}
	gd_fence_unref(f);
}

void gd_fence_unref(struct gd_fence *f)
{
	if (!f || --f->refs)
		return;
	if (f->d->sched)
		gd_scheduler_destroy_semaphore(f->d->sched, f->tl.sem);
	else
		vkDestroySemaphore(f->d->gpu->device, f->tl.sem, NULL);
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

static void fail_abandoned(struct gd_fence_waiter *w)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "fence abandoned: its session closed at value %llu, value %llu will never be signalled",
		 (unsigned long long)w->fence->tl.last, (unsigned long long)w->value);
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

static void on_timeout(uv_timer_t *t)
{
	struct gd_fence_waiter *w = t->data;
	char msg[128];
	snprintf(msg, sizeof(msg), "fence wait timed out before value %llu (reached %llu)",
		 (unsigned long long)w->value, (unsigned long long)w->fence->completed);
	finish_waiter(w, -ETIMEDOUT, msg);
}

int gd_fence_wait(struct gd_fence *f, struct gd_client *c, uint64_t req, uint64_t value, uint32_t timeout_ms,
		  int event_fd, gd_fence_answer_fn *answer)
{
	struct gd_fence_waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fence = gd_fence_ref(f);
	w->conn = c;
	w->answer = answer;
	w->acct = gd_account_ref(c->acct);
	gd_account_fence_waiters(w->acct, 1);
	w->req = req;
	w->value = value;
	w->event_fd = event_fd;
	gd_list_insert_tail(&f->waiters, &w->link);
	gd_list_insert_tail(&f->d->waiters, &w->all);
	if (value <= f->completed) {
		finish_waiter(w, 0, NULL);
	} else if (f->tl.abandoned && value > f->tl.last) {
		fail_abandoned(w);
	} else if (event_fd < 0 && (timeout_ms == 0 || uv_timer_init(f->d->loop, &w->timer) < 0)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "fence value %llu not reached yet (reached %llu)", (unsigned long long)value,
			 (unsigned long long)f->completed);
		finish_waiter(w, -ETIMEDOUT, msg);
	} else if (event_fd < 0) {
		w->timed = true;
		w->timer.data = w;
		uv_timer_start(&w->timer, on_timeout, timeout_ms, 0);
	}
	return 0;
}

void gd_fence_drop_waiters(struct gd_core *d, struct gd_client *c)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->waiters) {
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
	gd_list_for_each_safe(pos, tmp, &d->waiters)
		if (gd_container_of(pos, struct gd_fence_waiter, all)->conn == c)
			return true;
	return false;
}

int gd_token_issue(struct gd_core *d, struct gd_client *c, enum gd_token_kind kind, void *obj,
		   uint8_t ret_token[GPUCMD_TOKEN_BYTES])
{
	/* Exporting an object again gives the same token: the table grows with
	 * the objects exported, not with the requests. */
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->tokens) {
		struct gd_token *t = gd_container_of(pos, struct gd_token, link);
		if (t->conn == c && t->kind == kind && t->obj == obj) {
			memcpy(ret_token, t->bytes, GPUCMD_TOKEN_BYTES);
			return 0;
		}
	}
	struct gd_token *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (getrandom(t->bytes, sizeof(t->bytes), 0) != (ssize_t)sizeof(t->bytes)) {
		free(t);
		return -EIO;
	}
	t->kind = kind;
	t->obj = obj;
	t->conn = c;
	gd_list_insert_tail(&d->tokens, &t->link);
	memcpy(ret_token, t->bytes, GPUCMD_TOKEN_BYTES);
	return 0;
}

void *gd_token_lookup(struct gd_core *d, enum gd_token_kind kind, const uint8_t token[GPUCMD_TOKEN_BYTES])
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->tokens) {
		struct gd_token *t = gd_container_of(pos, struct gd_token, link);
		if (t->kind == kind && memcmp(t->bytes, token, GPUCMD_TOKEN_BYTES) == 0)
			return t->obj;
	}
	return NULL;
}

void gd_token_revoke(struct gd_core *d, struct gd_client *c, void *obj)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->tokens) {
		struct gd_token *t = gd_container_of(pos, struct gd_token, link);
		if ((!c || t->conn == c) && (!obj || t->obj == obj)) {
			gd_list_remove(&t->link);
			free(t);
		}
	}
}
