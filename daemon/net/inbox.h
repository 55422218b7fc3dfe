/*
 * inbox.h — connections handed to a shard by another (the handshake of a
 * client that asked for HIGH priority, conn.c): any thread puts, the
 * receiving shard's loop takes them on its async handle.
 */
#ifndef GD_INBOX_H
#define GD_INBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/list.h"

struct gd_account;

struct gd_moved_conn {
	struct gd_list link;
	int fd;
	uint32_t id;               /* the connection's number, kept */
	struct gd_account *uid;    /* its uid's account, referenced: the connection's counts go with it (conn.c) */
	size_t n;
	uint8_t bytes[];           /* received by the other shard and not yet handled */
};

struct gd_inbox {
	pthread_mutex_t lock;
	struct gd_list list;       /* struct gd_moved_conn.link */
	bool open;
	uv_async_t async;
};

/* Sets it up on loop, where cb runs (with async.data = data) after puts.
 * 0 or a libuv error. */
int gd_inbox_init(struct gd_inbox *in, uv_loop_t *loop, uv_async_cb cb, void *data);
/* Hands over fd and a reference to uid (owned from now on) with a copy of
 * the n bytes that came on fd: 0, -ESHUTDOWN once the inbox is closed or
 * -ENOMEM (then both are still the caller's). */
int gd_inbox_put(struct gd_inbox *in, int fd, uint32_t id, struct gd_account *uid, const void *bytes, size_t n);
/* Moves what waits to out; each taken gd_moved_conn is the taker's to free. */
void gd_inbox_take(struct gd_inbox *in, struct gd_list *out);
/* No more puts; closes the handle (the loop is stopping). */
void gd_inbox_close(struct gd_inbox *in);
/* Every connection waiting: each is told `tell` (status `code`, best
 * effort) and dropped. For a device loss, with the receiving loop parked:
 * a connection not yet taken up is on no client list to be told. */
void gd_inbox_refuse(struct gd_inbox *in, int code, const char *tell);
/* A connection taken that will not be served: closes its descriptor
 * (unless -1) and gives back its counts and reference, then frees m. */
void gd_inbox_drop(struct gd_moved_conn *m);
/* Drops what is left and frees the inbox (the loop has ended). */
void gd_inbox_finish(struct gd_inbox *in);

#endif
