/*
 * kept.h — the first failure of a streamed request, kept until a call that
 * can answer reports it. Streamed requests (dispatch, copy, commit without
 * waiting) have no reply of their own, so a session and a client each keep
 * one of these; the next round trip carries it and clears it.
 */
#ifndef GD_KEPT_H
#define GD_KEPT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct gd_kept {
	int code;          /* 0: nothing kept */
	uint64_t req;      /* the request that failed */
	char msg[256];
};

/* Keeps the failure unless one is kept already (the first one is the
 * cause; later ones are its consequences). Returns whether it was kept. */
bool gd_kept_set(struct gd_kept *k, uint64_t req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool gd_kept_setv(struct gd_kept *k, uint64_t req, int code, const char *fmt, va_list ap);
void gd_kept_clear(struct gd_kept *k);

#endif
