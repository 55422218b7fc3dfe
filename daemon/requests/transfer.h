/*
 * transfer.h — inline writes and reads of buffers the daemon cannot map
 * (the device-local memory of a discrete GPU), and the clearing of such
 * buffers when they are created. Each connection gets a private session
 * for this on first use. Its command buffers copy between the buffer and
 * staging buffers (host-visible, the daemon's own) and the client's reply
 * is sent when they retire, so by the time a client hears back the GPU is
 * done: its next dispatch cannot overtake the copy.
 *
 * Write chunks gather in one command buffer, submitted at the last chunk
 * or once GD_TRANSFER_FLUSH bytes are staged; a read is one copy. The
 * caller has already checked the range and that no submitted work uses
 * the buffer.
 */
#ifndef GD_TRANSFER_H
#define GD_TRANSFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GD_TRANSFER_FLUSH (64u << 20)

struct gd_buffer;
struct gd_client;

/* Clears new buffer b on the GPU, then gives it a handle and answers
 * request `req` with it; takes the caller's reference. No handle names b
 * before: nothing of the client's can reach memory not yet cleared. */
void gd_transfer_clear(struct gd_client *c, uint64_t req, struct gd_buffer *b);
/* Copies len bytes at data to offset of b; the last chunk of a write is
 * answered when it (and every chunk before it) has been copied. */
void gd_transfer_write(struct gd_client *c, uint64_t req, struct gd_buffer *b, uint64_t offset, const void *data,
		       size_t len, bool last);
/* Answers `req` with size bytes at offset of b. */
void gd_transfer_read(struct gd_client *c, uint64_t req, struct gd_buffer *b, uint64_t offset, uint64_t size);

/* Gives b (the caller's reference, taken) a handle on c and answers
 * request id with it, or with why not (the reference then dropped). */
void gd_reply_new_buffer(struct gd_client *c, uint64_t id, struct gd_buffer *b, bool zero_copy);
void gd_reply_buffer_data(struct gd_client *c, uint64_t id, const void *data, size_t len);

#endif
