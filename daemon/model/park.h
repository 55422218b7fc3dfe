/*
 * park.h — stopping the other shards' loops so that one thread may read
 * and change what they own (docs/SHARDS.md). Used only off the request
 * path of ordinary work: status, info and evict (which read or close other
 * shards' clients), a reload (the configuration every shard reads), a
 * device loss and a stop. A parked shard waits inside a callback of its
 * loop, holding no lock; its completion thread runs on.
 *
 * Two shards parking at once cannot deadlock: a thread that finds another
 * parker parks itself first, then parks the others.
 */
#ifndef GD_PARK_H
#define GD_PARK_H

#include <stdbool.h>
#include <stdint.h>

struct gd_core;
struct gd_process;

/* Sets up self's async handle on its loop (proc->park is set up with the
 * process): 0 or a libuv error. */
int gd_park_init_shard(struct gd_core *self);
/* Takes self out of proc->shards, once no park is under way, and closes
 * its handle: its loop is ending. */
void gd_park_leave(struct gd_core *self);

/* Returns once every other shard is parked; self must hold no lock. With
 * one shard, returns at once. */
void gd_park_others(struct gd_core *self);

/* Whether a request that parks the other shards (status, info, a per-uid
 * limit counted over shards) may run now: requests of clients that are no
 * administrators park them at most once every GD_PARK_INTERVAL_MS over the
 * whole process, and no sooner than GD_PARK_SHARE times as long as the last
 * park held them, so that no client can keep the HIGH shard stopped for
 * more than about 1 % of the time, however long a status of every client
 * takes to build. 0, or -EAGAIN: the request waits, and self's on_progress
 * runs once its turn may have come. */
#define GD_PARK_INTERVAL_MS 10
#define GD_PARK_SHARE 100
int gd_park_admit(struct gd_core *self, bool admin);
/* Parks since start, and the time they held the other shards stopped. */
uint64_t gd_park_count(struct gd_core *self, uint64_t *held_ns);
/* Lets them go on; returns once each has left its parking callback. */
void gd_unpark_others(struct gd_core *self);

#endif
