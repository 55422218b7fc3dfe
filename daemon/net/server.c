/*
 * server.c — the listening socket (see server.h). A socket file left by a
 * dead daemon is removed; one a live daemon answers on is left alone and
 * start-up fails, so two daemons never fight over one path. A new
 * connection that the allow lists or max_clients / max_clients_per_uid
 * refuse, or one accepted with no file descriptor left, gets one reply
 * saying why and is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <uv.h>

#include "base/idlist.h"
#include "model/account.h"
#include "net/conn.h"
#include "model/core.h"
#include "base/log.h"
#include "net/server.h"
#include "wire.h"

struct gd_server {
	struct gd_net *net;
	struct gd_core *d;
	int fd;
	bool owns_path;
	uv_poll_t poll;
	char address[sizeof(((struct sockaddr_un *)0)->sun_path) + 32];
	int reserve_fd;             /* spent to accept and refuse when out of fds */
	uint32_t refused;           /* since the last log line about it */
	uint64_t refused_logged_ms;
};

/* Why the peer on fd may not connect, or NULL when it may: the allow
 * lists (a user listed, or a member of a listed group: primary or
 * supplementary, from SO_PEERGROUPS), then max_clients_per_uid. */
static const char *refusal(struct gd_server *s, int fd, char *why, size_t len, int *code)
{
	const struct gd_config *cfg = &s->d->proc->cfg;
	const char *where = gd_config_where(cfg);
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	*code = -EPERM;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0) {
		snprintf(why, len, "gpucmdd could not learn who is connecting (%s)", strerror(errno));
		return why;
	}
	if ((cfg->allow_users && *cfg->allow_users) || (cfg->allow_groups && *cfg->allow_groups)) {
		bool ok = gd_idlist_has_user(cfg->allow_users, cr.uid);
		gid_t groups[256];
		socklen_t gl = sizeof(groups);
		int ng = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0 ? (int)(gl / sizeof(gid_t)) : 0;
		ok = ok || gd_idlist_has_group(cfg->allow_groups, cr.gid);
		for (int i = 0; !ok && i < ng; i++)
			ok = gd_idlist_has_group(cfg->allow_groups, groups[i]);
		if (!ok) {
			snprintf(why, len, "uid %u is not allowed to use this gpucmdd (allow_users / allow_groups in %s)",
				 (unsigned)cr.uid, where);
			return why;
		}
	}
	*code = -EUSERS;
	uint32_t all = atomic_load(&s->d->proc->clients);
	if (cfg->max_clients && all >= cfg->max_clients) {
		snprintf(why, len, "gpucmdd serves at most %u clients at once (max_clients in %s); try again when one "
			 "disconnects", cfg->max_clients, where);
		return why;
	}
	uint32_t n, waiting;
	gd_account_uid_counts(s->d, cr.uid, &n, &waiting);
	if (cfg->max_clients_per_uid && n >= cfg->max_clients_per_uid) {
		snprintf(why, len, "uid %u already has %u connections, the most max_clients_per_uid allows (%s)",
			 (unsigned)cr.uid, n, where);
		return why;
	}
	/* Connections that never say hello hold a descriptor and memory for
	 * nothing: each uid may have only a few waiting at once. */
	if (cfg->max_handshakes_per_uid && waiting >= cfg->max_handshakes_per_uid) {
		snprintf(why, len, "uid %u has %u connections that have not said hello yet, the most "
			 "max_handshakes_per_uid allows (%s)", (unsigned)cr.uid, waiting, where);
		return why;
	}
	return NULL;
}

/* A connection refused at the door: the client's handshake reads this
 * reply (id 0) and reports it. Best effort, the socket is new and empty.
 * Logged at most every 10 s, so that clients retrying in a loop cannot
 * flood the journal. */
static void refuse_client(struct gd_server *s, int fd, int code, const char *msg)
{
	uint64_t now = uv_now(s->d->loop);
	s->refused++;
	if (!s->refused_logged_ms || now - s->refused_logged_ms >= 10000) {
		log_warn("refused %u connection%s, the last because %s", s->refused, s->refused == 1 ? "" : "s", msg);
		s->refused = 0;
		s->refused_logged_ms = now;
	}
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.status = code;
	rep.error = (char *)msg;
	struct gw_buf b = {0};
	if (gw_pack(&b, &rep.base, s->d->proc->cfg.max_frame) == 0)
		(void)!send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	gw_buf_finish(&b);
	close(fd);
}

/* accept failed with EMFILE or ENFILE. The pending connection would keep
 * the listening socket readable and the loop spinning, so the reserve
 * descriptor makes room to accept it and tell it why. */
