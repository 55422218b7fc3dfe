/*
 * account.c — per-connection and per-uid memory accounting (see account.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/refs.h"
#include "device/gpu.h"
#include "model/account.h"
#include "model/core.h"

/* Under proc->lock. A uid account whose last reference is being dropped
 * (refs 0) is no longer found: its remover takes it out of the list, under
 * the lock, before freeing it. With `ref`, the account comes with a new
 * reference. */
static struct gd_account *find_locked(struct gd_process *proc, uid_t uid, bool ref)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &proc->uids) {
		struct gd_account *a = gd_container_of(pos, struct gd_account, link);
		if (a->uid == uid && (ref ? gd_ref_unless_zero(&a->refs) : atomic_load(&a->refs) != 0))
			return a;
	}
	return NULL;
}

void gd_account_uid_counts(struct gd_core *d, uid_t uid, uint32_t *conns, uint32_t *handshakes)
{
	pthread_mutex_lock(&d->proc->lock);
	struct gd_account *a = find_locked(d->proc, uid, false);
	*conns = a ? a->conns : 0;
	*handshakes = a ? a->handshakes : 0;
	pthread_mutex_unlock(&d->proc->lock);
}

static struct gd_account *uid_account(struct gd_core *d, uid_t uid)
{
	pthread_mutex_lock(&d->proc->lock);
	struct gd_account *a = find_locked(d->proc, uid, true);
	if (!a && (a = calloc(1, sizeof(*a)))) {
		a->proc = d->proc;
		a->refs = 1;
		a->uid = uid;
		gd_list_insert_tail(&d->proc->uids, &a->link);
	}
	pthread_mutex_unlock(&d->proc->lock);
	return a;
}

struct gd_account *gd_account_create(struct gd_core *d, uid_t uid)
{
	struct gd_account *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->parent = uid_account(d, uid);
	if (!a->parent) {
		free(a);
		return NULL;
	}
	gd_list_init(&a->link);
	a->proc = d->proc;
	a->d = d;
	a->refs = 1;
	a->uid = uid;
	return a;
}

struct gd_account *gd_account_ref(struct gd_account *a)
{
	atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
	return a;
}

