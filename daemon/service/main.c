/*
 * main.c — gpucmdd: the options that only print (--list-devices,
 * --check-config), start-up in dependency order (configuration, the socket
 * path's directory, device, kernels, scheduler, socket, then READY=1),
 * signals, reloads, and an orderly stop: stop accepting and reading, let
 * committed work retire (bounded by stop_timeout_sec), say goodbye to the
 * clients, then check that nothing leaked.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "net/conn.h"
#include "service/config.h"
#include "service/daemon.h"
#include "service/devlock.h"
#include "service/devicelost.h"
#include "device/gpu.h"
#include "gpucmd_defs.h"
#include "base/log.h"
#include "device/memory.h"
#include "model/fence.h"
#include "service/notify.h"
#include "service/shard.h"
#include "model/park.h"
#include "device/pcache.h"
#include "device/registry.h"
#include "submit/scheduler.h"
#include "net/server.h"
#include "net/timeouts.h"

/* The last step of a stop: no committed work is left, so every client gets
 * its goodbye and every handle closes, which ends uv_run once the last
 * replies are sent (the stop timer still bounds that). */
static void finish_stop(struct gd_daemon *d)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->core.clients)
		gd_conn_goodbye(gd_conn_of(gd_container_of(pos, struct gd_client, link)), GPUCMD_E_DISCONNECTED,
				"gpucmdd is stopping");
	gd_scheduler_close(d->core.sched);
	gd_timeouts_finish(&d->net);
	gd_fence_waits_close(&d->core);
	gd_net_close(&d->net);
	gd_park_leave(&d->core);
	uv_close((uv_handle_t *)&d->shard_note, NULL);
	gd_device_lost_finish(d);
	gd_notify_destroy(d->notify);
	d->notify = NULL;
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

/* Work retired or a kernel build ended: connections that waited for it go
 * on. While stopping, ends the stop once no committed work is left here
 * and the HIGH shard's loop has ended. */
static void on_progress(struct gd_core *core)
{
	struct gd_daemon *d = gd_daemon_of(core);
	gd_net_resume_stalled(&d->net);
	/* d->notify is NULL once the stop has finished. */
	if (d->core.stopping && d->notify && gd_scheduler_pending(d->core.sched) == 0 &&
	    (!d->high || d->high_ended))
		finish_stop(d);
}

static void on_lost(struct gd_core *core, const char *why, bool hung)
{
	gd_device_lost(gd_daemon_of(core), why, hung);
}

/* The HIGH shard's thread says its loop ended, or its device was lost. */
static void on_shard_note(uv_async_t *h)
{
	struct gd_daemon *d = h->data;
	char why[256];
	bool ended, hung;
	if (gd_shard_take_note(d->high, &ended, why, sizeof(why), &hung))
		gd_device_lost(d, why, hung);
	if (ended && !d->high_ended) {
		d->high_ended = true;
		on_progress(&d->core);
	}
}

/* The GPU, or a client that does not read what it is owed, did not finish
 * in time. The completion thread may be inside the driver, so nothing is
 * torn down: the kernel frees it all at exit. */
static void on_stop_timeout(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	log_err("stop not done after %u s (stop_timeout_sec): %llu submissions unfinished, %u clients not yet "
		"closed; exiting without them",
		d->proc.cfg.stop_timeout_sec, (unsigned long long)gd_scheduler_pending(d->core.sched), d->core.stats.clients);
	_exit(1);
}

static void stop(struct gd_daemon *d)
{
	if (d->core.stopping)
		return;
	d->core.stopping = true;
	gd_notify_stopping(d->notify);
	log_info("stopping: %u clients, %llu submissions in flight", d->core.stats.clients,
		 (unsigned long long)gd_scheduler_pending(d->core.sched));
	gd_server_destroy(d->net.server);
	d->net.server = NULL;
	d->proc.high = NULL;
	if (d->high)
		gd_shard_stop(d->high);
	/* Requests already read are still handled; nothing new is read. */
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->core.clients)
		gd_conn_flush(gd_conn_of(gd_container_of(pos, struct gd_client, link)));
	gd_scheduler_cancel_held(d->core.sched);
	uv_timer_start(&d->stop_timer, on_stop_timeout, (uint64_t)d->proc.cfg.stop_timeout_sec * 1000u, 0);
	uv_unref((uv_handle_t *)&d->stop_timer); /* it bounds the loop, never prolongs it */
	on_progress(&d->core);
}

