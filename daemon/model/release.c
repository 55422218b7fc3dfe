/*
 * release.c — releasing a departing client's objects (see release.h).
 */
#include "model/account.h"
#include "model/buffer.h"
#include "model/client.h"
#include "model/fence.h"
#include "model/graph.h"
#include "model/release.h"
#include "model/session.h"
#include "model/token.h"

void gd_client_finish(struct gd_client *c)
{
	struct gd_session *s;
	struct gd_graph *g;
	struct gd_buffer *b;
	gd_list_remove(&c->link);
	while ((s = gd_handles_pop(&c->sessions)))
		gd_session_close(s);
	if (c->xfer)
		gd_session_close(c->xfer);
	c->xfer = NULL;
	gd_token_revoke_all(c);
	while ((g = gd_handles_pop(&c->graphs)))
		gd_graph_unref(g);
	gd_fence_drop_waiters(c->d, c);
	while ((b = gd_handles_pop(&c->buffers)))
		gd_buffer_unref(b);
	gd_handles_finish(&c->sessions);
	gd_handles_finish(&c->buffers);
	gd_handles_finish(&c->graphs);
	gd_account_unref(c->acct);
	c->acct = NULL;
}
