/*
 * idlist.c — user and group lists of the configuration (see idlist.h).
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/idlist.h"

/* Whether `list` (comma-separated names or numbers) names id; name_of
 * turns a name into an id. */
static bool listed(const char *list, unsigned id, bool (*name_of)(const char *name, unsigned *id))
{
	if (!list || !*list)
		return false;
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", list);
	char *save = NULL;
	for (char *t = strtok_r(buf, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
		char *end;
		unsigned long n = strtoul(t, &end, 10);
		unsigned named;
		if ((*end == '\0' && n == id) || (*end != '\0' && name_of(t, &named) && named == id))
			return true;
	}
	return false;
}

static bool user_id(const char *name, unsigned *id)
{
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	*id = pw.pw_uid;
	return true;
}

static bool group_id(const char *name, unsigned *id)
{
	char buf[4096];
	struct group gr, *res = NULL;
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	*id = gr.gr_gid;
	return true;
}

bool gd_idlist_has_user(const char *users, uid_t uid)
{
	return listed(users, uid, user_id);
}

bool gd_idlist_has_group(const char *groups, gid_t gid)
{
	return listed(groups, gid, group_id);
}

bool gd_idlist_has_member(const char *groups, uid_t uid, gid_t gid)
{
	if (!groups || !*groups)
		return false;
	if (gd_idlist_has_group(groups, gid))
		return true;
	char buf[4096];
	struct passwd pw, *res = NULL;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	gid_t list[256];
	int n = 256;
	if (getgrouplist(pw.pw_name, gid, list, &n) < 0)
		n = 256;
	for (int i = 0; i < n; i++)
		if (gd_idlist_has_group(groups, list[i]))
			return true;
	return false;
}
