/*
 * admin.c — requests only an administrator may make: evicting a client.
 * An administrator is root or the uid gpucmdd runs as (the owner of every
 * object it holds); anyone else is refused with who may.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "requests/admin.h"
#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "gpucmd_defs.h"
#include "base/log.h"

/*
 * Evict: the target gets a last reply saying who evicted it and why, then
 * its connection closes as if it had hung up: uncommitted work is dropped,
 * committed work finishes on the GPU unread, and its buffers, sessions and
 * kernels are freed. No other client, limit or setting changes.
 */
void gd_request_evict(struct gd_client *c, const Gpucmd__Request *req)
{
	const Gpucmd__ClientEvict *e = req->client_evict;
	uid_t self = geteuid();
	if (c->uid != 0 && c->uid != self) {
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
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &c->d->clients) {
		struct gd_client *o = gd_container_of(pos, struct gd_client, link);
		if (o->id != e->client)
			continue;
		const char *why = e->reason && *e->reason ? e->reason : "no reason given";
		snprintf(o->bye_text, sizeof(o->bye_text), "evicted by an administrator (uid %u, pid %d): %.80s",
			 (unsigned)c->uid, (int)c->pid, why);
		gd_log(GD_LOG_NOTICE, &GD_CLIENT_LOG_FIELDS(o), "client %u (pid %d, uid %u) evicted by uid %u pid %d: %.80s",
		       o->id, (int)o->pid, (unsigned)o->uid, (unsigned)c->uid, (int)c->pid, why);
		gd_client_goodbye(o, -ECONNRESET, o->bye_text);
		gd_reply_status(c, req->id, 0, 0, NULL);
		return;
	}
	char msg[96];
	snprintf(msg, sizeof(msg), "evict: no client %u (gpucmd status lists them)", e->client);
	gd_reply_status(c, req->id, -ENOENT, 0, msg);
}
