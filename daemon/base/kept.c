/*
 * kept.c — the kept first failure (see kept.h).
 */
#include <stdio.h>

#include "base/kept.h"

bool gd_kept_setv(struct gd_kept *k, uint64_t req, int code, const char *fmt, va_list ap)
{
	if (k->code)
		return false;
	k->code = code;
	k->req = req;
	vsnprintf(k->msg, sizeof(k->msg), fmt, ap);
	return true;
}

bool gd_kept_set(struct gd_kept *k, uint64_t req, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	bool kept = gd_kept_setv(k, req, code, fmt, ap);
	va_end(ap);
	return kept;
}

void gd_kept_clear(struct gd_kept *k)
{
	k->code = 0;
	k->req = 0;
	k->msg[0] = '\0';
}
