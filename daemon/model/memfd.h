/*
 * memfd.h — client memory shared with the daemon: a sealed memfd sent over
 * the socket, checked and mapped here. buffer.c then lets the GPU use the
 * mapping in place (VK_EXT_external_memory_host) or, where it cannot,
 * copies between it and a host-visible buffer around each use.
 *
 * The daemon maps the memfd itself, so the memory stays valid for the GPU
 * even when the client unmaps it or dies: the mapping goes when the buffer
 * is destroyed, after the work that used it retired.
 */
#ifndef GD_MEMFD_H
#define GD_MEMFD_H

#include <stddef.h>
#include <stdint.h>

struct gd_core;

struct gd_shm {
	uint8_t *ptr;      /* aligned to gd_memfd_alignment */
	uint64_t len;      /* bytes usable at ptr, a multiple of the alignment */
	void *base;        /* the whole reservation, for munmap */
	size_t base_len;
};

/* What the memfd's size and mapping are rounded to: the page size, or the
 * device's minImportedHostPointerAlignment when larger. */
uint64_t gd_memfd_alignment(const struct gd_core *d);

/* Checks that fd is a memfd sealed against shrinking and growing that
 * holds at least `size` bytes rounded up to the alignment, and maps that
 * much of it. Does not take fd. 0, or a negative code with a message in
 * err saying what was wrong with it. */
int gd_memfd_map(const struct gd_core *d, int fd, uint64_t size, struct gd_shm *ret, char *err, size_t errlen);
void gd_memfd_unmap(struct gd_shm *shm);

#endif
