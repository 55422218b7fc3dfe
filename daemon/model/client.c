/*
 * client.c — a client's objects and limits (see client.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/account.h"
#include "model/client.h"
#include "model/core.h"
#include "model/park.h"

/* The peer's process name, for status and logs. */
static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = pid > 0 ? fopen(path, "re") : NULL;
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

int gd_client_init(struct gd_client *c, struct gd_core *d, const struct gd_client_ops *ops, pid_t pid, uid_t uid,
		   gid_t gid)
{
	gd_list_init(&c->link);
	gd_list_init(&c->tokens);
	c->d = d;
	c->ops = ops;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	read_comm(pid, c->comm, sizeof(c->comm));
	c->connected_ms = uv_now(d->loop);
	gd_handles_init(&c->buffers);
	gd_handles_init(&c->sessions);
	gd_handles_init(&c->graphs);
	c->acct = gd_account_create(d, uid);
	if (!c->acct)
		return -ENOMEM;
	gd_list_insert_tail(&d->clients, &c->link);
	return 0;
}

void gd_client_fail(struct gd_client *c, uint64_t req, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	gd_kept_setv(&c->err, req, code, fmt, ap);
	va_end(ap);
}

uint32_t gd_client_uid_sum(struct gd_core *d, uid_t uid, uint32_t (*count)(const struct gd_client *c))
{
	uint32_t n = 0;
	gd_park_others(d);
	for (uint32_t i = 0; i < d->proc->n_shards; i++) {
		struct gd_list *pos, *tmp;
		gd_list_for_each_safe(pos, tmp, &d->proc->shards[i]->clients) {
			const struct gd_client *o = gd_container_of(pos, struct gd_client, link);
			if (o->uid == uid)
				n += count(o);
		}
	}
	gd_unpark_others(d);
	return n;
}
