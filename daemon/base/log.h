/*
 * log.h — the daemon's one logging macro family. Under systemd with stderr
 * connected to the journal ($JOURNAL_STREAM names it), each line is sent
 * with sd_journal_send as one entry with structured fields (GPUCMD_CLIENT,
 * GPUCMD_CLIENT_PID, GPUCMD_CLIENT_UID, GPUCMD_SESSION, GPUCMD_KERNEL), so
 * `journalctl -u gpucmdd GPUCMD_CLIENT_PID=1234` finds one client's lines.
 * Otherwise lines go to stderr with sd-daemon level prefixes ("<3>").
 */
#ifndef GD_LOG_H
#define GD_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum gd_log_level { GD_LOG_ERR = 3, GD_LOG_WARN = 4, GD_LOG_NOTICE = 5, GD_LOG_INFO = 6, GD_LOG_DEBUG = 7 };

/* Who a line is about; zero or NULL members are left out. */
struct gd_log_fields {
	uint32_t client;           /* connection id */
	pid_t pid;
	uid_t uid;
	bool has_uid;              /* uid 0 is a real uid */
	const char *session;       /* session label */
	const char *kernel;
};

extern _Atomic int gd_log_max_level; /* a reload writes it while other threads log */

/* Chooses the journal or stderr; call once before the first line. */
void gd_log_init(void);
void gd_log(int level, const struct gd_log_fields *fields, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A limit on one call site whose lines a client can cause at will (a
 * connection closed for a bad frame, a Vulkan call made to fail by
 * exhausting memory): at most `burst` lines each `interval_ms`, so that a
 * client in a loop can neither flood the journal nor make journald's own
 * rate limit drop the lines that matter. The first line let through after
 * some were held back says how many. */
struct gd_ratelimit {
	uint32_t interval_ms, burst;
	uint64_t begin_ms;
	uint32_t n, missed;
};
#define GD_RATELIMIT(ms, b) {.interval_ms = (ms), .burst = (b)}
/* Client-caused lines: at most 20 per call site every 10 s. */
#define GD_RATELIMIT_CLIENT GD_RATELIMIT(10000, 20)

/* gd_log through rl (every thread's lines at that site share it); a NULL
 * rl lets every line through. */
void gd_log_limited(struct gd_ratelimit *rl, int level, const struct gd_log_fields *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_err(...) gd_log(GD_LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) gd_log(GD_LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...) gd_log(GD_LOG_INFO, NULL, __VA_ARGS__)
/* A line about one kernel (loading, reflection), with GPUCMD_KERNEL set. */
#define log_err_kernel(name, ...) gd_log(GD_LOG_ERR, &(struct gd_log_fields){.kernel = (name)}, __VA_ARGS__)
#define log_debug(...)                                                                                   \
	do {                                                                                             \
		if (gd_log_max_level >= GD_LOG_DEBUG)                                                    \
			gd_log(GD_LOG_DEBUG, NULL, __VA_ARGS__);                                         \
	} while (0)

#endif
