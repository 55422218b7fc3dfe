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

#include "base/log.h"
#include "device/gpu.h"
#include "device/memory.h"
#include "device/pcache.h"
#include "device/registry.h"
#include "gpucmd_defs.h"
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

/* After a hang: exits as soon as every goodbye is out. */
static void check_sent(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	if (gd_list_empty(&d->core.clients))
		leave(h);
}

/* The objects built on the device, destroyed and made again. Fails (and
 * the daemon leaves) when the new device cannot be made. The pipeline
 * cache is not saved from the lost device: the new one is seeded from the
 * file, and the standard kernels are built again through it. */
static void recreate(struct gd_daemon *d)
{
	d->core.stats.submissions += gd_scheduler_submissions(d->core.sched);
	d->core.stats.retire_cpu_ns += gd_scheduler_retire_cpu_ns(d->core.sched);
	gd_scheduler_destroy(d->core.sched);
	gd_registry_destroy(d->proc.reg);
	gd_pcache_destroy(d->proc.pcache);
	gd_memory_destroy(d->proc.memory);
	d->proc.lost_validation_messages += gd_gpu_destroy(d->proc.gpu);
	d->core.sched = NULL;
	d->proc.reg = NULL;
	d->proc.pcache = NULL;
	d->proc.memory = NULL;
	struct gd_gpu_options go = gd_gpu_options_of(&d->proc.cfg);
	if (!(d->proc.gpu = gd_gpu_create(&go)) ||
	    !(d->proc.memory = gd_memory_create(d->proc.gpu, d->proc.cfg.memory_keep_mib)) ||
	    !(d->proc.pcache = gd_pcache_create(d->proc.gpu, d->proc.cfg.no_cache ? NULL : d->proc.cfg.cache_dir)) ||
	    !(d->proc.reg = gd_registry_create(d->proc.gpu, d->proc.pcache, d->proc.cfg.kernels_dir)) ||
	    !(d->core.sched = gd_daemon_scheduler_create(d))) {
		log_err("cannot recreate the device after its loss");
		leave(NULL);
	}
	gd_pcache_save(d->proc.pcache);
	d->proc.recreating = false;
	d->proc.device_losses++;
	gd_server_pause(d->net.server, false);
	log_info("device recreated after its loss: %s; accepting clients again", d->proc.gpu->props.deviceName);
}

static void recreate_step(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	if (d->core.stopping) {
		/* The stop frees everything anyway; main destroys the rest. */
		uv_timer_stop(h);
		return;
	}
	/* A client kernel still being built uses the registry, the pipeline
	 * cache and the device on a worker thread: it must end first. */
	if (d->core.stats.clients || d->core.stats.live_buffers || d->core.stats.live_sessions || gd_scheduler_pending(d->core.sched) ||
	    d->core.kernel_builds) {
		if (uv_now(d->core.loop) - lost.since_ms >= RECREATE_LIMIT_MS) {
			log_err("after device loss, %u clients, %u buffers, %u sessions, %llu submissions and %u kernel "
				"builds still not freed after %u ms",
				d->core.stats.clients, d->core.stats.live_buffers, d->core.stats.live_sessions,
				(unsigned long long)gd_scheduler_pending(d->core.sched), d->core.kernel_builds, RECREATE_LIMIT_MS);
			leave(h);
		}
		return;
	}
	if (!lost.handles_closed) {
		gd_scheduler_close(d->core.sched);
		lost.handles_closed = true;
		return;
	}
	uv_timer_stop(h);
	recreate(d);
}

static void lost_device(void *data, const char *why, bool hung)
{
	struct gd_daemon *d = data;
	if (d->proc.recreating)
		return;
	char fault[256];
	gd_gpu_fault_text(d->proc.gpu, fault, sizeof(fault));
	snprintf(lost.report, sizeof(lost.report), "GPU device lost: %s (%s); %s", why, fault,
		 hung ? "gpucmdd restarts" : "gpucmdd recreates the device; reconnect");
	log_err("%s", lost.report);
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->core.clients) {
		struct gd_client *c = gd_container_of(pos, struct gd_client, link);
		gd_conn_goodbye(gd_conn_of(c), GPUCMD_E_DEVICE_LOST, c->bye_text[0] ? c->bye_text : lost.report);
	}
	if (!lost.timer_open) {
		uv_timer_init(d->core.loop, &lost.timer);
		lost.timer.data = d;
		lost.timer_open = true;
	}
	if (hung) {
		d->core.stopping = true;
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
	struct gd_daemon *d = data;
	d->core.on_progress(&d->core);
}

struct gd_scheduler *gd_daemon_scheduler_create(struct gd_daemon *d)
{
	struct gd_scheduler_listener l = {.progress = progress, .lost = lost_device, .data = d};
	return gd_scheduler_create(d->core.loop, d->proc.gpu, &d->proc.cfg, &l);
}

void gd_device_lost_finish(struct gd_daemon *d)
{
	(void)d;
	if (lost.timer_open)
		uv_close((uv_handle_t *)&lost.timer, NULL);
	lost.timer_open = false;
}
