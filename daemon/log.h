/*
 * log.h — the daemon's one logging macro family. Lines go to stderr with
 * sd-daemon level prefixes ("<3>"), which journald turns into priorities.
 */
#ifndef GD_LOG_H
#define GD_LOG_H

#include <stdbool.h>

enum gd_log_level { GD_LOG_ERR = 3, GD_LOG_WARN = 4, GD_LOG_INFO = 6, GD_LOG_DEBUG = 7 };

extern int gd_log_max_level;

void gd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) gd_log(GD_LOG_ERR, __VA_ARGS__)
#define log_warn(...) gd_log(GD_LOG_WARN, __VA_ARGS__)
#define log_info(...) gd_log(GD_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                                   \
	do {                                                                                             \
		if (gd_log_max_level >= GD_LOG_DEBUG)                                                    \
			gd_log(GD_LOG_DEBUG, __VA_ARGS__);                                               \
	} while (0)

#endif
