/*
 * shard.h — the HIGH shard: a second loop thread in gpucmdd serving the
 * connections that said at their handshake they run high-priority work,
 * with its own clients, scheduler, retire timelines and completion thread,
 * sharing with the main loop only the process-wide parts (model/core.h:
 * the device, memory, kernels, accounts, tokens). So a HIGH round trip
 * costs the loop that serves bulk work nothing (docs/SHARDS.md).
 *
 * The main loop owns its life: it starts it after its own start-up, asks
 * it to stop at the stop, hears from it (through shard_note) when its loop
 * ended or its scheduler found the device lost, and frees it at the end.
 */
#ifndef GD_SHARD_H
#define GD_SHARD_H

#include <pthread.h>
#include <stdbool.h>

#include <uv.h>

#include "model/core.h"
#include "net/conn.h"

struct gd_daemon;

struct gd_shard {
	struct gd_core core;
	struct gd_net net;
	uv_loop_t loop;
	uv_async_t stop_async;      /* the main loop asks it to stop */
	struct gd_daemon *daemon;
	bool loop_open, net_open, async_open, thread_started;
	uv_check_t after_poll;      /* starts `spin` when requests came (high_spin_us) */
	uv_idle_t spin;             /* while active, the loop polls instead of sleeping */
	uint64_t spin_ns, spin_seen, spin_last_ns;
	/* Told to the main loop through gd_daemon.shard_note: */
	pthread_mutex_t note_lock;
	bool ended;                 /* its loop has ended */
	bool lost, lost_hung;       /* its scheduler found the device lost */
	char lost_why[256];
};

/* Starts the HIGH shard of d (main loop, after start-up): a new shard
 * that d->high owns, or NULL (logged). */
struct gd_shard *gd_shard_create(struct gd_daemon *d);
/* Asks it to stop: its requests already read are handled, its committed
 * work retires, its clients get their goodbye, then its loop ends. */
void gd_shard_stop(struct gd_shard *sh);
/* Joins its thread (its loop has ended) and frees it. Returns its leaks
 * as a count of live objects. Accepts NULL. */
uint32_t gd_shard_destroy(struct gd_shard *sh);
/* The main loop reads what a shard told it: whether its loop ended, and
 * a device loss (why, whether hung) it has not been told before. */
bool gd_shard_take_note(struct gd_shard *sh, bool *ended, char *why, size_t len, bool *hung);

#endif
