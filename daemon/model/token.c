/*
 * token.c — the process's table of capability tokens (see token.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define HASH_NONFATAL_OOM 1 /* an add that finds no memory fails; uthash's default exits */
#include <uthash.h>

#include "model/client.h"
#include "model/core.h"
#include "model/token.h"

/* Who exported what: the second hash's key. No padding, so the key is its
 * bytes. */
struct owner_key {
	struct gd_client *conn;
	void *obj;
	uint64_t kind;                 /* enum gd_token_kind */
};

struct gd_token {
	uint8_t bytes[GPUCMD_TOKEN_BYTES];
	struct owner_key owner;
	struct gd_list link;           /* gd_client.tokens */
	UT_hash_handle by_bytes, by_owner;
};

static struct gd_token *find_owned(struct gd_process *proc, struct gd_client *c, enum gd_token_kind kind, void *obj)
{
	struct owner_key key = {c, obj, kind};
	struct gd_token *t;
	HASH_FIND(by_owner, proc->tokens_by_owner, &key, sizeof(key), t);
	return t;
}

static void forget(struct gd_process *proc, struct gd_token *t)
{
	HASH_DELETE(by_bytes, proc->tokens_by_bytes, t);
	HASH_DELETE(by_owner, proc->tokens_by_owner, t);
	gd_list_remove(&t->link);
	free(t);
}

/* A new token of c for obj in both hashes and c's list: 0, -ENOMEM or -EIO. */
static int add(struct gd_process *proc, struct gd_client *c, enum gd_token_kind kind, void *obj,
	       struct gd_token **ret)
{
	struct gd_token *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	int r = -EIO;
	if (getrandom(t->bytes, sizeof(t->bytes), 0) != (ssize_t)sizeof(t->bytes))
		goto fail;
	t->owner = (struct owner_key){c, obj, kind};
	r = -ENOMEM;
	HASH_ADD(by_bytes, proc->tokens_by_bytes, bytes, sizeof(t->bytes), t);
	if (!t->by_bytes.tbl)
		goto fail;
	HASH_ADD(by_owner, proc->tokens_by_owner, owner, sizeof(t->owner), t);
	if (!t->by_owner.tbl) {
		HASH_DELETE(by_bytes, proc->tokens_by_bytes, t);
		goto fail;
	}
	gd_list_insert_tail(&c->tokens, &t->link);
	*ret = t;
	return 0;
fail:
	free(t);
	return r;
}

int gd_token_issue(struct gd_client *c, enum gd_token_kind kind, void *obj, uint8_t ret_token[GPUCMD_TOKEN_BYTES])
{
	/* Exporting an object again gives the same token: the table grows with
	 * the objects exported, not with the requests. */
	struct gd_process *proc = c->d->proc;
	pthread_mutex_lock(&proc->lock);
	struct gd_token *t = find_owned(proc, c, kind, obj);
	int r = t ? 0 : add(proc, c, kind, obj, &t);
	if (r == 0)
		memcpy(ret_token, t->bytes, GPUCMD_TOKEN_BYTES);
	pthread_mutex_unlock(&proc->lock);
	return r;
}

int gd_token_lookup(struct gd_core *d, enum gd_token_kind kind, const uint8_t token[GPUCMD_TOKEN_BYTES], void **ret)
{
	struct gd_token *t;
	int r = -ENOENT;
	*ret = NULL;
	pthread_mutex_lock(&d->proc->lock);
	HASH_FIND(by_bytes, d->proc->tokens_by_bytes, token, GPUCMD_TOKEN_BYTES, t);
	if (t && t->owner.kind == kind) {
		/* The object belongs to another shard's thread. */
		r = t->owner.conn->d == d ? 0 : -EXDEV;
		*ret = r == 0 ? t->owner.obj : NULL;
	}
	pthread_mutex_unlock(&d->proc->lock);
	return r;
}

void gd_token_revoke(struct gd_client *c, enum gd_token_kind kind, void *obj)
{
	struct gd_process *proc = c->d->proc;
	pthread_mutex_lock(&proc->lock);
	struct gd_token *t = find_owned(proc, c, kind, obj);
	if (t)
		forget(proc, t);
	pthread_mutex_unlock(&proc->lock);
}

void gd_token_revoke_all(struct gd_client *c)
{
	struct gd_process *proc = c->d->proc;
	pthread_mutex_lock(&proc->lock);
	while (!gd_list_empty(&c->tokens))
		forget(proc, gd_container_of(c->tokens.next, struct gd_token, link));
	pthread_mutex_unlock(&proc->lock);
}
