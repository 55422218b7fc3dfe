/*
 * account.h — who holds how much device memory. Every connection has an
 * account, and every account has a parent: the account of the connection's
 * user (uid), shared by all of that user's connections. A buffer charges
 * the account of the connection that created it and keeps that account
 * alive until the buffer is destroyed, so memory outliving its creator (a
 * buffer imported elsewhere, or still in flight) stays on the right bill.
 *
 * Limits come from the configuration each time they are checked, so a
 * reloaded limit applies to the next allocation, session or submission.
 * 0 means no limit. Memory over a limit is -EDQUOT, a count over a limit
 * -EMFILE; both messages name the limit.
 */
#ifndef GD_ACCOUNT_H
#define GD_ACCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/list.h"

struct gd_core;

struct gd_account {
	struct gd_list link;        /* gd_process.uids (under its lock), for uid accounts */
	struct gd_process *proc;
	struct gd_core *d;          /* a connection's shard; NULL for a uid account, which every shard shares */
	struct gd_account *parent;  /* the uid account; NULL for a uid account */
	_Atomic uint32_t refs;
	uid_t uid;
	/* A uid account is shared by its connections on every shard, so the
	 * counts are atomic; a check against a limit and the charge after it
	 * are made under gd_process.lock. */
	_Atomic uint64_t bytes;     /* charged now */
	_Atomic uint64_t buffers;
	_Atomic uint64_t peak;
	_Atomic uint64_t resident;  /* buffers of those in the residency set */
	_Atomic uint64_t resident_bytes;
	_Atomic uint32_t in_flight; /* command buffers on the GPU, not yet retired */
	uint32_t held;              /* committed ones held for a fence (a connection's alone; session.c) */
	uint32_t profiled;          /* sessions with timing records (a connection's alone; session.c) */
	uint64_t graph_commands;    /* nodes of graphs not yet freed, captures included (a connection's alone; graph.c) */
	_Atomic uint32_t fence_waiters; /* host and fd fence waits parked (fence.h) */
	_Atomic uint32_t conns;     /* connections open now, on every shard (max_clients_per_uid) */
	_Atomic uint32_t handshakes; /* connections that have not said hello yet */
	_Atomic uint32_t kernel_builds; /* client kernels building on worker threads (kernels.c) */
	_Atomic uint64_t input_bytes; /* room of max_input_bytes held (gd_account_input_reserve) */
};

/* A connection's account, with one reference owned by the caller; finds or
 * creates the uid's account. NULL when out of memory. */
struct gd_account *gd_account_create(struct gd_core *d, uid_t uid);
struct gd_account *gd_account_ref(struct gd_account *a);
/* The connections of uid on every shard, and those of them that have not
 * said hello yet. */
void gd_account_uid_counts(struct gd_core *d, uid_t uid, uint32_t *conns, uint32_t *handshakes);
/* Drops a reference; the last one frees the account. Accepts NULL. */
void gd_account_unref(struct gd_account *a);
/* A connection of the uid account's comes (+1: counted as not greeted
 * yet) or, never having arrived, goes (-1): max_clients,
 * max_clients_per_uid, max_handshakes_per_uid. */
void gd_account_count_conn(struct gd_account *uid, int delta);

/* Room for a request frame of `need` bytes being received on a
 * connection of account a, in max_input_bytes (all connections of every
 * shard) and max_input_bytes_per_uid: true and reserved, or false when
 * either is full. One frame finds room wherever nothing is reserved, so
 * that a frame larger than a limit still goes through. */
bool gd_account_input_reserve(struct gd_account *a, uint64_t need);
void gd_account_input_release(struct gd_account *a, uint64_t n);

/* Charges one buffer of `bytes` to a connection's account and its user's.
 * 0, or -EDQUOT with a message naming the limit that refused it. */
int gd_account_charge(struct gd_account *a, uint64_t bytes, char *err, size_t errlen);
void gd_account_uncharge(struct gd_account *a, uint64_t bytes);
/* Counts a command buffer submitted (+1) or retired (-1) on the account
 * and its parent. */
void gd_account_in_flight(struct gd_account *a, int delta);
/* Fairness among equals where round trips share the bulk queue (a queue
 * family with fewer than three queues; else they have a queue of their
 * own, submit/job.h): the clients that last waited for their own work
 * (a normal or low commit_and_wait with nothing else of theirs in flight:
 * a client doing round trips) are kept in the core (struct gd_fair). While
 * one of them waited within fair_window_ms, every other client may have
 * fair_depth command buffers in flight and is not read further, so a flood
 * puts at most that much work ahead of a round trip in the GPU's queue
 * (BENCHMARKS.md, "Fairness among equals").
 *
 * gd_account_waits: a commit_and_wait of the account's, with nothing else
 * of it in flight (the caller checks), waits now. */
void gd_account_waits(struct gd_account *a);
/* Backpressure: whether the account's command buffers in flight reached
 * max_inflight_per_client, its uid's reached max_inflight_per_uid, or it
 * has fair_depth in flight while another client waits. */
bool gd_account_saturated(const struct gd_account *a);
/* Counts a parked fence waiter in (+1) or out (-1) on the account and its
 * parent. */
void gd_account_fence_waiters(struct gd_account *a, int delta);
/* 0 when connection account a may park one more fence waiter, else -EMFILE
 * with a message naming max_fence_waiters_per_client or _per_uid. */
int gd_account_may_wait(const struct gd_account *a, char *err, size_t errlen);
/* Counts a charged buffer in (+1) or out (-1) of the residency set. */
void gd_account_resident(struct gd_account *a, uint64_t bytes, int delta);

#endif
