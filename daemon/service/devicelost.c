/*
 * devicelost.c — telling everyone the device is gone, then recreating it
 * or leaving (see devicelost.h).
 *
 * Recreation waits until the lost device holds nothing: no connection, no
 * buffer, no session, no submission. Then, over two timer ticks (the
 * scheduler's loop handles must finish closing before it is freed), the
 * objects built on the device are destroyed in reverse start-up order and
 * made again in start-up order.
 */
#include <stdio.h>
#include <unistd.h>

#include "net/conn.h"
#include "model/core.h"
#include "service/devicelost.h"
#include "device/gpu.h"
#include "gpucmd.h"
#include "base/log.h"
#include "device/memory.h"
#include "device/pcache.h"
#include "device/registry.h"
#include "submit/scheduler.h"
#include "net/server.h"
#include "model/session.h"

#define RECREATE_TICK_MS 10
#define RECREATE_LIMIT_MS 10000

static struct {
	uv_timer_t timer;       /* exit deadline, or recreation steps */
	bool timer_open;
	bool handles_closed;    /* the old scheduler's handles are closing */
	uint64_t since_ms;
	char report[512];
} lost;

void gd_device_lost_affects(struct gd_session *s, const char *why)
{
	struct gd_conn *c = s->conn;
	if (!c || c->closing || c->bye_text[0])
		return;
	snprintf(c->bye_text, sizeof(c->bye_text), "GPU device lost while running session '%s': %s", s->name, why);
}

static void leave(uv_timer_t *h)
{
	(void)h;
	log_err("exiting after device loss (status %d); the service manager restarts gpucmdd", GD_EXIT_DEVICE_LOST);
	_exit(GD_EXIT_DEVICE_LOST);
}

/* After a hang: exits as soon as every goodbye is out. */
static void check_sent(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	if (gd_list_empty(&d->conns))
		leave(h);
}

/* The objects built on the device, destroyed and made again. Fails (and
 * the daemon leaves) when the new device cannot be made. The pipeline
 * cache is not saved from the lost device: the new one is seeded from the
 * file, and the standard kernels are built again through it. */
static void recreate(struct gd_daemon *d)
{
	gd_scheduler_destroy(d->sched);
	gd_registry_destroy(d->reg);
	gd_pcache_destroy(d->pcache);
	gd_memory_destroy(d->memory);
	d->lost_validation_messages += gd_gpu_destroy(d->gpu);
	d->sched = NULL;
	d->reg = NULL;
	d->pcache = NULL;
	d->memory = NULL;
	struct gd_gpu_options go = gd_gpu_options_of(&d->cfg);
	if (!(d->gpu = gd_gpu_create(&go)) || !(d->memory = gd_memory_create(d->gpu)) ||
	    !(d->pcache = gd_pcache_create(d->gpu, d->cfg.no_cache ? NULL : d->cfg.cache_dir)) ||
	    !(d->reg = gd_registry_create(d->gpu, d->pcache, d->cfg.kernels_dir)) ||
	    !(d->sched = gd_scheduler_create(d))) {
		log_err("cannot recreate the device after its loss");
		leave(NULL);
	}
	gd_pcache_save(d->pcache);
	d->recreating = false;
	d->device_losses++;
	gd_server_pause(d->server, false);
	log_info("device recreated after its loss: %s; accepting clients again", d->gpu->props.deviceName);
}

static void recreate_step(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	if (d->stopping) {
		/* The stop frees everything anyway; main destroys the rest. */
		uv_timer_stop(h);
		return;
	}
	/* A client kernel still being built uses the registry, the pipeline
	 * cache and the device on a worker thread: it must end first. */
	if (d->stats.clients || d->stats.live_buffers || d->stats.live_sessions || gd_scheduler_pending(d->sched) ||
	    d->kernel_builds) {
		if (uv_now(d->loop) - lost.since_ms >= RECREATE_LIMIT_MS) {
			log_err("after device loss, %u clients, %u buffers, %u sessions, %llu submissions and %u kernel "
				"builds still not freed after %u ms",
				d->stats.clients, d->stats.live_buffers, d->stats.live_sessions,
				(unsigned long long)gd_scheduler_pending(d->sched), d->kernel_builds, RECREATE_LIMIT_MS);
			leave(h);
		}
		return;
	}
	if (!lost.handles_closed) {
		gd_scheduler_close(d->sched);
		lost.handles_closed = true;
		return;
	}
	uv_timer_stop(h);
	recreate(d);
}

void gd_device_lost(struct gd_daemon *d, const char *why, bool hung)
{
	if (d->recreating)
		return;
	char fault[256];
	gd_gpu_fault_text(d->gpu, fault, sizeof(fault));
	snprintf(lost.report, sizeof(lost.report), "GPU device lost: %s (%s); %s", why, fault,
		 hung ? "gpucmdd restarts" : "gpucmdd recreates the device; reconnect");
	log_err("%s", lost.report);
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->conns) {
		struct gd_conn *c = gd_container_of(pos, struct gd_conn, link);
		gd_conn_goodbye(c, GPUCMD_E_DEVICE_LOST, c->bye_text[0] ? c->bye_text : lost.report);
	}
	if (!lost.timer_open) {
		uv_timer_init(d->loop, &lost.timer);
		lost.timer.data = d;
		lost.timer_open = true;
	}
	if (hung) {
		d->stopping = true;
		gd_server_destroy(d->server);
		d->server = NULL;
		uv_timer_start(&lost.timer, check_sent, 10, 10);
		uv_timer_start(&d->stop_timer, leave, 500, 0);
		return;
	}
	d->recreating = true;
	lost.handles_closed = false;
	lost.since_ms = uv_now(d->loop);
	gd_server_pause(d->server, true);
	uv_timer_start(&lost.timer, recreate_step, RECREATE_TICK_MS, RECREATE_TICK_MS);
}

void gd_device_lost_finish(struct gd_daemon *d)
{
	(void)d;
	if (lost.timer_open)
		uv_close((uv_handle_t *)&lost.timer, NULL);
	lost.timer_open = false;
}
