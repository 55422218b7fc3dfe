/*
 * release.h — a departing client's objects, released in an order that
 * keeps every reference valid: sessions first (uncommitted work is
 * dropped, committed work still completes and holds what it uses), then
 * the tokens it issued, its graphs, its fence waits, its buffers and
 * finally its account.
 */
#ifndef GD_RELEASE_H
#define GD_RELEASE_H

struct gd_client;

/* Releases everything the client holds: sessions (committed work still
 * completes), graphs, tokens, fence waiters, buffers, its account. */
void gd_client_finish(struct gd_client *c);

#endif
