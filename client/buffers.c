/*
 * buffers.c — libgpucmd's buffers: creating, writing and reading them in
 * chunks that fit a frame, freeing them, tokens that share them between
 * processes, and buffers in shared memory (a sealed memfd mapped here and
 * handed to the daemon), whose mappings the client owns and unmaps.
 * Copies and fills recorded into a session are sessions.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client_internal.h"

#define FRAME_SLACK 256u /* room for the fields around a chunk's bytes in a frame */

/* A round trip answered with BufferCreated: its handle to *ret. */
static int call_buffer(gpucmd_client *c, ProtobufCMessage *body, gpucmd_buffer *ret)
{
	Gpucmd__Reply *rep;
	int r = gc_call(c, body, GPUCMD__REPLY__BODY_BUFFER_CREATED, &rep);
	if (r < 0)
		return r;
	*ret = rep->buffer_created->buffer;
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_buffer_create(gpucmd_client *c, uint64_t size, uint32_t flags, gpucmd_buffer *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "buffer_create: ret_buffer is required");
	Gpucmd__BufferCreate bc = GPUCMD__BUFFER_CREATE__INIT;
	bc.size = size;
	bc.flags = flags;
	return call_buffer(c, &bc.base, ret);
}

/* One chunk of a write: streamed, but for the last one, a round trip whose
 * answer says that all arrived. */
static int write_chunk(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, uint8_t *data, size_t n, bool last)
{
	Gpucmd__BufferWrite w = GPUCMD__BUFFER_WRITE__INIT;
	w.buffer = buffer;
	w.offset = offset;
	w.data.data = data;
	w.data.len = n;
	w.last = last;
	return last ? gc_call(c, &w.base, GC_ANY_BODY, NULL) : gc_stream(c, &w.base);
}

/* One chunk of a read, a round trip. */
static int read_chunk(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, uint8_t *data, size_t n)
{
	Gpucmd__BufferRead rd = GPUCMD__BUFFER_READ__INIT;
	rd.buffer = buffer;
	rd.offset = offset;
	rd.size = n;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &rd.base, GC_ANY_BODY, &rep);
	if (r < 0)
		return r;
	if (rep->body_case != GPUCMD__REPLY__BODY_BUFFER_DATA || rep->buffer_data->data.len != n) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, GPUCMD_E_PROTOCOL, "buffer_read: reply does not hold the %zu bytes asked for", n);
	}
	memcpy(data, rep->buffer_data->data.data, n);
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

/* buffer_write (write) or buffer_read, in chunks that fit a frame. */
static int transfer(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, uint8_t *data, size_t size, bool write)
{
	const char *what = write ? "buffer_write" : "buffer_read";
	if (!data && size)
		return gc_fail(c, -EINVAL, "%s: data is NULL", what);
	if (offset > UINT64_MAX - size)
		return gc_fail(c, -ERANGE, "%s: offset %llu + size %zu overflows", what, (unsigned long long)offset,
			       size);
	const size_t chunk = c->max_frame - FRAME_SLACK;
	size_t done = 0;
	do {
		size_t n = size - done < chunk ? size - done : chunk;
		int r = write ? write_chunk(c, buffer, offset + done, data + done, n, done + n == size)
			      : read_chunk(c, buffer, offset + done, data + done, n);
		if (r < 0)
			return r;
		done += n;
	} while (done < size);
	return 0;
}

int gpucmd_buffer_write(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, const void *data, size_t size)
{
	/* Only read from: the request borrows the bytes. */
	return transfer(c, buffer, offset, (uint8_t *)data, size, true);
}

int gpucmd_buffer_read(gpucmd_client *c, gpucmd_buffer buffer, uint64_t offset, void *data, size_t size)
{
	return transfer(c, buffer, offset, data, size, false);
}

int gpucmd_buffer_free(gpucmd_client *c, gpucmd_buffer buffer)
{
	Gpucmd__BufferFree bf = GPUCMD__BUFFER_FREE__INIT;
	bf.buffer = buffer;
	int r = gc_call(c, &bf.base, GC_ANY_BODY, NULL);
	/* The daemon keeps its own mapping for work still in flight. */
	for (size_t i = 0; r == 0 && i < c->n_shared; i++)
		if (c->shared[i].buffer == buffer) {
			munmap(c->shared[i].ptr, c->shared[i].len);
			c->shared[i] = c->shared[--c->n_shared];
			break;
		}
	return r;
}

