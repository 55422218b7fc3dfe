/*
 * handles.h — a per-connection table that turns the numbers a client names
 * into the objects it owns. A handle is an index plus a generation, so a
 * handle that was freed and reused does not silently name the new object.
 * A table only ever holds one connection's objects: there is no way to name
 * another connection's buffer or session.
 */
#ifndef GD_HANDLES_H
#define GD_HANDLES_H

#include <stdint.h>

#define GD_HANDLES_MAX ((1u << 20) - 1)

struct gd_handles {
	void **objs;
	uint16_t *gens;
	uint32_t *free;     /* stack of free indices */
	uint32_t n_free, used, cap;
	uint32_t count;     /* live handles */
};

void gd_handles_init(struct gd_handles *h);
void gd_handles_finish(struct gd_handles *h);
/* Stores obj (not owned) and returns its handle in *ret. 0, -ENOMEM, or
 * -EMFILE when the table is full. */
int gd_handles_add(struct gd_handles *h, void *obj, uint32_t *ret_handle);
/* The object, or NULL when the handle names nothing. */
void *gd_handles_get(const struct gd_handles *h, uint32_t handle);
/* Forgets the handle and returns its object (NULL if none). */
void *gd_handles_remove(struct gd_handles *h, uint32_t handle);
/* Iteration: the next live object at or after slot *cursor (start at 0)
 * with its handle, NULL at the end. The table must not change meanwhile. */
void *gd_handles_next(const struct gd_handles *h, uint32_t *cursor, uint32_t *ret_handle);
/* Removes and returns any one object, NULL when empty. For teardown only:
 * once it has been called, only pop and finish may follow. */
void *gd_handles_pop(struct gd_handles *h);

#endif
