/*
 * devicelost.c — telling everyone the device is gone, then recreating it
 * or leaving (see devicelost.h).
 *
 * Recreation waits until the lost device holds nothing: no connection, no
 * buffer, no session, no submission, on any shard. Then, over timer ticks
 * (each shard's scheduler handles must finish closing, on its own loop,
 * before it is freed), the objects built on the device are destroyed in
 * reverse start-up order and made again in start-up order, with the HIGH
 * shard parked.
 */
#include <stdio.h>
#include <unistd.h>

#include "base/log.h"
#include "device/gpu.h"
#include "device/memory.h"
#include "device/pcache.h"
#include "device/registry.h"
#include "gpucmd_defs.h"
#include "model/park.h"
#include "net/inbox.h"
#include "net/server.h"
#include "service/daemon.h"
#include "service/devicelost.h"
#include "submit/scheduler.h"

#define RECREATE_TICK_MS 10
#define RECREATE_LIMIT_MS 10000

static struct {
	uv_timer_t timer;       /* exit deadline, or recreation steps */
	bool timer_open;
	bool handles_closed;    /* the old scheduler's handles are closing */
	uint64_t since_ms;
	char report[512];
} lost;

static void leave(uv_timer_t *h)
{
	(void)h;
	log_err("exiting after device loss (status %d); the service manager restarts gpucmdd", GD_EXIT_DEVICE_LOST);
	_exit(GD_EXIT_DEVICE_LOST);
}

/* Every shard of d. Callers have the others parked (model/park.h): the
 * main loop reads and changes the HIGH shard's clients and scheduler. */
#define for_each_shard(d, x)                                                                                   \
	for (uint32_t i_ = 0; i_ < (d)->proc.n_shards && ((x) = (d)->proc.shards[i_]); i_++)

/* After a hang: exits as soon as every goodbye is out. */
static void check_sent(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	struct gd_core *x;
	bool none = true;
	gd_park_others(&d->core);
	for_each_shard(d, x)
		none = none && gd_list_empty(&x->clients);
	gd_unpark_others(&d->core);
	if (none)
		leave(h);
}

/* The objects built on the device, destroyed and made again (the other
 * shards parked). Fails (and the daemon leaves) when the new device cannot
 * be made. The pipeline cache is not saved from the lost device: the new
 * one is seeded from the file, and the standard kernels are built again
 * through it. */
static void recreate(struct gd_daemon *d)
{
	struct gd_core *x;
	for_each_shard(d, x) {
		struct gd_scheduler_counts n;
		gd_scheduler_get_counts(x->sched, &n);
		x->stats.submissions += n.submissions;
		x->stats.retire_cpu_ns += n.retire_cpu_ns;
		gd_scheduler_destroy(x->sched);
		x->sched = NULL;
	}
	gd_registry_destroy(d->proc.reg);
	gd_pcache_destroy(d->proc.pcache);
	gd_memory_destroy(d->proc.memory);
	d->proc.lost_validation_messages += gd_gpu_destroy(d->proc.gpu);
	d->proc.reg = NULL;
	d->proc.pcache = NULL;
	d->proc.memory = NULL;
	struct gd_gpu_options go = gd_gpu_options_of(&d->proc.cfg);
	bool ok = (d->proc.gpu = gd_gpu_create(&go)) &&
		  (d->proc.memory = gd_memory_create(d->proc.gpu, d->proc.cfg.memory_keep_mib)) &&
		  (d->proc.pcache = gd_pcache_create(d->proc.gpu, d->proc.cfg.no_cache ? NULL : d->proc.cfg.cache_dir)) &&
		  (d->proc.reg = gd_registry_create(d->proc.gpu, d->proc.pcache, d->proc.cfg.kernels_dir));
	for_each_shard(d, x)
		ok = ok && (x->sched = gd_daemon_scheduler_create(d, x));
	if (!ok) {
		log_err("cannot recreate the device after its loss");
		leave(NULL);
	}
	gd_pcache_save(d->proc.pcache);
	d->proc.recreating = false;
	d->proc.device_losses++;
	gd_server_pause(d->net.server, false);
	log_info("device recreated after its loss: %s; accepting clients again", d->proc.gpu->props.deviceName);
}

/* One step of the recreation, every RECREATE_TICK_MS: 1 while the lost
 * device still holds something, 0 once done (the other shards parked). */
