/*
 * list.h — an intrusive doubly-linked list (wl_list's shape). An empty list
 * points at itself; an element is embedded in the struct it links.
 */
#ifndef GD_LIST_H
#define GD_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct gd_list {
	struct gd_list *prev, *next;
};

static inline void gd_list_init(struct gd_list *l)
{
	l->prev = l->next = l;
}

static inline bool gd_list_empty(const struct gd_list *l)
{
	return l->next == l;
}

static inline void gd_list_insert_tail(struct gd_list *l, struct gd_list *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

/* Unlinks e and leaves it as an empty list, so a second remove is harmless. */
static inline void gd_list_remove(struct gd_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	gd_list_init(e);
}

/* Moves every element of src to the empty list dst; src is left empty. */
static inline void gd_list_move_all(struct gd_list *dst, struct gd_list *src)
{
	gd_list_init(dst);
	if (gd_list_empty(src))
		return;
	*dst = *src;
	dst->next->prev = dst;
	dst->prev->next = dst;
	gd_list_init(src);
}

#define gd_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define gd_list_for_each_safe(pos, tmp, head)                                                            \
	for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)

#endif
