/*
 * log.c — writes one line per event to stderr, prefixed with the sd-daemon
 * level so that journald (or a person) can tell errors from chatter.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

int gd_log_max_level = GD_LOG_INFO;

void gd_log(int level, const char *fmt, ...)
{
	if (level > gd_log_max_level)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fputs per line so that lines of several threads never mix. */
	char out[1040];
	snprintf(out, sizeof(out), "<%d>%s\n", level, line);
	fputs(out, stderr);
}
