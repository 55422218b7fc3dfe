/*
 * devicelost.c — telling everyone the device is gone, then leaving (see
 * devicelost.h). Recreating the device in place would need every buffer,
 * pipeline and session rebuilt while work on the old device may still run;
 * a restart gives the same clean state, and the clients learn why.
 */
#include <stdio.h>
#include <unistd.h>

#include "conn.h"
#include "daemon.h"
#include "devicelost.h"
#include "gpu.h"
#include "gpucmd.h"
#include "log.h"
#include "server.h"
#include "session.h"

static uv_timer_t exit_timer;
static char report[512];

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

/* Exits as soon as every goodbye is out: nothing else is left to do. */
static void check_sent(uv_timer_t *h)
{
	struct gd_daemon *d = h->data;
	if (gd_list_empty(&d->conns))
		leave(h);
}

void gd_device_lost(struct gd_daemon *d, const char *why)
{
	if (exit_timer.data)
		return;
	char fault[256];
	gd_gpu_fault_text(d->gpu, fault, sizeof(fault));
	snprintf(report, sizeof(report), "GPU device lost: %s (%s); gpucmdd restarts", why, fault);
	log_err("%s", report);
	d->stopping = true;
	gd_server_destroy(d->server);
	d->server = NULL;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->conns) {
		struct gd_conn *c = gd_container_of(pos, struct gd_conn, link);
		gd_conn_goodbye(c, GPUCMD_E_DEVICE_LOST, c->bye_text[0] ? c->bye_text : report);
	}
	uv_timer_init(d->loop, &exit_timer);
	exit_timer.data = d;
	uv_timer_start(&exit_timer, check_sent, 10, 10);
	uv_timer_t *deadline = &d->stop_timer;
	uv_timer_start(deadline, leave, 500, 0);
}
