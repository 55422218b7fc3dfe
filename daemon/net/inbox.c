/*
 * inbox.c — connections handed between shards (see inbox.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "model/account.h"
#include "net/inbox.h"
#include "wire.h"

int gd_inbox_init(struct gd_inbox *in, uv_loop_t *loop, uv_async_cb cb, void *data)
{
	pthread_mutex_init(&in->lock, NULL);
	gd_list_init(&in->list);
	in->async.data = data;
	int r = uv_async_init(loop, &in->async, cb);
	in->open = r == 0;
	return r;
}

int gd_inbox_put(struct gd_inbox *in, int fd, uint32_t id, struct gd_account *uid, const void *bytes, size_t n)
{
	struct gd_moved_conn *m = malloc(sizeof(*m) + n);
	if (!m)
		return -ENOMEM;
	m->fd = fd;
	m->id = id;
	m->uid = uid;
	m->n = n;
	memcpy(m->bytes, bytes, n);
	pthread_mutex_lock(&in->lock);
	bool open = in->open;
	if (open) {
		gd_list_insert_tail(&in->list, &m->link);
		uv_async_send(&in->async);
	}
	pthread_mutex_unlock(&in->lock);
	if (!open)
		free(m);
	return open ? 0 : -ESHUTDOWN;
}

void gd_inbox_take(struct gd_inbox *in, struct gd_list *out)
{
#ifdef GPUCMD_FAULT_INJECTION
	/* Test builds: connections handed over are taken late, as by a busy
	 * loop. */
	const char *late = getenv("GPUCMD_FAULT_INBOX_DELAY_MS");
	if (late)
		usleep((useconds_t)strtoul(late, NULL, 10) * 1000);
#endif
	pthread_mutex_lock(&in->lock);
	gd_list_move_all(out, &in->list);
	pthread_mutex_unlock(&in->lock);
}

void gd_inbox_close(struct gd_inbox *in)
{
	pthread_mutex_lock(&in->lock);
	bool was_open = in->open;
	in->open = false;
	pthread_mutex_unlock(&in->lock);
	if (was_open)
		uv_close((uv_handle_t *)&in->async, NULL);
}

void gd_inbox_drop(struct gd_moved_conn *m)
{
	if (m->fd >= 0)
		close(m->fd);
	gd_account_count_conn(m->uid, -1);
	gd_account_unref(m->uid);
	free(m);
}

void gd_inbox_refuse(struct gd_inbox *in, int code, const char *tell)
{
	struct gd_list left;
	gd_inbox_take(in, &left);
	while (!gd_list_empty(&left)) {
		struct gd_moved_conn *m = gd_container_of(left.next, struct gd_moved_conn, link);
		gd_list_remove(&m->link);
		Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
		rep.status = code;
		rep.error = (char *)tell;
		struct gw_buf b = {0};
		if (gw_pack(&b, &rep.base, GW_DEFAULT_MAX_FRAME) == 0)
			(void)!send(m->fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		gw_buf_finish(&b);
		gd_inbox_drop(m);
	}
}

void gd_inbox_finish(struct gd_inbox *in)
{
	while (!gd_list_empty(&in->list)) {
		struct gd_moved_conn *m = gd_container_of(in->list.next, struct gd_moved_conn, link);
		gd_list_remove(&m->link);
		gd_inbox_drop(m);
	}
	pthread_mutex_destroy(&in->lock);
}
