/*
 * devlock.c — claiming the device (see devlock.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "service/devlock.h"

/* The runtime directory, created when missing: 0, or -errno. */
static int lock_dir(char *dir, size_t len)
{
	const char *rt = getenv("RUNTIME_DIRECTORY"), *xdg = getenv("XDG_RUNTIME_DIR");
	if (rt && *rt)
		snprintf(dir, len, "%.*s", (int)strcspn(rt, ":"), rt); /* the first of several */
	else if (xdg && *xdg)
		snprintf(dir, len, "%s/gpucmd", xdg);
	else if (geteuid() == 0)
		snprintf(dir, len, "/run/gpucmd");
	else
		snprintf(dir, len, "/tmp/gpucmd-%u", (unsigned)geteuid());
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* What the holder wrote: its pid, or 0 when none is readable. */
static long holder_pid(int fd)
{
	char buf[32] = {0};
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	return n > 0 ? strtol(buf, NULL, 10) : 0;
}

int gd_device_claim(const char *uuid, const char *name, bool share, int *ret_fd)
{
	char dir[PATH_MAX - 64], path[PATH_MAX];
	*ret_fd = -1;
	int r = lock_dir(dir, sizeof(dir));
	int fd = -1;
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/device-%s.lock", dir, uuid);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		r = fd < 0 ? -errno : 0;
	}
	if (r < 0) {
		log_warn("cannot claim device %s in %s (%s): a second daemon on it would not be noticed", name, dir,
			 strerror(-r));
		return 0;
	}
	if (flock(fd, (share ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		long pid = holder_pid(fd);
		if (!pid)
			log_err("device %s (%s) is already served by daemons that share it (lock %s): give each daemon "
				"its own device (--device INDEX|UUID), or set share_device = yes on this one too",
				name, uuid, path);
		else
			log_err("device %s (%s) is already served by gpucmdd pid %ld (lock %s): give each daemon its "
				"own device (--device INDEX|UUID), or set share_device = yes on every daemon that shares it",
				name, uuid, pid, path);
		close(fd);
		return -EBUSY;
	}
	/* Whoever holds it now says so: the pid of an exclusive holder, nothing
	 * for sharers (one of several). What an earlier holder wrote goes. */
	char line[32];
	int n = share ? 0 : snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || (n && pwrite(fd, line, (size_t)n, 0) != n))
		log_warn("cannot write %s: %s", path, strerror(errno));
	log_info("device %s (%s) claimed %s (%s)", name, uuid, share ? "shared" : "exclusively", path);
	*ret_fd = fd;
	return 0;
}