static void refuse_out_of_fds(struct gd_server *s, int err)
{
	if (s->reserve_fd < 0)
		return;
	close(s->reserve_fd);
	int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		refuse_client(s, fd, -err,
		       err == EMFILE ? "gpucmdd has no file descriptors left for another client (its RLIMIT_NOFILE, "
				       "LimitNOFILE= under systemd); try again when clients disconnect"
				     : "the system is out of file descriptors (ENFILE); try again when clients disconnect");
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void on_accept(uv_poll_t *h, int status, int events)
{
	(void)events;
	struct gd_server *s = h->data;
	if (status < 0)
		return;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				refuse_out_of_fds(s, errno);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("accept: %s", strerror(errno));
			return;
		}
		char why[300];
		int code;
		if (refusal(s, fd, why, sizeof(why), &code))
			refuse_client(s, fd, code, why);
		else if (gd_conn_create(s->net, fd) < 0)
			log_warn("dropping a new client: out of memory");
	}
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	*a = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a->sun_path)) {
		log_err("socket path too long (%zu bytes, at most %zu): %s", strlen(path), sizeof(a->sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(a->sun_path, path);
	return 0;
}

/* 0 when nothing is at path or it is a stale socket (a refused connection),
 * -EADDRINUSE when a live daemon answers there, another negative errno when
 * it cannot tell or the file is no socket: then it must be left alone. */
static int probe_path(const char *path, const struct sockaddr_un *a)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; refusing to replace it", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)a, sizeof(*a)), err = errno;
	close(fd);
	if (r == 0) {
		log_err("another gpucmdd is already listening on %s", path);
		return -EADDRINUSE;
	}
	/* Only a refused connection proves nobody listens. EACCES and the
	 * like say nothing about the daemon behind it, which must not lose
	 * its socket to a daemon started by someone who cannot reach it. */
	if (err != ECONNREFUSED) {
		log_err("cannot tell whether a daemon listens on %s (connect: %s); leaving it alone", path,
			strerror(err));
		return -err;
	}
	return 0;
}

/* 0 when path is free to bind (a stale socket was removed), else as
 * probe_path. */
static int clear_stale(const char *path, const struct sockaddr_un *a)
{
	struct stat st;
	int r = probe_path(path, a);
	if (r == 0 && lstat(path, &st) == 0) {
		log_info("removing stale socket %s", path);
		unlink(path);
	}
	return r;
}

int gd_server_check_path(const char *path)
{
	struct sockaddr_un a;
	int r = fill_addr(&a, path);
	if (r < 0 || sd_listen_fds(0) > 0)
		return r;
	/* A live daemon's socket, or one this user cannot tell about, stops
	 * the start here, before the device is opened. */
	if ((r = probe_path(path, &a)) < 0)
		return r;
	char dir[sizeof(a.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		log_err("socket %s: %s is not a directory", path, dir);
		return -ENOTDIR;
	}
	/* bind_path makes one level (/run/gpucmd without systemd), no more. */
	char *up = strrchr(dir, '/');
	if (up && up != dir)
		*up = '\0';
	if (!up || up == dir || stat(dir, &st) == 0)
		return 0;
	log_err("socket %s: directory %s does not exist (gpucmdd creates only the socket's own directory)", path,
		dir);
	return -ENOENT;
}

static int bind_path(struct gd_server *s, const char *path)
{
	struct sockaddr_un a;
	int r = fill_addr(&a, path);
	if (r < 0 || (r = clear_stale(path, &a)) < 0)
		return r;
	/* The parent of the default system path, /run/gpucmd, may not exist
	 * yet when the daemon runs without systemd. */
	char dir[sizeof(a.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0)
			log_info("created %s", dir);
	}
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	/* Bind with a tight umask so that the socket never exists with wider
	 * permissions than 0660, even for an instant. */
	mode_t old = umask(0117);
	r = bind(s->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0) {
		r = -errno;
		log_err("cannot bind %s: %s", path, strerror(errno));
		return r;
	}
	s->owns_path = true;
	if (listen(s->fd, SOMAXCONN) < 0) {
		r = -errno;
		log_err("cannot listen on %s: %s", path, strerror(errno));
		return r;
	}
	return 0;
}

struct gd_server *gd_server_create(struct gd_net *net)
{
	struct gd_server *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	struct gd_core *d = net->core;
	s->net = net;
	s->d = d;
	s->fd = -1;
	s->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int n = sd_listen_fds(1);
	if (n > 1 || (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0)) {
		/* A unit mistake: guessing which socket was meant would hide it. */
		log_err("systemd passed %d sockets; gpucmdd takes exactly one listening Unix stream socket "
			"(check ListenStream= in the .socket unit)", n);
		goto fail;
	}
	if (n == 1) {
		s->fd = SD_LISTEN_FDS_START;
		fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
		struct sockaddr_un a = {0};
		socklen_t len = sizeof(a);
		getsockname(s->fd, (struct sockaddr *)&a, &len);
		snprintf(s->address, sizeof(s->address), "%s (from systemd)",
			 len > offsetof(struct sockaddr_un, sun_path) && a.sun_path[0] ? a.sun_path : "a socket");
	} else if (bind_path(s, d->proc->cfg.socket_path) < 0) {
		goto fail;
	} else {
		snprintf(s->address, sizeof(s->address), "%s", d->proc->cfg.socket_path);
	}
	if (uv_poll_init(d->loop, &s->poll, s->fd) < 0)
		goto fail;
	s->poll.data = s;
	uv_poll_start(&s->poll, UV_READABLE, on_accept);
	return s;
fail:
	if (s->fd >= 0)
		close(s->fd);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	if (s->owns_path)
		unlink(d->proc->cfg.socket_path);
	free(s);
	return NULL;
}

void gd_server_pause(struct gd_server *s, bool pause)
{
	if (!s)
		return;
	if (pause)
		uv_poll_stop(&s->poll);
	else
		uv_poll_start(&s->poll, UV_READABLE, on_accept);
}

const char *gd_server_address(const struct gd_server *s)
{
	return s->address;
}

static void free_server(uv_handle_t *h)
{
	struct gd_server *s = h->data;
	close(s->fd);
	if (s->reserve_fd >= 0)
		close(s->reserve_fd);
	free(s);
}

void gd_server_destroy(struct gd_server *s)
{
	if (!s)
		return;
	if (s->owns_path)
		unlink(s->d->proc->cfg.socket_path);
	uv_close((uv_handle_t *)&s->poll, free_server);
}
