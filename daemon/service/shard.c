/*
 * shard.c — the HIGH shard's thread and life (see shard.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/latency.h"
#include "base/log.h"
#include "device/gpu.h"
#include "model/fence.h"
#include "model/park.h"
#include "net/timeouts.h"
#include "service/daemon.h"
#include "service/devicelost.h"
#include "service/shard.h"
#include "submit/scheduler.h"

static struct gd_shard *shard_of(struct gd_core *core)
{
	return gd_container_of(core, struct gd_shard, core);
}

static void note(struct gd_shard *sh)
{
	uv_async_send(&sh->daemon->shard_note);
}

/* While its clients keep it busy, the HIGH shard's loop does not sleep
 * between their requests: after a poll that brought requests, an idle
 * handle makes the next polls return at once, until high_spin_us passed
 * without one, so a client's next round trip finds the loop awake instead
 * of paying a thread wake-up, which grows with the load on the CPUs
 * (BENCHMARKS.md, "2026-12-05"). */
static void on_spin(uv_idle_t *h)
{
	struct gd_shard *sh = h->data;
	if (gd_now_ns() - sh->spin_last_ns >= sh->spin_ns)
		uv_idle_stop(h);
}

static void on_after_poll(uv_check_t *h)
{
	struct gd_shard *sh = h->data;
	if (sh->core.stats.requests == sh->spin_seen)
		return;
	sh->spin_seen = sh->core.stats.requests;
	sh->spin_last_ns = gd_now_ns();
	uv_idle_start(&sh->spin, on_spin);
}

/* The stop's last step on this shard, once its committed work retired. */
static void finish_stop(struct gd_shard *sh)
{
	struct gd_core *core = &sh->core;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &core->clients)
		gd_conn_goodbye(gd_conn_of(gd_container_of(pos, struct gd_client, link)), GPUCMD_E_DISCONNECTED,
				"gpucmdd is stopping");
	gd_scheduler_close(core->sched);
	gd_timeouts_finish(&sh->net);
	gd_fence_waits_close(core);
	gd_net_close(&sh->net);
	uv_close((uv_handle_t *)&sh->stop_async, NULL);
	uv_close((uv_handle_t *)&sh->after_poll, NULL);
	uv_close((uv_handle_t *)&sh->spin, NULL);
	sh->async_open = false;
	gd_park_leave(core);
}

static void on_progress(struct gd_core *core)
{
	struct gd_shard *sh = shard_of(core);
	gd_net_resume_stalled(&sh->net);
	if (core->stopping && sh->async_open && gd_scheduler_pending(core->sched) == 0)
		finish_stop(sh);
}

static void on_stop(uv_async_t *h)
{
	struct gd_shard *sh = h->data;
	struct gd_core *core = &sh->core;
	if (core->stopping)
		return;
	core->stopping = true;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &core->clients)
		gd_conn_flush(gd_conn_of(gd_container_of(pos, struct gd_client, link)));
	gd_scheduler_cancel_held(core->sched);
	on_progress(core);
}

static void *shard_main(void *arg)
{
	struct gd_shard *sh = arg;
	uv_run(&sh->loop, UV_RUN_DEFAULT);
	pthread_mutex_lock(&sh->note_lock);
	sh->ended = true;
	pthread_mutex_unlock(&sh->note_lock);
	note(sh);
	return NULL;
}

/* Its scheduler found the device lost (its thread): told to the main
 * loop, which tells everyone. */
static void on_lost(struct gd_core *core, const char *why, bool hung)
{
	struct gd_shard *sh = shard_of(core);
	pthread_mutex_lock(&sh->note_lock);
	if (!sh->lost) {
		sh->lost = true;
		sh->lost_hung = hung;
		snprintf(sh->lost_why, sizeof(sh->lost_why), "%s", why);
	}
	pthread_mutex_unlock(&sh->note_lock);
	note(sh);
}

