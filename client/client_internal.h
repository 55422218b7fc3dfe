/*
 * client_internal.h — what the files of libgpucmd share and no application
 * sees: the connection struct, the transport's request helpers every API
 * call goes through, and the small copies between protobuf replies and the
 * structs of gpucmd.h. The gc_ names stay inside the library (the .so
 * exports gpucmd_* only, client/libgpucmd.map).
 */
#ifndef GPUCMD_CLIENT_INTERNAL_H
#define GPUCMD_CLIENT_INTERNAL_H

#include <stdio.h>
#include <sys/un.h>

#include "gpucmd.h"
#include "wire.h"

/* A shared buffer's mapping in this process, unmapped when it is freed. */
struct gc_shared_map {
	gpucmd_buffer buffer;
	void *ptr;
	size_t len;
};

struct gpucmd_client {
	int fd;
	bool dead;
	uint64_t next_id;
	uint32_t max_frame;
	struct gw_buf out;          /* streamed requests not yet sent */
	struct gw_reader in;
	struct gpucmd_info hello;   /* the handshake's part of gpucmd_info */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char err[512];
	uint64_t spin_ns;           /* poll for a reply this long before blocking */
	int rx_fd;                  /* the descriptor the last fence_fd reply brought, -1: none */
	struct gc_shared_map *shared;
	size_t n_shared, cap_shared;
};

/* Sets the client's last error (for NULL: this thread's connect error) and
 * returns code. */
int gc_fail(gpucmd_client *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- transport.c: requests ---------------------------------------------- */

/* gc_call's `expect` when any reply body (or none) will do. */
#define GC_ANY_BODY GPUCMD__REPLY__BODY__NOT_SET

/*
 * Streaming: wraps `body` (a message of a Request body type, borrowed) in a
 * Request and appends it to the send buffer, which is written once enough
 * has piled up. 0 or a negative code (closed connection, frame limit).
 */
int gc_stream(gpucmd_client *c, ProtobufCMessage *body);

/*
 * Round trip: wraps `body` in a Request, sends everything queued and waits
 * for its reply. A refusal becomes the return value and the last error; a
 * reply whose body is not `expect` (unless GC_ANY_BODY) is GPUCMD_E_PROTOCOL.
 * On success *ret (when ret is not NULL) is the reply, owned by the caller
 * (gpucmd__reply__free_unpacked); else it is freed here.
 */
int gc_call(gpucmd_client *c, ProtobufCMessage *body, Gpucmd__Reply__BodyCase expect, Gpucmd__Reply **ret);

/* gc_call with fd attached to the request's first bytes (SCM_RIGHTS). fd
 * stays the caller's: the daemon gets its own copy. */
int gc_call_fd(gpucmd_client *c, ProtobufCMessage *body, int fd, Gpucmd__Reply__BodyCase expect,
	       Gpucmd__Reply **ret);

/* gc_call for a request answered with a Token: copies it to *ret. */
int gc_call_token(gpucmd_client *c, ProtobufCMessage *body, gpucmd_token *ret);

/* ---- copies between replies and gpucmd.h ------------------------------- */

/* A token's bytes as a request field (borrowed from t). */
static inline ProtobufCBinaryData gc_token_bytes(const gpucmd_token *t)
{
	return (ProtobufCBinaryData){sizeof(t->bytes), (uint8_t *)t->bytes};
}

/* src (NULL: "") into dst, cut to len. */
static inline void gc_copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* buffers.c: unmaps every shared buffer's mapping (the connection closes). */
void gc_shared_finish(gpucmd_client *c);

#endif
