/*
 * log.c — one line per event, to the journal with structured fields or to
 * stderr with an sd-daemon level prefix (see log.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "base/log.h"

_Atomic int gd_log_max_level = GD_LOG_INFO;
static bool to_journal;

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * to stderr; it only counts while stderr is still that stream (a child with
 * redirected output inherits the variable). */
void gd_log_init(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	to_journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(2, &st) == 0 &&
		     (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int send_journal(int level, const struct gd_log_fields *f, const char *msg)
{
	char prio[16], client[32], pid[32], uid[32], session[96], kernel[96], text[1100];
	struct iovec iov[8];
	int n = 0;
#define ADD(buf, ...) (snprintf(buf, sizeof(buf), __VA_ARGS__), iov[n++] = (struct iovec){buf, strlen(buf)})
	ADD(text, "MESSAGE=%s", msg);
	ADD(prio, "PRIORITY=%d", level);
	iov[n++] = (struct iovec){"SYSLOG_IDENTIFIER=gpucmdd", strlen("SYSLOG_IDENTIFIER=gpucmdd")};
	if (f && f->client)
		ADD(client, "GPUCMD_CLIENT=%u", f->client);
	if (f && f->pid)
		ADD(pid, "GPUCMD_CLIENT_PID=%d", (int)f->pid);
	if (f && f->has_uid)
		ADD(uid, "GPUCMD_CLIENT_UID=%u", (unsigned)f->uid);
	if (f && f->session)
		ADD(session, "GPUCMD_SESSION=%s", f->session);
	if (f && f->kernel)
		ADD(kernel, "GPUCMD_KERNEL=%s", f->kernel);
#undef ADD
	return sd_journal_sendv(iov, n);
}

static void put(int level, const struct gd_log_fields *fields, const char *line)
{
	/* If the journal refuses the entry, the line still goes to stderr,
	 * which journald reads too. */
	if (to_journal && send_journal(level, fields, line) >= 0)
		return;
	/* One fputs per line so that lines of several threads never mix. */
	char out[1040];
	snprintf(out, sizeof(out), "<%d>%s\n", level, line);
	fputs(out, stderr);
}

/* One lock for every limit: lines are rare, and a site's lines come from
 * both loops and the worker threads. Whether rl lets a line through, and
 * how many it held back since the last one it let through. */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;

static bool let_through(struct gd_ratelimit *rl, uint32_t *missed)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	pthread_mutex_lock(&limit_lock);
	if (!rl->begin_ms || now - rl->begin_ms >= rl->interval_ms) {
		rl->begin_ms = now;
		rl->n = 0;
	}
	bool pass = rl->n < rl->burst;
	if (pass) {
		rl->n++;
		*missed = rl->missed;
		rl->missed = 0;
	} else {
		rl->missed++;
	}
	pthread_mutex_unlock(&limit_lock);
	return pass;
}

static void vlog(struct gd_ratelimit *rl, int level, const struct gd_log_fields *fields, const char *fmt, va_list ap)
{
	uint32_t missed = 0;
	if (level > gd_log_max_level || (rl && !let_through(rl, &missed)))
		return;
	char line[1024];
	int len = vsnprintf(line, sizeof(line), fmt, ap);
	if (missed && len >= 0 && (size_t)len < sizeof(line))
		snprintf(line + len, sizeof(line) - (size_t)len, " (and %u more like it not logged: at most %u every %u s)",
			 missed, rl->burst, rl->interval_ms / 1000);
	put(level, fields, line);
}

void gd_log(int level, const struct gd_log_fields *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(NULL, level, fields, fmt, ap);
	va_end(ap);
}

void gd_log_limited(struct gd_ratelimit *rl, int level, const struct gd_log_fields *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(rl, level, fields, fmt, ap);
	va_end(ap);
}