void gd_account_unref(struct gd_account *a)
{
	if (!a || atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (a->parent) {
		/* A new account at the same address must not be taken for it. */
		struct gd_fair *f = &a->d->fair;
		for (int i = 0; i < 2; i++)
			if (f->waiter[i] == a)
				f->waiter[i] = NULL;
		gd_account_unref(a->parent);
	} else {
		pthread_mutex_lock(&a->proc->lock);
		gd_list_remove(&a->link);
		pthread_mutex_unlock(&a->proc->lock);
	}
	free(a);
}

void gd_account_count_conn(struct gd_account *uid, int delta)
{
	uid->handshakes += delta;
	uid->conns += delta;
	atomic_fetch_add(&uid->proc->clients, delta);
}

bool gd_account_input_reserve(struct gd_account *a, uint64_t need)
{
	struct gd_process *proc = a->proc;
	const struct gd_config *cfg = &proc->cfg;
	struct gd_account *u = a->parent;
	pthread_mutex_lock(&proc->lock);
	bool fits = (!cfg->max_input_bytes || !proc->input_bytes || proc->input_bytes + need <= cfg->max_input_bytes) &&
		    (!cfg->max_input_bytes_per_uid || !u->input_bytes || u->input_bytes + need <= cfg->max_input_bytes_per_uid);
	if (fits) {
		proc->input_bytes += need;
		a->input_bytes += need;
		u->input_bytes += need;
	}
	pthread_mutex_unlock(&proc->lock);
	return fits;
}

void gd_account_input_release(struct gd_account *a, uint64_t n)
{
	a->proc->input_bytes -= n;
	a->input_bytes -= n;
	a->parent->input_bytes -= n;
}

static int charge_locked(struct gd_account *a, uint64_t bytes, char *err, size_t errlen)
{
	const struct gd_config *cfg = &a->proc->cfg;
	struct gd_account *u = a->parent;
	if (cfg->max_buffers_per_client && a->buffers >= cfg->max_buffers_per_client) {
		snprintf(err, errlen, "this client already holds %" PRIu64 " buffers, the most max_buffers_per_client allows",
			 a->buffers);
		return -EMFILE;
	}
	if (cfg->max_buffers_per_uid && u->buffers >= cfg->max_buffers_per_uid) {
		snprintf(err, errlen, "uid %u already holds %" PRIu64 " buffers over all its clients, the most "
			 "max_buffers_per_uid allows", (unsigned)u->uid, u->buffers);
		return -EMFILE;
	}
	if (cfg->max_memory_per_client && (a->bytes > cfg->max_memory_per_client ||
					   bytes > cfg->max_memory_per_client - a->bytes)) {
		snprintf(err, errlen,
			 "a buffer of %" PRIu64 " bytes would exceed this client's memory limit "
			 "(max_memory_per_client = %" PRIu64 ", %" PRIu64 " in use)",
			 bytes, cfg->max_memory_per_client, a->bytes);
		return -EDQUOT;
	}
	if (cfg->max_memory_per_uid && (u->bytes > cfg->max_memory_per_uid ||
					bytes > cfg->max_memory_per_uid - u->bytes)) {
		snprintf(err, errlen,
			 "a buffer of %" PRIu64 " bytes would exceed the memory limit of uid %u "
			 "(max_memory_per_uid = %" PRIu64 ", %" PRIu64 " in use by all its clients)",
			 bytes, (unsigned)u->uid, cfg->max_memory_per_uid, u->bytes);
		return -EDQUOT;
	}
	for (struct gd_account *x = a; x; x = x->parent) {
		x->bytes += bytes;
		x->buffers++;
		if (x->bytes > x->peak)
			x->peak = x->bytes;
	}
	return 0;
}

int gd_account_charge(struct gd_account *a, uint64_t bytes, char *err, size_t errlen)
{
	pthread_mutex_lock(&a->proc->lock);
	int r = charge_locked(a, bytes, err, errlen);
	pthread_mutex_unlock(&a->proc->lock);
	return r;
}

void gd_account_uncharge(struct gd_account *a, uint64_t bytes)
{
	for (struct gd_account *x = a; x; x = x->parent) {
		x->bytes -= bytes;
		x->buffers--;
	}
}

void gd_account_resident(struct gd_account *a, uint64_t bytes, int delta)
{
	for (struct gd_account *x = a; x; x = x->parent) {
		x->resident += delta;
		x->resident_bytes += delta * (int64_t)bytes;
	}
}

void gd_account_in_flight(struct gd_account *a, int delta)
{
	for (struct gd_account *x = a; x; x = x->parent)
		x->in_flight += delta;
}

void gd_account_waits(struct gd_account *a)
{
	struct gd_fair *f = &a->d->fair;
	int slot = f->waiter[1] == a || (f->waiter[0] != a && f->ns[1] < f->ns[0]);
	f->waiter[slot] = a;
	f->ns[slot] = gd_now_ns();
}

/* Whether a client other than a waited for its work within the window. */
static bool another_waits(const struct gd_account *a)
{
	const struct gd_fair *f = &a->d->fair;
	uint64_t now = 0, window = (uint64_t)a->proc->cfg.fair_window_ms * 1000000u;
	for (int i = 0; i < 2; i++) {
		if (!f->waiter[i] || f->waiter[i] == a)
			continue;
		now = now ? now : gd_now_ns();
		if (now - f->ns[i] < window)
			return true;
	}
	return false;
}

bool gd_account_saturated(const struct gd_account *a)
{
	const struct gd_config *cfg = &a->proc->cfg;
	return (cfg->max_inflight_per_client && a->in_flight >= cfg->max_inflight_per_client) ||
	       (cfg->max_inflight_per_uid && a->parent->in_flight >= cfg->max_inflight_per_uid) ||
	       (cfg->fair_depth && a->in_flight >= cfg->fair_depth && a->proc->gpu->queue_round_trip == a->proc->gpu->queue &&
		another_waits(a));
}

void gd_account_fence_waiters(struct gd_account *a, int delta)
{
	a->fence_waiters += delta;
	a->parent->fence_waiters += delta;
}

int gd_account_may_wait(const struct gd_account *a, char *err, size_t errlen)
{
	const struct gd_config *cfg = &a->proc->cfg;
	if (cfg->max_fence_waiters_per_client && a->fence_waiters >= cfg->max_fence_waiters_per_client) {
		snprintf(err, errlen, "this connection has %u fence waits parked, the most max_fence_waiters_per_client "
			 "allows (a wait ends when its value comes, its fence is abandoned or it times out)",
			 a->fence_waiters);
		return -EMFILE;
	}
	if (cfg->max_fence_waiters_per_uid && a->parent->fence_waiters >= cfg->max_fence_waiters_per_uid) {
		snprintf(err, errlen, "uid %u has %u fence waits parked over all its clients, the most "
			 "max_fence_waiters_per_uid allows", (unsigned)a->uid, a->parent->fence_waiters);
		return -EMFILE;
	}
	return 0;
}
