/*
 * park.c — stopping the other shards' loops (see park.h). Each shard has
 * an async handle on its loop; a parker sets itself in proc->park, wakes
 * every other shard and waits until all count themselves parked. Each
 * waits in its async callback until the generation moves on.
 */
#include <errno.h>

#include "base/latency.h"
#include "model/core.h"
#include "model/park.h"

static void park_here(struct gd_park *p)
{
	/* Called with p->m held. */
	uint64_t gen = p->gen;
	p->parked++;
	pthread_cond_broadcast(&p->cv);
	while (p->gen == gen)
		pthread_cond_wait(&p->cv, &p->m);
	p->parked--;
	pthread_cond_broadcast(&p->cv);
}

/* With p->m held: until no park is under way and the parked of the last
 * one have all left, parking for any that comes meanwhile. */
static void wait_turn(struct gd_park *p)
{
	for (;;) {
		if (p->parker)
			park_here(p);
		else if (p->parked)
			pthread_cond_wait(&p->cv, &p->m);
		else
			return;
	}
}

static void on_park(uv_async_t *h)
{
	struct gd_core *self = h->data;
	struct gd_park *p = &self->proc->park;
	pthread_mutex_lock(&p->m);
	/* A wake-up can outlive the park that sent it. */
	if (p->parker && p->parker != self)
		park_here(p);
	pthread_mutex_unlock(&p->m);
}

static void on_retry(uv_timer_t *h)
{
	struct gd_core *self = h->data;
	self->on_progress(self);
}

int gd_park_init_shard(struct gd_core *self)
{
	self->park_async.data = self->park_retry.data = self;
	uv_timer_init(self->loop, &self->park_retry);
	return uv_async_init(self->loop, &self->park_async, on_park);
}

int gd_park_admit(struct gd_core *self, bool admin)
{
	struct gd_park *p = &self->proc->park;
	pthread_mutex_lock(&p->m);
	bool alone = self->proc->n_shards < 2;
	pthread_mutex_unlock(&p->m);
	if (alone || admin)
		return 0;
	uint64_t now = gd_now_ns(), interval = GD_PARK_SHARE * atomic_load(&p->last_held_ns);
	interval = interval > GD_PARK_INTERVAL_MS * 1000000ull ? interval : GD_PARK_INTERVAL_MS * 1000000ull;
	uint64_t last = atomic_load(&p->last_asked_ns);
	/* Another thread's clock read may be a little ahead of this one's. */
	while (now >= last && now - last >= interval)
		if (atomic_compare_exchange_weak(&p->last_asked_ns, &last, now))
			return 0;
	uint64_t since = now > last ? now - last : 0;
	if (!uv_is_active((uv_handle_t *)&self->park_retry))
		uv_timer_start(&self->park_retry, on_retry, (interval - since) / 1000000u + 1, 0);
	return -EAGAIN;
}

uint64_t gd_park_count(struct gd_core *self, uint64_t *held_ns)
{
	struct gd_park *p = &self->proc->park;
	pthread_mutex_lock(&p->m);
	uint64_t n = p->count;
	*held_ns = p->held_ns;
	pthread_mutex_unlock(&p->m);
	return n;
}

void gd_park_leave(struct gd_core *self)
{
	struct gd_process *proc = self->proc;
	struct gd_park *p = &proc->park;
	pthread_mutex_lock(&p->m);
	wait_turn(p);
	uint32_t j = 0;
	for (uint32_t i = 0; i < proc->n_shards; i++)
		if (proc->shards[i] != self)
			proc->shards[j++] = proc->shards[i];
	proc->n_shards = j;
	pthread_mutex_unlock(&p->m);
	uv_close((uv_handle_t *)&self->park_async, NULL);
	uv_close((uv_handle_t *)&self->park_retry, NULL);
}

void gd_park_others(struct gd_core *self)
{
	struct gd_process *proc = self->proc;
	struct gd_park *p = &proc->park;
	pthread_mutex_lock(&p->m);
	wait_turn(p);
	if (proc->n_shards < 2) {
		pthread_mutex_unlock(&p->m);
		return;
	}
	p->parker = self;
	p->gen++;
	p->count++;
	for (uint32_t i = 0; i < proc->n_shards; i++)
		if (proc->shards[i] != self)
			uv_async_send(&proc->shards[i]->park_async);
	while (p->parked < proc->n_shards - 1)
		pthread_cond_wait(&p->cv, &p->m);
	p->since_ns = gd_now_ns();
	pthread_mutex_unlock(&p->m);
}

void gd_unpark_others(struct gd_core *self)
{
	struct gd_park *p = &self->proc->park;
	pthread_mutex_lock(&p->m);
	/* Not the parker: it was alone, nothing is parked. */
	if (p->parker != self) {
		pthread_mutex_unlock(&p->m);
		return;
	}
	uint64_t held = gd_now_ns() - p->since_ns;
	p->held_ns += held;
	atomic_store(&p->last_held_ns, held);
	p->parker = NULL;
	p->gen++;
	pthread_cond_broadcast(&p->cv);
	while (p->parked)
		pthread_cond_wait(&p->cv, &p->m);
	pthread_mutex_unlock(&p->m);
}