/* Every client costs a descriptor and the loop uses epoll, never select(),
 * so the soft limit (often 1024) is raised to the hard one (systemd's
 * LimitNOFILE=); past it, server.c refuses clients with a reason. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open file limit to %llu: %s", (unsigned long long)rl.rlim_max,
				 strerror(errno));
	}
}

static void reload(struct gd_daemon *d)
{
	gd_notify_reloading(d->notify);
	/* Every shard reads the configuration: the others wait meanwhile. */
	gd_park_others(&d->core);
	if (gd_config_reload(&d->proc.cfg, d->argc, d->argv) == 0) {
		gd_log_max_level = d->proc.cfg.log_level;
		for (uint32_t i = 0; i < d->proc.n_shards; i++)
			if (d->proc.shards[i]->sched)
				gd_scheduler_configure(d->proc.shards[i]->sched, &d->proc.cfg);
	}
	gd_unpark_others(&d->core);
	gd_notify_ready(d->notify);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct gd_daemon *d = h->data;
	log_info("received %s", strsignal(signum));
	if (signum != SIGHUP)
		stop(d);
	else if (d->core.stopping)
		log_info("not reloading: stopping"); /* READY=1 after STOPPING=1 would mislead systemd */
	else
		reload(d);
}

/* The options that print and exit, before any device or socket: -1 when
 * none was given, else the exit status. */
static int print_only(struct gd_config *cfg)
{
	if (cfg->list_devices)
		return gd_gpu_list_devices(stdout) < 0 ? 1 : 0;
	if (!cfg->check_config)
		return -1;
	gd_config_print(cfg, stdout);
	if (cfg->unknown_keys)
		log_err("%s: %u unknown key%s (warned about above)", cfg->config_path, cfg->unknown_keys,
			cfg->unknown_keys == 1 ? "" : "s");
	return cfg->unknown_keys ? 2 : 0;
}

/* Start-up in dependency order: device, memory, pipeline cache, kernels,
 * scheduler, socket, sd_notify, signals. 0, or the exit status. */
static int start(struct gd_daemon *d)
{
	struct gd_process *proc = &d->proc;
	struct gd_core *core = &d->core;
	const struct gd_config *cfg = &proc->cfg;
	core->proc = proc;
	d->device_lock = -1;
	gd_list_init(&core->clients);
	gd_list_init(&proc->uids);
	pthread_mutex_init(&proc->lock, NULL);
	pthread_mutex_init(&proc->park.m, NULL);
	pthread_cond_init(&proc->park.cv, NULL);
	pthread_mutex_init(&d->queue_lock, NULL);
	core->loop = uv_default_loop();
	core->thread = pthread_self();
	proc->shards[proc->n_shards++] = core;
	gd_fence_waits_init(core);
	core->on_progress = on_progress;
	core->on_lost = on_lost;
	core->started_ms = uv_now(core->loop);
	if (gd_net_init(&d->net, core) < 0) {
		log_err("cannot create an epoll set: %s", strerror(errno));
		return 1;
	}
	if (gd_server_check_path(cfg->socket_path) < 0)
		return 2;
	struct gd_gpu_options go = gd_gpu_options_of(cfg);
	if (!(proc->gpu = gd_gpu_create(&go)))
		return 1;
	if (gd_device_claim(proc->gpu->uuid, proc->gpu->props.deviceName, cfg->share_device, &d->device_lock) < 0)
		return 2;
	if (!(proc->memory = gd_memory_create(proc->gpu, cfg->memory_keep_mib)) ||
	    !(proc->pcache = gd_pcache_create(proc->gpu, cfg->no_cache ? NULL : cfg->cache_dir)) ||
	    !(proc->reg = gd_registry_create(proc->gpu, proc->pcache, cfg->kernels_dir)))
		return 1;
	gd_pcache_save(proc->pcache);
	if (!(core->sched = gd_daemon_scheduler_create(d, core)) || !(d->net.server = gd_server_create(&d->net)) ||
	    !(d->notify = gd_notify_create(d)))
		return 1;
	d->shard_note.data = d;
	if (gd_park_init_shard(core) < 0 || uv_async_init(core->loop, &d->shard_note, on_shard_note) < 0)
		return 1;
	uv_timer_init(core->loop, &d->stop_timer);
	uv_signal_init(core->loop, &d->sigint);
	uv_signal_init(core->loop, &d->sigterm);
	uv_signal_init(core->loop, &d->sighup);
	d->stop_timer.data = d->sigint.data = d->sigterm.data = d->sighup.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_signal_start(&d->sighup, on_signal, SIGHUP);
	gd_timeouts_init(&d->net);
	if (cfg->high_shard && !(d->high = gd_shard_create(d)))
		return 1;
	return 0;
}

