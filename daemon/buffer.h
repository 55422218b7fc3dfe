/*
 * buffer.h — a GPU buffer and its memory. Lifetime is shared: the owning
 * connection's handle holds one reference and every submitted command
 * buffer that uses it holds another, so a buffer freed (or a client gone)
 * while the GPU still uses it lives until that work retires.
 */
#ifndef GD_BUFFER_H
#define GD_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

struct gd_daemon;

struct gd_buffer {
	struct gd_daemon *d;
	uint32_t refs;
	uint32_t busy;       /* submitted, unretired command buffers using it */
	uint64_t tag;        /* serial of the last command buffer that took a ref */
	uint64_t size;
	VkBuffer buf;
	VkDeviceMemory mem;
	uint8_t *map;        /* persistently mapped, host-coherent */
};

/* Creates a zero-filled buffer with one reference, owned by the caller.
 * Returns 0 or a negative code with a message for the client in err. */
int gd_buffer_create(struct gd_daemon *d, uint64_t size, uint32_t flags, struct gd_buffer **ret_buf,
		     char *err, size_t errlen);
struct gd_buffer *gd_buffer_ref(struct gd_buffer *b);
/* Drops a reference; the last one destroys the buffer. */
void gd_buffer_unref(struct gd_buffer *b);

#endif
