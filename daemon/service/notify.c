/*
 * notify.c — sd_notify messages, the watchdog timer and the STATUS= line
 * (see notify.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "service/daemon.h"
#include "device/gpu.h"
#include "base/log.h"
#include "service/notify.h"
#include "submit/scheduler.h"

/* STATUS= at most this often: a burst of connects costs one message. */
#define STATUS_INTERVAL_MS 500

struct gd_notify {
	struct gd_daemon *d;
	bool active;               /* $NOTIFY_SOCKET is set */
	uv_check_t check;          /* notices changed counts once per loop turn */
	uv_timer_t status_timer;   /* sends a change held back by the rate limit */
	uv_timer_t watchdog;
	uint64_t watchdog_usec;    /* 0: no watchdog */
	uint64_t last_status_ms;
	uint32_t clients, sessions;  /* as last reported */
	bool reported;
	int handles;               /* open handles, for the close callback */
};

static void format_status(struct gd_notify *n, char *buf, size_t len)
{
	struct gd_daemon *d = n->d;
	if (d->core.stopping)
		snprintf(buf, len, "stopping: %llu submissions in flight, %u clients",
			 (unsigned long long)gd_scheduler_pending(d->core.sched), d->core.stats.clients);
	else
		snprintf(buf, len, "device %s; %u client%s, %u session%s", d->proc.gpu->props.deviceName,
			 d->core.stats.clients, d->core.stats.clients == 1 ? "" : "s", d->core.stats.live_sessions,
			 d->core.stats.live_sessions == 1 ? "" : "s");
}

static void send_status(struct gd_notify *n, const char *prefix)
{
	char status[512];
	format_status(n, status, sizeof(status));
	n->clients = n->d->core.stats.clients;
	n->sessions = n->d->core.stats.live_sessions;
	n->reported = true;
	n->last_status_ms = uv_now(n->d->core.loop);
	sd_notifyf(0, "%sSTATUS=%s", prefix, status);
}

static void on_status_timer(uv_timer_t *h)
{
	send_status(h->data, "");
}

/* Once per loop turn: two integer compares unless the counts moved. */
static void on_counts_moved(uv_check_t *h)
{
	struct gd_notify *n = h->data;
	struct gd_daemon *d = n->d;
	if (!n->reported || (n->clients == d->core.stats.clients && n->sessions == d->core.stats.live_sessions) ||
	    uv_is_active((uv_handle_t *)&n->status_timer))
		return;
	uint64_t since = uv_now(d->core.loop) - n->last_status_ms;
	if (since >= STATUS_INTERVAL_MS)
		send_status(n, "");
	else
		uv_timer_start(&n->status_timer, on_status_timer, STATUS_INTERVAL_MS - since, 0);
}

/*
 * The timer firing proves that the loop turns; the completion thread proves
 * itself by its heartbeat. A thread stuck in the driver stops the pings, so
 * systemd restarts a daemon that could no longer retire work.
 */
static void on_watchdog(uv_timer_t *h)
{
	struct gd_notify *n = h->data;
	uint64_t age_us = gd_scheduler_heartbeat_age_ns(n->d->core.sched) / 1000u;
	if (age_us < n->watchdog_usec / 2) {
		sd_notify(0, "WATCHDOG=1");
		return;
	}
	log_err("completion thread silent for %llu ms; not pinging the watchdog",
		(unsigned long long)(age_us / 1000u));
}

struct gd_notify *gd_notify_create(struct gd_daemon *d)
{
	struct gd_notify *n = calloc(1, sizeof(*n));
	if (!n) {
		log_err("out of memory");
		return NULL;
	}
	n->d = d;
	const char *sock = getenv("NOTIFY_SOCKET");
	n->active = sock && *sock;
	if (!n->active)
		return n;
	uv_check_init(d->core.loop, &n->check);
	uv_timer_init(d->core.loop, &n->status_timer);
	uv_timer_init(d->core.loop, &n->watchdog);
	n->check.data = n->status_timer.data = n->watchdog.data = n;
	n->handles = 3;
	uv_check_start(&n->check, on_counts_moved);
	uv_unref((uv_handle_t *)&n->check);
	if (sd_watchdog_enabled(0, &n->watchdog_usec) > 0) {
		/* Three pings per interval: one late turn is not a restart. */
		uint64_t ms = n->watchdog_usec / 3000u;
		uv_timer_start(&n->watchdog, on_watchdog, ms ? ms : 1, ms ? ms : 1);
		log_info("watchdog: pinging every %llu ms", (unsigned long long)(ms ? ms : 1));
	}
	return n;
}

static void on_closed(uv_handle_t *h)
{
	struct gd_notify *n = h->data;
	if (--n->handles == 0)
		free(n);
}

void gd_notify_destroy(struct gd_notify *n)
{
	if (!n)
		return;
	if (!n->active) {
		free(n);
		return;
	}
	uv_close((uv_handle_t *)&n->check, on_closed);
	uv_close((uv_handle_t *)&n->status_timer, on_closed);
	uv_close((uv_handle_t *)&n->watchdog, on_closed);
}

void gd_notify_ready(struct gd_notify *n)
{
	if (n->active)
		send_status(n, "READY=1\n");
}

void gd_notify_reloading(struct gd_notify *n)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (n->active)
		sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
			   (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000u);
}

void gd_notify_stopping(struct gd_notify *n)
{
	if (n->active)
		send_status(n, "STOPPING=1\n");
}
