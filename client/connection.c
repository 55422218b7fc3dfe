/*
 * connection.c — a libgpucmd connection's life: finding the socket,
 * connecting with advice a person can act on when it fails, the version
 * handshake, disconnecting, and the last error each call leaves behind.
 * How requests travel once connected is transport.c's.
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_internal.h"

/* Why the last gpucmd_connect of this thread failed (no client to hold it). */
static _Thread_local char connect_error[512];

int gc_fail(gpucmd_client *c, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c ? c->err : connect_error, c ? sizeof(c->err) : sizeof(connect_error), fmt, ap);
	va_end(ap);
	return code;
}

const char *gpucmd_last_error(const gpucmd_client *c)
{
	return c ? c->err : connect_error;
}

const char *gpucmd_strerror(int code)
{
	switch (code) {
	case GPUCMD_E_PROTOCOL: return "protocol error";
	case GPUCMD_E_VERSION: return "protocol version mismatch";
	case GPUCMD_E_DEVICE_LOST: return "GPU device lost";
	case GPUCMD_E_VULKAN: return "Vulkan error in the daemon";
	case GPUCMD_E_DISCONNECTED: return "disconnected from gpucmdd";
	case GPUCMD_E_FENCE_ABANDONED: return "fence abandoned";
	default: return code < 0 ? strerror(-code) : "success";
	}
}

const char *gpucmd_socket_path(const gpucmd_client *c)
{
	return c->path;
}

const char *gpucmd_version(void)
{
	return GPUCMD_VERSION;
}

int gpucmd_default_socket(char *buf, size_t len)
{
	const char *env = getenv("GPUCMD_SOCKET");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (env && *env) {
		n = snprintf(buf, len, "%s", env);
	} else {
		/* A user's own daemon first, then the system service. */
		struct stat st;
		n = -1;
		if (xdg && *xdg) {
			n = snprintf(buf, len, "%s/gpucmd.sock", xdg);
			if (n >= 0 && (size_t)n < len && stat(buf, &st) != 0)
				n = -1;
		}
		if (n < 0)
			n = snprintf(buf, len, "/run/gpucmd/gpucmd.sock");
	}
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Hello: the daemon's limits and advice, kept for gpucmd_info. */
static int handshake(gpucmd_client *c, enum gpucmd_priority priority)
{
	Gpucmd__Hello h = GPUCMD__HELLO__INIT;
	h.protocol_version = GPUCMD_PROTOCOL_VERSION;
	h.client_name = program_invocation_short_name;
	h.priority = (Gpucmd__Priority)priority;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &h.base, GC_ANY_BODY, &rep);
	if (r < 0)
		return r;
	if (rep->body_case != GPUCMD__REPLY__BODY_HELLO || rep->hello->max_frame < GW_MIN_MAX_FRAME) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, GPUCMD_E_PROTOCOL, "gpucmdd answered the handshake with something else");
	}
	Gpucmd__HelloReply *hr = rep->hello;
	c->max_frame = hr->max_frame;
	c->in.max_frame = hr->max_frame;
	struct gpucmd_info *i = &c->hello;
	i->max_frame = hr->max_frame;
	i->max_buffer_size = hr->max_buffer_size;
	i->max_groups[0] = hr->max_groups_x;
	i->max_groups[1] = hr->max_groups_y;
	i->max_groups[2] = hr->max_groups_z;
	i->storage_offset_alignment = hr->storage_offset_alignment;
	i->shared_alignment = hr->shared_alignment;
	i->reply_poll_us = hr->reply_poll_us;
	const char *spin = getenv("GPUCMD_SPIN_US");
	c->spin_ns = (spin && *spin ? strtoull(spin, NULL, 10) : hr->reply_poll_us) * 1000u;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

/*
 * What a person can do about a failed connect, for every application that
 * links the library: who may connect when permission is refused (the
 * socket's group, from its mode), else how to start the daemon or point at
 * another one.
 */
static void connect_advice(const char *path, int err, char *buf, size_t len)
{
	struct stat st;
	if (err != EACCES && err != EPERM) {
		snprintf(buf, len, "is gpucmdd running? `systemctl start gpucmdd.socket`, `systemctl --user start "
			 "gpucmdd.socket` or `gpucmdd`; or set GPUCMD_SOCKET to its socket");
		return;
	}
	char grbuf[4096];
	struct group gr, *g = NULL;
	if (stat(path, &st) != 0 || !(st.st_mode & S_IWGRP)) {
		snprintf(buf, len, "only the daemon's own user may connect; ask its administrator for access");
		return;
	}
	char name[64];
	if (getgrgid_r(st.st_gid, &gr, grbuf, sizeof(grbuf), &g) == 0 && g)
		snprintf(name, sizeof(name), "%s", g->gr_name);
	else
		snprintf(name, sizeof(name), "%u", (unsigned)st.st_gid);
	snprintf(buf, len, "members of group '%s' may connect: an administrator adds you with "
		 "`usermod -aG %s USER`, then log in again", name, name);
}

/* $GPUCMD_PRIORITY: "high" (or "normal", "low"); anything else is normal. */
static enum gpucmd_priority env_priority(void)
{
	const char *p = getenv("GPUCMD_PRIORITY");
	return !p ? GPUCMD_PRIORITY_NORMAL
	       : strcmp(p, "high") == 0 ? GPUCMD_PRIORITY_HIGH
	       : strcmp(p, "low") == 0 ? GPUCMD_PRIORITY_LOW
				       : GPUCMD_PRIORITY_NORMAL;
}

gpucmd_client *gpucmd_connect(const char *path)
{
	return gpucmd_connect_priority(path, env_priority());
}

gpucmd_client *gpucmd_connect_priority(const char *path, enum gpucmd_priority priority)
{
	if ((unsigned)priority > GPUCMD_PRIORITY_LOW) {
		gc_fail(NULL, -EINVAL, "unknown priority %d", (int)priority);
		return NULL;
	}
	gpucmd_client *c = calloc(1, sizeof(*c));
	if (!c) {
		gc_fail(NULL, -ENOMEM, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->rx_fd = -1;
	c->max_frame = GW_DEFAULT_MAX_FRAME;
	gw_reader_init(&c->in, GW_DEFAULT_MAX_FRAME);
	int r = path ? (strlen(path) < sizeof(c->path) ? 0 : -ENAMETOOLONG)
		     : gpucmd_default_socket(c->path, sizeof(c->path));
	if (r < 0) {
		gc_fail(NULL, r, "socket path too long");
		goto fail;
	}
	if (path)
		strcpy(c->path, path);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, c->path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		char advice[300];
		connect_advice(c->path, err, advice, sizeof(advice));
		gc_fail(NULL, -err, "cannot connect to gpucmdd at %s: %s (%s)", c->path, strerror(err), advice);
		goto fail;
	}
	if (handshake(c, priority) < 0) {
		gc_fail(NULL, GPUCMD_E_PROTOCOL, "handshake with gpucmdd at %s failed: %s", c->path, c->err);
		goto fail;
	}
	return c;
fail:
	gpucmd_disconnect(c);
	return NULL;
}

void gpucmd_disconnect(gpucmd_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0) {
		if (!c->dead)
			gpucmd_flush(c);
		close(c->fd);
	}
	if (c->rx_fd >= 0)
		close(c->rx_fd);
	gc_shared_finish(c);
	gw_buf_finish(&c->out);
	gw_reader_finish(&c->in);
	free(c);
}
