/*
 * admin.c — requests only an administrator may make: evicting a client.
 * An administrator is root or the uid gpucmdd runs as (the owner of every
 * object it holds); anyone else is refused with who may. Also who may ask
 * for high priority.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "requests/admin.h"
#include "model/client.h"
#include "requests/reply.h"
#include "base/idlist.h"
#include "model/core.h"
#include "model/park.h"
#include "gpucmd_defs.h"
#include "base/log.h"

/*
 * Evict: the target gets a last reply saying who evicted it and why, then
 * its connection closes as if it had hung up: uncommitted work is dropped,
 * committed work finishes on the GPU unread, and its buffers, sessions and
 * kernels are freed. No other client, limit or setting changes.
 */
bool gd_request_is_admin(const struct gd_client *c)
{
	return c->uid == 0 || c->uid == geteuid();
}

int gd_request_may_high(const struct gd_client *c, const char *what, char *msg, size_t len)
{
	const struct gd_config *cfg = &c->d->proc->cfg;
	if (gd_request_is_admin(c) || gd_idlist_has_user(cfg->high_users, c->uid) ||
	    gd_idlist_has_member(cfg->high_groups, c->uid, c->gid))
		return 0;
	snprintf(msg, len,
		 "%s: uid %u may not ask for high priority: only root, uid %u (gpucmdd's own user) and the users and "
		 "groups in high_users / high_groups (%s) may",
		 what, (unsigned)c->uid, (unsigned)geteuid(), gd_config_where(cfg));
	return -EPERM;
}

void gd_request_evict(struct gd_client *c, const Gpucmd__Request *req)
{
	const Gpucmd__ClientEvict *e = req->client_evict;
	uid_t self = geteuid();
	if (!gd_request_is_admin(c)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "evict: only root or uid %u (gpucmdd's own user) may evict clients; you are "
			 "uid %u", (unsigned)self, (unsigned)c->uid);
		gd_reply_status(c, req->id, -EPERM, 0, msg);
		return;
	}
	if (e->client == c->id) {
		gd_reply_status(c, req->id, -EINVAL, 0, "evict: that is this connection; disconnect instead");
		return;
	}
	/* The target may be another shard's: that one is parked meanwhile. */
	struct gd_core *d = c->d;
	struct gd_client *o = NULL;
	gd_park_others(d);
	for (uint32_t i = 0; !o && i < d->proc->n_shards; i++) {
		struct gd_list *pos, *tmp;
		gd_list_for_each_safe(pos, tmp, &d->proc->shards[i]->clients) {
			struct gd_client *x = gd_container_of(pos, struct gd_client, link);
			if (x->id == e->client && !o)
				o = x;
		}
	}
	if (o) {
		const char *why = e->reason && *e->reason ? e->reason : "no reason given";
		snprintf(o->bye_text, sizeof(o->bye_text), "evicted by an administrator (uid %u, pid %d): %.80s",
			 (unsigned)c->uid, (int)c->pid, why);
		gd_log(GD_LOG_NOTICE, &GD_CLIENT_LOG_FIELDS(o), "client %u (pid %d, uid %u) evicted by uid %u pid %d: %.80s",
		       o->id, (int)o->pid, (unsigned)o->uid, (unsigned)c->uid, (int)c->pid, why);
		gd_client_goodbye(o, -ECONNRESET, o->bye_text);
	}
	gd_unpark_others(d);
	if (o) {
		gd_reply_status(c, req->id, 0, 0, NULL);
		return;
	}
	char msg[96];
	snprintf(msg, sizeof(msg), "evict: no client %u (gpucmd status lists them)", e->client);
	gd_reply_status(c, req->id, -ENOENT, 0, msg);
}
