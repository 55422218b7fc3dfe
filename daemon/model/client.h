/*
 * client.h — one client as the model sees it: who it is, the handle tables
 * of the objects it owns, its account, kernels and counters, and the first
 * failure of a streamed request it has not been told yet. The net layer
 * embeds one in each connection and supplies the ops that move replies and
 * file descriptors (net/conn.c); everything below net reaches the client's
 * socket only through them. Clients are listed in gd_core.clients.
 */
#ifndef GD_CLIENT_H
#define GD_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "gpucmd_defs.h"
#include <sys/types.h>

#include "base/handles.h"
#include "base/kept.h"
#include "base/list.h"
#include "base/log.h"
#include "gpucmd.pb-c.h"

struct gd_account;
struct gd_client;
struct gd_core;
struct gd_kernel;
struct gd_kernel_job;
struct gd_session;

/* What the net layer does for the layers below it. */
struct gd_client_ops {
	/* Queues a reply; sent when the current batch is done or at flush. */
	void (*send)(struct gd_client *c, const Gpucmd__Reply *reply);
	/* Queues a reply that carries fd (SCM_RIGHTS), owned from now on,
	 * failure included: 0, -EBUSY (too many waiting), -ENOMEM. */
	int (*send_fd)(struct gd_client *c, const Gpucmd__Reply *reply, int fd);
	/* The oldest descriptor that came with the request being handled
	 * (the caller owns it), or -1. */
	int (*take_fd)(struct gd_client *c);
	void (*flush)(struct gd_client *c);
	/* Closes the connection; with tell, a last reply (id 0) says it. */
	void (*close)(struct gd_client *c, const char *why, const char *tell);
	/* Closes with a last reply of status code saying tell (a string that
	 * outlives the client) once the replies already owed are sent. */
	void (*goodbye)(struct gd_client *c, int code, const char *tell);
	/* high_sessions went from 0 to 1 or back to 0. */
	void (*high_changed)(struct gd_client *c);
	/* Hands the connection, from the request being handled on, to shard
	 * `to` (the handshake of a HIGH client, docs/SHARDS.md); this one
	 * closes quietly. 0, or a negative errno when it stays here. */
	int (*move)(struct gd_client *c, struct gd_core *to);
};

/* The kernels a client registered from its own SPIR-V (requests/kernels.c). */
struct gd_client_kernels {
	struct gd_kernel *list[GPUCMD_MAX_CLIENT_KERNELS]; /* in registration order */
	uint32_t n;
	uint32_t registered;        /* ever: ids are never reused by a client */
	struct gd_kernel_job *job;  /* a registration being built, at most one */
};

struct gd_client {
	struct gd_list link;         /* gd_core.clients */
	struct gd_core *d;
	const struct gd_client_ops *ops;
	uint32_t id;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char name[64];               /* from the handshake */
	char comm[16];               /* /proc/PID/comm at connect */
	uint64_t connected_ms;       /* loop time at connect */
	uint32_t high_sessions;      /* open sessions of HIGH priority (net reads it between others) */
	bool greeted;                /* handshake done */
	bool stalled;                /* a request waits for GPU work or a kernel build (net) */
	struct gd_handles buffers;   /* -> struct gd_buffer (one reference each) */
	struct gd_handles sessions;  /* -> struct gd_session (one reference each) */
	struct gd_handles graphs;    /* -> struct gd_graph (one reference each) */
	struct gd_list tokens;       /* the tokens it issued (token.h); under gd_process.lock */
	struct gd_account *acct;     /* buffer memory this client holds */
	uint64_t gpu_ns;             /* GPU time of its command buffers (profiled ones, or all with gpu_accounting) */
	uint64_t util_ns, util_ms;   /* gpu_ns and loop time when gpu_util was last worked out */
	uint32_t gpu_util;           /* share of the GPU's time over the last second or so, in 1/1000 */
	uint64_t command_buffers;    /* of all its sessions, closed ones included (status) */
	uint64_t dispatches;         /* the same */
	struct gd_session *xfer;     /* staged copies (requests/transfer.h), NULL until used */
	uint64_t xfer_staged;        /* bytes of write chunks not yet submitted */
	struct gd_client_kernels kernels;
	/* Why the client is being sent away, when something more precise than
	 * the general reason is known (a timeout, its session on a lost device). */
	char bye_text[200];
	/* First failure of a streamed request that names no live session; the
	 * next round trip reports it instead of running. */
	struct gd_kept err;
};

/* Fills the model's part of a new client of uid (its process name from
 * /proc, an account, empty handle tables); listed in d->clients. -ENOMEM without an account; release.h's
 * gd_client_finish undoes it either way. */
int gd_client_init(struct gd_client *c, struct gd_core *d, const struct gd_client_ops *ops, pid_t pid, uid_t uid,
		   gid_t gid);

/* Records the first failure of a streamed request on the client. */
void gd_client_fail(struct gd_client *c, uint64_t req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The sum of count() over every client of uid on every shard (per-uid
 * limits checked when an object is created, never per dispatch; with two
 * shards it parks the other, park.h). */
uint32_t gd_client_uid_sum(struct gd_core *d, uid_t uid, uint32_t (*count)(const struct gd_client *c));

/* The net layer's ops, for the layers below it. */
static inline void gd_client_send(struct gd_client *c, const Gpucmd__Reply *reply)
{
	c->ops->send(c, reply);
}

static inline int gd_client_send_fd(struct gd_client *c, const Gpucmd__Reply *reply, int fd)
{
	return c->ops->send_fd(c, reply, fd);
}

static inline int gd_client_take_fd(struct gd_client *c)
{
	return c->ops->take_fd(c);
}

static inline void gd_client_flush(struct gd_client *c)
{
	c->ops->flush(c);
}

static inline void gd_client_close(struct gd_client *c, const char *why, const char *tell)
{
	c->ops->close(c, why, tell);
}

static inline void gd_client_goodbye(struct gd_client *c, int code, const char *tell)
{
	c->ops->goodbye(c, code, tell);
}

/* The structured log fields naming client c (see log.h). */
#define GD_CLIENT_LOG_FIELDS(c)                                                                          \
	((struct gd_log_fields){.client = (c)->id, .pid = (c)->pid, .uid = (c)->uid, .has_uid = true})

#endif