static int recreate_step_parked(struct gd_daemon *d)
{
	uint32_t clients = 0, buffers = 0, sessions = 0, builds = 0;
	uint64_t pending = 0;
	bool closed = true;
	struct gd_core *x;
	for_each_shard(d, x) {
		clients += x->stats.clients;
		buffers += x->stats.live_buffers;
		sessions += x->stats.live_sessions;
		builds += x->kernel_builds;
		pending += gd_scheduler_pending(x->sched);
		closed = closed && gd_scheduler_closed(x->sched);
	}
	/* A client kernel still being built uses the registry, the pipeline
	 * cache and the device on a worker thread: it must end first. */
	if (clients || buffers || sessions || pending || builds) {
		if (uv_now(d->core.loop) - lost.since_ms >= RECREATE_LIMIT_MS) {
			log_err("after device loss, %u clients, %u buffers, %u sessions, %llu submissions and %u kernel "
				"builds still not freed after %u ms",
				clients, buffers, sessions, (unsigned long long)pending, builds, RECREATE_LIMIT_MS);
			leave(NULL);
		}
		return 1;
	}
	if (!lost.handles_closed) {
		for_each_shard(d, x)
			gd_scheduler_close(x->sched);
		lost.handles_closed = true;
		return 1;
	}
	/* Each loop runs its handles' close callbacks on its own thread. */
	if (!closed)
		return 1;
	recreate(d);
	return 0;
}

static void recreate_step(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	if (d->core.stopping) {
		/* The stop frees everything anyway; main destroys the rest. */
		uv_timer_stop(h);
		return;
	}
	gd_park_others(&d->core);
	int r = recreate_step_parked(d);
	gd_unpark_others(&d->core);
	if (r == 0)
		uv_timer_stop(h);
}

void gd_device_lost(struct gd_daemon *d, const char *why, bool hung)
{
	if (d->proc.recreating)
		return;
	char fault[256];
	gd_gpu_fault_text(d->proc.gpu, fault, sizeof(fault));
	snprintf(lost.report, sizeof(lost.report), "GPU device lost: %s (%s); %s", why, fault,
		 hung ? "gpucmdd restarts" : "gpucmdd recreates the device; reconnect");
	log_err("%s", lost.report);
	struct gd_core *x;
	gd_park_others(&d->core);
	for_each_shard(d, x) {
		struct gd_list *pos, *tmp;
		gd_list_for_each_safe(pos, tmp, &x->clients) {
			struct gd_client *c = gd_container_of(pos, struct gd_client, link);
			gd_conn_goodbye(gd_conn_of(c), GPUCMD_E_DEVICE_LOST, c->bye_text[0] ? c->bye_text : lost.report);
		}
		gd_inbox_refuse(&x->net->inbox, GPUCMD_E_DEVICE_LOST, lost.report);
	}
	gd_unpark_others(&d->core);
	if (!lost.timer_open) {
		uv_timer_init(d->core.loop, &lost.timer);
		lost.timer.data = d;
		lost.timer_open = true;
	}
	if (hung) {
		d->core.stopping = true;
		d->proc.high = NULL;
		gd_server_destroy(d->net.server);
		d->net.server = NULL;
		uv_timer_start(&lost.timer, check_sent, 10, 10);
		uv_timer_start(&d->stop_timer, leave, 500, 0);
		return;
	}
	d->proc.recreating = true;
	lost.handles_closed = false;
	lost.since_ms = uv_now(d->core.loop);
	gd_server_pause(d->net.server, true);
	uv_timer_start(&lost.timer, recreate_step, RECREATE_TICK_MS, RECREATE_TICK_MS);
}

static void progress(void *data)
{
	struct gd_core *core = data;
	core->on_progress(core);
}

/* The main loop handles it (core.on_lost): at once for its own
 * scheduler, through its shard_note for the HIGH shard's. */
static void lost_device(void *data, const char *why, bool hung)
{
	struct gd_core *core = data;
	core->on_lost(core, why, hung);
}

struct gd_scheduler *gd_daemon_scheduler_create(struct gd_daemon *d, struct gd_core *core)
{
	struct gd_gpu *gpu = d->proc.gpu;
	struct gd_scheduler_listener l = {.progress = progress, .lost = lost_device, .data = core};
	/* The HIGH shard submits everything to the high queue, which the
	 * main loop's own HIGH sessions use too: those submissions take the
	 * lock (on a one-queue device such as lavapipe, all of them). */
	struct gd_scheduler_shard sh = {
		.queue = core->index ? gpu->queue_high : VK_NULL_HANDLE,
		.shared_queue = d->proc.cfg.high_shard ? gpu->queue_high : VK_NULL_HANDLE,
		.queue_lock = &d->queue_lock,
		.serial_base = (uint64_t)core->index << 60,
		.high_seen_ns = &d->proc.high_seen_ns,
		/* Its clients wait for their round trips, which its loop polls
		 * for: a completion thread polling too took 0.8 of a CPU beside
		 * bulk work on the H200 and lengthened every process's wake-ups
		 * (BENCHMARKS.md, "2026-12-05"). */
		.loop_polls = core->index != 0,
	};
	return gd_scheduler_create(core->loop, gpu, &d->proc.cfg, &l, &sh);
}

void gd_device_lost_finish(struct gd_daemon *d)
{
	(void)d;
	if (lost.timer_open)
		uv_close((uv_handle_t *)&lost.timer, NULL);
	lost.timer_open = false;
}
