/*
 * fdqueue.h — descriptors received on a connection (SCM_RIGHTS) and not yet
 * claimed by a request. Each belongs to the frame holding the last byte of
 * the read it came with: libgpucmd sends one with the first bytes of the
 * frame that takes it, and the kernel ends a read within the data an fd
 * came with.
 */
#ifndef GD_FDQUEUE_H
#define GD_FDQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "wire.h"

struct gd_fdq {
	int fds[GW_MAX_FDS];
	uint64_t pos[GW_MAX_FDS];  /* stream position of the byte each came with */
	uint32_t n;
};

/* Queues k descriptors that came with the byte at stream position pos.
 * Returns false (all of them closed) when `lost` (the kernel dropped some)
 * or more came than may wait. */
bool gd_fdq_keep(struct gd_fdq *q, const int *fds, uint32_t k, bool lost, uint64_t pos);
/* The oldest descriptor that came before stream position end (the
 * caller's now), or -1. */
int gd_fdq_take(struct gd_fdq *q, uint64_t end);
/* How many came before end. */
uint32_t gd_fdq_before(const struct gd_fdq *q, uint64_t end);
/* Closes them all. */
void gd_fdq_clear(struct gd_fdq *q);

#endif