/* Everything start() made, destroyed in reverse order; after a clean run
 * (status 0) also the checks that nothing leaked. Returns the exit status. */
static int finish(struct gd_daemon *d, int status)
{
	struct gd_process *proc = &d->proc;
	struct gd_core *core = &d->core;
	gd_fence_waits_close(core); /* done at the stop, unless start-up failed */
	if (d->net.server) {
		/* Start-up failed after the socket was made: remove it. */
		gd_server_destroy(d->net.server);
		uv_run(core->loop, UV_RUN_NOWAIT);
	}
	uint32_t high_leaks = gd_shard_destroy(d->high);
	d->high = NULL;
	gd_scheduler_destroy(core->sched);
	gd_net_finish(&d->net);
	if (status == 0 && (core->stats.live_buffers || core->stats.live_sessions || core->stats.live_graphs || high_leaks)) {
		log_err("leak at exit: %u buffers, %u sessions, %u graphs still alive, %u objects on the HIGH shard",
			core->stats.live_buffers, core->stats.live_sessions, core->stats.live_graphs, high_leaks);
		status = 4;
	}
	/* Client kernels built during the run are in the cache too. */
	if (status == 0)
		gd_pcache_save(proc->pcache);
	gd_registry_destroy(proc->reg);
	gd_pcache_destroy(proc->pcache);
	gd_memory_destroy(proc->memory);
	uint64_t msgs = gd_gpu_destroy(proc->gpu) + proc->lost_validation_messages;
	if (uv_loop_close(core->loop) != 0 && status == 0)
		log_warn("loop closed with handles still open");
	gd_fence_waits_finish(core);
	if (msgs) {
		log_err("%llu Vulkan validation messages during this run", (unsigned long long)msgs);
		if (status == 0)
			status = 3;
	}
	if (d->device_lock >= 0)
		close(d->device_lock);
	gd_config_finish(&proc->cfg);
	return status;
}

int main(int argc, char **argv)
{
	static struct gd_daemon daemon;
	struct gd_daemon *d = &daemon;
	struct gd_config *cfg = &d->proc.cfg;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	gd_log_init();
	int r = gd_config_read(cfg, argc, argv);
	if (r != 0) {
		gd_config_finish(cfg);
		return r > 0 ? 0 : 2;
	}
	gd_log_max_level = cfg->log_level;
	if ((r = print_only(cfg)) >= 0) {
		gd_config_finish(cfg);
		return r;
	}
	d->argc = argc;
	d->argv = argv;
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	int status = start(d);
	if (status == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_info("gpucmdd %s ready on %s, device %s, configuration %s, %.1f ms after start", GD_VERSION,
			 gd_server_address(d->net.server), d->proc.gpu->props.deviceName,
			 cfg->config_path ? cfg->config_path : "(defaults)",
			 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		gd_notify_ready(d->notify);
		uv_run(d->core.loop, UV_RUN_DEFAULT);
		uv_close((uv_handle_t *)&d->stop_timer, NULL);
		uv_run(d->core.loop, UV_RUN_NOWAIT);
	}
	return finish(d, status);
}
