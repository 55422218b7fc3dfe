/*
 * fail.h — how the gpucmd-side benchmarks (bench/client.c, bench/kernels.c)
 * stop on an error: die() prints the program's name and the reason and
 * exits 1; GC(c, call) dies on any negative libgpucmd return, naming the
 * call, its line and the daemon's words (where gpucmd.h was included first;
 * bench/memstall.c talks to Vulkan only).
 */
#ifndef GPUCMD_BENCH_FAIL_H
#define GPUCMD_BENCH_FAIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

#ifdef GPUCMD_H
static void gc_check(gpucmd_client *c, int r, const char *expr, int line)
{
	if (r < 0)
		die("%.*s failed (line %d): %s [%d: %s]", (int)strcspn(expr, "("), expr, line,
		    gpucmd_last_error(c), r, gpucmd_strerror(r));
}
#define GC(c, call) gc_check((c), (call), #call, __LINE__)
#endif

#endif
