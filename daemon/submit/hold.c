/*
 * hold.c — the daemon as the holding queue for bulk work (see hold.h).
 */
#include "base/latency.h"
#include "base/settings.h"
#include "submit/hold.h"

static bool is_bulk(const struct gd_job *job)
{
	return job->lane->priority != GD_PRIORITY_HIGH;
}

void gd_hold_configure(struct gd_hold *h, const struct gd_config *cfg)
{
	h->window_ns = (uint64_t)cfg->high_window_ms * 1000000u;
	h->bulk_depth = cfg->bulk_depth_high;
}

bool gd_hold_high_active(const struct gd_hold *h)
{
	if (h->high_pending)
		return true;
	uint64_t last = h->shared_high_ns ? atomic_load_explicit(h->shared_high_ns, memory_order_relaxed) : 0;
	last = last > h->last_high_ns ? last : h->last_high_ns;
	if (!last)
		return false;
	uint64_t now = gd_now_ns();
	/* Another thread's clock read may be a little ahead of this one's. */
	return last >= now || now - last < h->window_ns;
}

static void high_seen(struct gd_hold *h)
{
	h->last_high_ns = gd_now_ns();
	if (h->shared_high_ns)
		atomic_store_explicit(h->shared_high_ns, h->last_high_ns, memory_order_relaxed);
}

void gd_hold_queued(struct gd_hold *h, const struct gd_job *job)
{
	if (is_bulk(job))
		return;
	h->high_pending++;
	high_seen(h);
}

void gd_hold_submitted(struct gd_hold *h, struct gd_job *job)
{
	h->bulk_on_gpu += is_bulk(job);
}

void gd_hold_unsubmitted(struct gd_hold *h, struct gd_job *job)
{
	h->bulk_on_gpu -= is_bulk(job);
}

void gd_hold_retired(struct gd_hold *h, struct gd_job *job, bool on_gpu)
{
	if (on_gpu)
		gd_hold_unsubmitted(h, job);
	if (!is_bulk(job)) {
		h->high_pending--;
		high_seen(h);
	}
}

/* Moves to out the first job of every lane not yet taken in this round,
 * keeping each lane's order (a lane's later jobs stay behind its first).
 * Returns whether it took any. */
static bool take_round(struct gd_job **list, struct gd_job ***out, uint64_t round)
{
	bool took = false;
	for (struct gd_job **p = list; *p;) {
		struct gd_job *job = *p;
		if (job->lane->round == round) {
			p = &job->next;
			continue;
		}
		job->lane->round = round;
		*p = job->next;
		job->next = NULL;
		**out = job;
		*out = &job->next;
		took = true;
	}
	return took;
}

/* HIGH first, then normal, then low; round robin between the lanes within
 * each. */
static struct gd_job *order(struct gd_hold *h, struct gd_job *ready)
{
	static const enum gd_priority by[] = {GD_PRIORITY_HIGH, GD_PRIORITY_NORMAL, GD_PRIORITY_LOW};
	struct gd_job *head = NULL, **out = &head;
	struct gd_job *prio[GD_PRIORITY_COUNT] = {NULL}, **tail[GD_PRIORITY_COUNT];
	for (int p = 0; p < GD_PRIORITY_COUNT; p++)
		tail[p] = &prio[p];
	while (ready) {
		struct gd_job *job = ready;
		ready = job->next;
		job->next = NULL;
		*tail[job->lane->priority] = job;
		tail[job->lane->priority] = &job->next;
	}
	for (int i = 0; i < GD_PRIORITY_COUNT; i++)
		while (prio[by[i]] && take_round(&prio[by[i]], &out, ++h->rounds))
			;
	return head;
}

struct gd_job *gd_hold_begin_turn(struct gd_hold *h, struct gd_job *ready)
{
	h->turn++;
	return order(h, ready);
}

void gd_hold_stop(struct gd_hold *h)
{
	h->bulk_depth = 0;
}

bool gd_hold_keep(struct gd_hold *h, const struct gd_job *job)
{
	if (!is_bulk(job))
		return false;
	bool keep = h->bulk_depth && h->bulk_on_gpu >= h->bulk_depth && gd_hold_high_active(h);
	h->held += keep && h->held_turn != h->turn;
	h->held_turn = keep ? h->turn : h->held_turn;
	return keep;
}
