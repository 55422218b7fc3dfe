/*
 * fdqueue.c — descriptors waiting for the request they came with (see
 * fdqueue.h).
 */
#include <string.h>
#include <unistd.h>

#include "net/fdqueue.h"

bool gd_fdq_keep(struct gd_fdq *q, const int *fds, uint32_t k, bool lost, uint64_t pos)
{
	bool ok = !lost && q->n + k <= GW_MAX_FDS;
	for (uint32_t i = 0; i < k; i++) {
		if (!ok) {
			close(fds[i]);
			continue;
		}
		q->pos[q->n] = pos;
		q->fds[q->n++] = fds[i];
	}
	return ok;
}

int gd_fdq_take(struct gd_fdq *q, uint64_t end)
{
	if (!q->n || q->pos[0] >= end)
		return -1;
	int fd = q->fds[0];
	q->n--;
	memmove(q->fds, q->fds + 1, q->n * sizeof(q->fds[0]));
	memmove(q->pos, q->pos + 1, q->n * sizeof(q->pos[0]));
	return fd;
}

uint32_t gd_fdq_before(const struct gd_fdq *q, uint64_t end)
{
	uint32_t n = 0;
	while (n < q->n && q->pos[n] < end)
		n++;
	return n;
}

void gd_fdq_clear(struct gd_fdq *q)
{
	while (q->n)
		close(q->fds[--q->n]);
}
