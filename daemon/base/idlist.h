/*
 * idlist.h — lists of users and groups as the configuration gives them
 * (comma-separated names or numbers): whether one names a uid or a gid.
 * Names are looked up in the user and group databases at each call, so an
 * edited /etc/group applies without a reload.
 */
#ifndef GD_IDLIST_H
#define GD_IDLIST_H

#include <stdbool.h>
#include <sys/types.h>

/* Whether `users` names uid. NULL or empty: no. */
bool gd_idlist_has_user(const char *users, uid_t uid);
/* Whether `groups` names gid. NULL or empty: no. */
bool gd_idlist_has_group(const char *groups, gid_t gid);
/* Whether `groups` names gid or a supplementary group of uid's user in the
 * group database. */
bool gd_idlist_has_member(const char *groups, uid_t uid, gid_t gid);

#endif
