/*
 * token.h — capability tokens: 128 random bits from getrandom() that name
 * a buffer, fence or graph a connection exported; the only way another
 * connection reaches it, for as long as its exporter keeps it.
 *
 * One table for the process (every shard), under gd_process.lock, found
 * two ways, each a hash (uthash): by the token's bytes (an import, a wait)
 * and by exporter, kind and object (an export again, a free). No request
 * costs time in the number of tokens others hold: with a list, one client
 * exporting 65,536 buffers took 39 s of the loop on lavapipe and made
 * every client's buffer free scan them all under the lock both shards
 * take (docs/SECURITY.md).
 */
#ifndef GD_TOKEN_H
#define GD_TOKEN_H

#include <stdint.h>

#include "gpucmd_defs.h"

struct gd_client;
struct gd_core;

enum gd_token_kind { GD_TOKEN_FENCE, GD_TOKEN_BUFFER, GD_TOKEN_GRAPH };

/* Issues a token for obj (kind) exported by connection c, the one issued
 * before when c exported obj already. Returns 0 and the token, or -ENOMEM /
 * -EIO (getrandom). The table does not reference obj: the exporter revokes
 * the token before letting go of it. */
int gd_token_issue(struct gd_client *c, enum gd_token_kind kind, void *obj, uint8_t ret_token[GPUCMD_TOKEN_BYTES]);
/* The object a token names, in *ret, for a client of shard d: 0, -ENOENT
 * for a token never issued or revoked, -EXDEV for one whose exporter is
 * served by another shard (its objects are that shard's thread's;
 * docs/SHARDS.md). */
#define GD_TOKEN_ELSEWHERE                                                                                     \
	"its exporter is served by gpucmdd's other loop (HIGH clients are served apart, docs/SHARDS.md); tokens " \
	"pass only between clients of one loop: connect both with the same priority"
int gd_token_lookup(struct gd_core *d, enum gd_token_kind kind, const uint8_t token[GPUCMD_TOKEN_BYTES], void **ret);
/* Forgets c's token for obj (kind), if it issued one. */
void gd_token_revoke(struct gd_client *c, enum gd_token_kind kind, void *obj);
/* Forgets every token c issued (it is closing). */
void gd_token_revoke_all(struct gd_client *c);

#endif
