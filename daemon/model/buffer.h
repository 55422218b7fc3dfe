/*
 * buffer.h — a GPU buffer: its VkBuffer, its slice of device memory
 * (memory.h), the account it is charged to and its place in the residency
 * set. Lifetime is shared: the owning connection's handle holds one
 * reference, every connection that imported it holds one, and every
 * submitted command buffer that uses it holds another, so a buffer freed
 * (or a client gone) while the GPU still uses it lives until that work
 * retires.
 *
 * A buffer is device-local unless the client asks for host-visible memory.
 * When its memory is mappable and coherent, inline writes and reads are a
 * memcpy; otherwise they go through staging copies (transfer.h).
 */
#ifndef GD_BUFFER_H
#define GD_BUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "device/memory.h"
#include "model/memfd.h"

/* Daemon-internal flag: host-visible, coherent and mapped, not cleared,
 * never charged. For staging copies (requests/transfer.c). */
#define GD_BUFFER_STAGING (1u << 31)

struct gd_account;
struct gd_core;

struct gd_buffer {
	struct gd_core *d;
	struct gd_account *acct;  /* charged; NULL for the daemon's own staging */
	uint32_t refs;
	uint32_t busy;            /* submitted, unretired command buffers using it */
	uint64_t tag;             /* serial of the last command buffer that took a ref */
	uint64_t size;
	uint32_t flags;           /* GPUCMD_BUFFER_* */
	bool resident;            /* in the residency set */
	VkBuffer buf;
	struct gd_alloc mem;
	uint8_t *map;             /* host pointer when writes and reads may memcpy */
	struct gd_shm shm;        /* client memory (memfd.h), owned; ptr NULL when none */
	bool shm_copy;            /* no import: the GPU uses mem, copied from and to shm */
};

/* Creates a buffer with one reference, owned by the caller, charged to
 * `acct` (which it references; NULL charges nobody) and resident. When its
 * memory is mapped it is zero-filled here; otherwise *ret_needs_zero is set
 * and the caller must clear it on the GPU before anyone sees it. `flags`
 * are GPUCMD_BUFFER_* (checked by the caller) or GD_BUFFER_STAGING. Returns 0
 * or a negative code with a message for the client in err. */
int gd_buffer_create(struct gd_core *d, struct gd_account *acct, uint64_t size, uint32_t flags,
		     struct gd_buffer **ret_buf, bool *ret_needs_zero, char *err, size_t errlen);
/* The same for client shared memory: the GPU uses *shm in place where
 * the device can import host memory (and --no-host-import is not given),
 * otherwise a host-visible buffer that gd_buffer_shm_in/out copy around
 * each use. Takes shm on success. *ret_zero_copy says which. */
int gd_buffer_create_shared(struct gd_core *d, struct gd_account *acct, uint64_t size, struct gd_shm *shm,
			    struct gd_buffer **ret_buf, bool *ret_zero_copy, char *err, size_t errlen);
/* Copies client memory to the GPU's buffer before submitted work uses it,
 * and back when that work retired; nothing unless b->shm_copy. */
void gd_buffer_shm_in(struct gd_buffer *b);
void gd_buffer_shm_out(struct gd_buffer *b);
struct gd_buffer *gd_buffer_ref(struct gd_buffer *b);
/* Drops a reference; the last one destroys the buffer. Accepts NULL. */
void gd_buffer_unref(struct gd_buffer *b);

/* [offset, offset+size) lies inside b, checked without overflowing. */
static inline bool gd_buffer_range_ok(const struct gd_buffer *b, uint64_t offset, uint64_t size)
{
	return offset <= b->size && size <= b->size - offset;
}

/* Adds or removes the buffer from the residency set; a no-op when it is
 * already in that state. */
void gd_buffer_set_resident(struct gd_buffer *b, bool resident);

#endif
