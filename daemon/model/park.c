/*
 * park.c — stopping the other shards' loops (see park.h). Each shard has
 * an async handle on its loop; a parker sets itself in proc->park, wakes
 * every other shard and waits until all count themselves parked. Each
 * waits in its async callback until the generation moves on.
 */
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

int gd_park_init_shard(struct gd_core *self)
{
	self->park_async.data = self;
	return uv_async_init(self->loop, &self->park_async, on_park);
}

void gd_park_leave(struct gd_core *self)
{
	struct gd_process *proc = self->proc;
	struct gd_park *p = &proc->park;
	pthread_mutex_lock(&p->m);
	while (p->parker)
		park_here(p);
	uint32_t j = 0;
	for (uint32_t i = 0; i < proc->n_shards; i++)
		if (proc->shards[i] != self)
			proc->shards[j++] = proc->shards[i];
	proc->n_shards = j;
	pthread_mutex_unlock(&p->m);
	uv_close((uv_handle_t *)&self->park_async, NULL);
}

void gd_park_others(struct gd_core *self)
{
	struct gd_process *proc = self->proc;
	struct gd_park *p = &proc->park;
	if (proc->n_shards < 2)
		return;
	pthread_mutex_lock(&p->m);
	while (p->parker)
		park_here(p);
	/* Parkers of an earlier park must have left before counting anew. */
	while (p->parked)
		pthread_cond_wait(&p->cv, &p->m);
	p->parker = self;
	p->gen++;
	for (uint32_t i = 0; i < proc->n_shards; i++)
		if (proc->shards[i] != self)
			uv_async_send(&proc->shards[i]->park_async);
	while (p->parked < proc->n_shards - 1)
		pthread_cond_wait(&p->cv, &p->m);
	pthread_mutex_unlock(&p->m);
}

void gd_unpark_others(struct gd_core *self)
{
	struct gd_park *p = &self->proc->park;
	if (self->proc->n_shards < 2)
		return;
	pthread_mutex_lock(&p->m);
	p->parker = NULL;
	p->gen++;
	pthread_cond_broadcast(&p->cv);
	while (p->parked)
		pthread_cond_wait(&p->cv, &p->m);
	pthread_mutex_unlock(&p->m);
}