bool gd_shard_take_note(struct gd_shard *sh, bool *ended, char *why, size_t len, bool *hung)
{
	pthread_mutex_lock(&sh->note_lock);
	bool lost = sh->lost;
	*ended = sh->ended;
	if (lost) {
		snprintf(why, len, "%s", sh->lost_why);
		*hung = sh->lost_hung;
		sh->lost = false;
	}
	pthread_mutex_unlock(&sh->note_lock);
	return lost;
}

/* 0, or -1 (logged) with what was made left for gd_shard_destroy. */
static int start(struct gd_daemon *d, struct gd_shard *sh)
{
	struct gd_core *core = &sh->core;
	struct gd_process *proc = &d->proc;
	sh->daemon = d;
	pthread_mutex_init(&sh->note_lock, NULL);
	core->proc = proc;
	core->index = 1;
	gd_list_init(&core->clients);
	if (uv_loop_init(&sh->loop) < 0) {
		log_err("cannot create the HIGH shard's loop");
		return -1;
	}
	sh->loop_open = true;
	core->loop = &sh->loop;
	gd_fence_waits_init(core);
	core->on_progress = on_progress;
	core->on_lost = on_lost;
	core->started_ms = uv_now(core->loop);
	if (gd_net_init(&sh->net, core) < 0) {
		log_err("cannot set up the HIGH shard's connections");
		return -1;
	}
	sh->net_open = true;
	if (!(core->sched = gd_daemon_scheduler_create(d, core)))
		return -1;
	gd_timeouts_init(&sh->net);
	sh->stop_async.data = sh;
	if (uv_async_init(&sh->loop, &sh->stop_async, on_stop) < 0 || gd_park_init_shard(core) < 0)
		return -1;
	sh->async_open = true;
	/* On a CPU device the poll would take a core from the driver. */
	bool cpu = proc->gpu->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
	uint32_t spin_us = proc->cfg.high_spin_us == GD_CONFIG_AUTO ? (cpu ? 0 : 50) : proc->cfg.high_spin_us;
	sh->spin_ns = (uint64_t)spin_us * 1000u;
	sh->after_poll.data = sh->spin.data = sh;
	uv_check_init(&sh->loop, &sh->after_poll);
	uv_idle_init(&sh->loop, &sh->spin);
	if (sh->spin_ns)
		uv_check_start(&sh->after_poll, on_after_poll);
	pthread_mutex_lock(&proc->park.m);
	proc->shards[proc->n_shards++] = core;
	pthread_mutex_unlock(&proc->park.m);
	if (pthread_create(&core->thread, NULL, shard_main, sh) != 0) {
		log_err("cannot start the HIGH shard's thread");
		pthread_mutex_lock(&proc->park.m);
		proc->n_shards--;
		pthread_mutex_unlock(&proc->park.m);
		return -1;
	}
	pthread_setname_np(core->thread, "gpucmdd-high"); /* in top, perf and the benchmarks */
	sh->thread_started = true;
	proc->high = core;
	return 0;
}

struct gd_shard *gd_shard_create(struct gd_daemon *d)
{
	struct gd_shard *sh = calloc(1, sizeof(*sh));
	if (!sh) {
		log_err("cannot start the HIGH shard: out of memory");
		return NULL;
	}
	if (start(d, sh) < 0) {
		gd_shard_destroy(sh);
		return NULL;
	}
	return sh;
}

void gd_shard_stop(struct gd_shard *sh)
{
	uv_async_send(&sh->stop_async);
}

uint32_t gd_shard_destroy(struct gd_shard *sh)
{
	if (!sh)
		return 0;
	struct gd_core *core = &sh->core;
	if (sh->thread_started)
		pthread_join(core->thread, NULL);
	gd_scheduler_destroy(core->sched);
	core->sched = NULL;
	if (sh->net_open)
		gd_net_finish(&sh->net);
	if (sh->loop_open) {
		uv_run(&sh->loop, UV_RUN_NOWAIT);
		if (uv_loop_close(&sh->loop) != 0)
			log_warn("the HIGH shard's loop closed with handles still open");
		gd_fence_waits_finish(core);
	}
	pthread_mutex_destroy(&sh->note_lock);
	uint32_t leaks = core->stats.live_buffers + core->stats.live_sessions + core->stats.live_graphs;
	free(sh);
	return leaks;
}
