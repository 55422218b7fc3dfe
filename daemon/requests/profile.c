/*
 * profile.c — GPU timing requests (see requests.h and
 * docs/ENCODER.md): turning a session's profiling on and off, and fetching
 * its timed command buffers and commands, by handle from the owning
 * connection or by label from another connection of the same user (the
 * `gpucmd trace` command).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "device/gpu.h"
#include "requests/requests.h"
#include "model/session.h"
#include "submit/timing.h"

typedef Gpucmd__Request Req;

void gd_request_profile(struct gd_client *c, const Req *req)
{
	struct gd_session *s = gd_request_session(c, req, req->profile->session);
	char err[160];
	if (!s)
		return;
	int r = gd_session_profile(s, req->profile->enable, err, sizeof(err));
	if (r < 0)
		gd_session_fail(s, req->id, r, "%s", err);
}

/* The first profiled session labelled `label` on a connection of c's user
 * (any user's for root). */
static struct gd_session *find_by_label(struct gd_client *c, const char *label)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &c->d->clients) {
		struct gd_client *o = gd_container_of(pos, struct gd_client, link);
		if ((c->uid != 0 && o->uid != c->uid))
			continue;
		for (uint32_t i = 0; i < o->sessions.used; i++) {
			struct gd_session *s = o->sessions.objs[i];
			if (s && s->timing && strcmp(s->name, label) == 0)
				return s;
		}
	}
	return NULL;
}

void gd_request_profile_fetch(struct gd_client *c, const Req *req)
{
	const Gpucmd__ProfileFetch *pf = req->profile_fetch;
	struct gd_session *s = pf->session ? gd_handles_get(&c->sessions, pf->session) : find_by_label(c, pf->label);
	char msg[200];
	if (!s || !s->timing) {
		if (pf->session)
			snprintf(msg, sizeof(msg), "profile fetch: %s %u on this connection",
				 s ? "profiling was never turned on for session" : "no session", pf->session);
		else
			snprintf(msg, sizeof(msg), "profile fetch: no profiled session labelled '%.64s' among your connections",
				 pf->label);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	struct gd_timing *tm = s->timing;
	/* The rings hold the newest records; older ones were overwritten. */
	uint64_t cb0 = tm->n_cbs > GD_TIMING_CB_RING ? tm->n_cbs - GD_TIMING_CB_RING : 0;
	uint64_t cmd0 = tm->n_cmds > GD_TIMING_CMD_RING ? tm->n_cmds - GD_TIMING_CMD_RING : 0;
	uint64_t dropped = (cb0 > tm->first_cb ? cb0 - tm->first_cb : 0) + (cmd0 > tm->first_cmd ? cmd0 - tm->first_cmd : 0);
	if (cb0 < tm->first_cb)
		cb0 = tm->first_cb;
	if (cmd0 < tm->first_cmd)
		cmd0 = tm->first_cmd;
	size_t n_cbs = tm->n_cbs - cb0, n_cmds = tm->n_cmds - cmd0;
	Gpucmd__TimedCommandBuffer *cbs = calloc(n_cbs ? n_cbs : 1, sizeof(*cbs));
	Gpucmd__TimedCommandBuffer **cbp = calloc(n_cbs ? n_cbs : 1, sizeof(*cbp));
	Gpucmd__TimedCommand *cmds = calloc(n_cmds ? n_cmds : 1, sizeof(*cmds));
	Gpucmd__TimedCommand **cmdp = calloc(n_cmds ? n_cmds : 1, sizeof(*cmdp));
	if (!cbs || !cbp || !cmds || !cmdp) {
		gd_reply_status(c, req->id, -ENOMEM, 0, "profile fetch: daemon out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_cbs; i++) {
		const struct gd_timed_cb *t = &tm->cbs[(cb0 + i) % GD_TIMING_CB_RING];
		cbs[i] = (Gpucmd__TimedCommandBuffer)GPUCMD__TIMED_COMMAND_BUFFER__INIT;
		cbs[i].serial = t->serial;
		cbs[i].label = (char *)t->label;
		cbs[i].commands = t->n_cmds;
		cbs[i].start_ns = t->start_ns;
		cbs[i].end_ns = t->end_ns;
		cbp[i] = &cbs[i];
	}
	for (size_t i = 0; i < n_cmds; i++) {
		const struct gd_timed_cmd *t = &tm->cmds[(cmd0 + i) % GD_TIMING_CMD_RING];
		cmds[i] = (Gpucmd__TimedCommand)GPUCMD__TIMED_COMMAND__INIT;
		cmds[i].command_buffer = t->cb;
		cmds[i].index = t->index;
		cmds[i].name = (char *)t->name;
		cmds[i].start_ns = t->start_ns;
		cmds[i].end_ns = t->end_ns;
		cmdp[i] = &cmds[i];
	}
	const struct gd_gpu *gpu = c->d->proc->gpu;
	Gpucmd__ProfileReport pr = GPUCMD__PROFILE_REPORT__INIT;
	pr.session = s->name;
	pr.timestamp_period = gpu->props.limits.timestampPeriod;
	pr.valid_bits = gpu->families[gpu->family].timestampValidBits;
	pr.gpu_ns = s->gpu_ns;
	pr.dropped = dropped;
	pr.untimed = tm->untimed;
	pr.n_command_buffers = n_cbs;
	pr.command_buffers = cbp;
	pr.n_commands = n_cmds;
	pr.commands = cmdp;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	rep.body_case = GPUCMD__REPLY__BODY_PROFILE;
	rep.profile = &pr;
	gd_client_send(c, &rep);
	if (pf->clear) {
		tm->first_cb = tm->n_cbs;
		tm->first_cmd = tm->n_cmds;
	}
out:
	free(cbs);
	free(cbp);
	free(cmds);
	free(cmdp);
}