int gpucmd_buffer_export(gpucmd_client *c, gpucmd_buffer b, gpucmd_token *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "buffer_export: ret_token is required");
	Gpucmd__BufferExport be = GPUCMD__BUFFER_EXPORT__INIT;
	be.buffer = b;
	return gc_call_token(c, &be.base, ret);
}

int gpucmd_buffer_import(gpucmd_client *c, const gpucmd_token *t, gpucmd_buffer *ret)
{
	if (!t || !ret)
		return gc_fail(c, -EINVAL, "buffer_import: token and ret_buffer are required");
	Gpucmd__BufferImport bi = GPUCMD__BUFFER_IMPORT__INIT;
	bi.token = gc_token_bytes(t);
	return call_buffer(c, &bi.base, ret);
}

/* ---- shared memory ------------------------------------------------------ */

/* Room for one more mapping in the list, made before the buffer exists so
 * that a created buffer always finds its place. */
static int shared_reserve(gpucmd_client *c)
{
	if (c->n_shared < c->cap_shared)
		return 0;
	size_t cap = c->cap_shared ? c->cap_shared * 2 : 8;
	struct gc_shared_map *m = realloc(c->shared, cap * sizeof(*m));
	if (!m)
		return gc_fail(c, -ENOMEM, "out of memory");
	c->shared = m;
	c->cap_shared = cap;
	return 0;
}

/* A sealed memfd of len bytes mapped here: *ret_fd and *ret_map, both the
 * caller's. Sealed so that nobody can shrink the memory under the daemon
 * and the GPU (a truncated memfd would fault them). */
static int shared_map(gpucmd_client *c, size_t len, int *ret_fd, void **ret_map)
{
	int fd = memfd_create("gpucmd-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return gc_fail(c, -errno, "buffer_create_shared: memfd_create: %s", strerror(errno));
	void *map = MAP_FAILED;
	if (ftruncate(fd, (off_t)len) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
	    (map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		int r = gc_fail(c, -errno, "buffer_create_shared: %zu bytes of shared memory: %s", len,
				strerror(errno));
		close(fd);
		return r;
	}
	*ret_fd = fd;
	*ret_map = map;
	return 0;
}

int gpucmd_buffer_create_shared(gpucmd_client *c, uint64_t size, gpucmd_buffer *ret_buffer, void **ret_map,
				bool *ret_zero_copy)
{
	if (!ret_buffer || !ret_map)
		return gc_fail(c, -EINVAL, "buffer_create_shared: ret_buffer and ret_map are required");
	uint64_t align = c->hello.shared_alignment ? c->hello.shared_alignment : 4096;
	if (size == 0 || size > SIZE_MAX - align)
		return gc_fail(c, -EINVAL, "buffer_create_shared: size %llu is zero or too large",
			       (unsigned long long)size);
	size_t len = (size + align - 1) / align * align;
	int fd = -1;
	void *map = NULL;
	int r = shared_reserve(c);
	if (r == 0)
		r = shared_map(c, len, &fd, &map);
	if (r < 0)
		return r;
	Gpucmd__BufferCreateShared bs = GPUCMD__BUFFER_CREATE_SHARED__INIT;
	bs.size = size;
	Gpucmd__Reply *rep;
	r = gc_call_fd(c, &bs.base, fd, GPUCMD__REPLY__BODY_BUFFER_CREATED, &rep);
	close(fd);
	if (r < 0) {
		munmap(map, len);
		return r;
	}
	*ret_buffer = rep->buffer_created->buffer;
	if (ret_zero_copy)
		*ret_zero_copy = rep->buffer_created->zero_copy;
	gpucmd__reply__free_unpacked(rep, NULL);
	c->shared[c->n_shared++] = (struct gc_shared_map){*ret_buffer, map, len};
	*ret_map = map;
	return 0;
}

void gc_shared_finish(gpucmd_client *c)
{
	for (size_t i = 0; i < c->n_shared; i++)
		munmap(c->shared[i].ptr, c->shared[i].len);
	free(c->shared);
	c->shared = NULL;
	c->n_shared = c->cap_shared = 0;
}
