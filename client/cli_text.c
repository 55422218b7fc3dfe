/*
 * cli_text.c — text from other processes, printed safely. Session labels
 * and client names are whatever a client sent: JSON is built with json-c
 * from strings whose bytes that are not UTF-8 became U+FFFD, and text for
 * a terminal shows control characters and such bytes as \xNN escapes, so
 * that no client can break `status --json` or write escape sequences to an
 * operator's terminal.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "utf8.h"

struct json_object *jstr(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), o = 0;
	char *buf = malloc(len * 3 + 1); /* a bad byte (1) becomes U+FFFD (3) */
	if (!buf)
		return NULL;
	while (*u) {
		size_t n = gpucmd_utf8_seq(u);
		if (n == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			u++;
			continue;
		}
		memcpy(buf + o, u, n);
		o += n;
		u += n;
	}
	buf[o] = '\0';
	struct json_object *j = json_object_new_string_len(buf, (int)o);
	free(buf);
	return j;
}

const char *text_safe(const char *s, char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;
	while (*u) {
		size_t n = gpucmd_utf8_seq(u);
		bool escape = n == 0 || gpucmd_utf8_is_control(u, n);
		n = n ? n : 1;
		if (o + (escape ? 4 * n : n) >= len)
			break; /* cut at a character, never inside one */
		for (size_t i = 0; i < n; i++) {
			if (escape)
				o += (size_t)snprintf(buf + o, len - o, "\\x%02x", u[i]);
			else
				buf[o++] = (char)u[i];
		}
		u += n;
	}
	if (len)
		buf[o] = '\0';
	return buf;
}

void json_print(struct json_object *j)
{
	if (!j) {
		fprintf(stderr, "gpucmd: out of memory building JSON\n");
		return;
	}
	puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

/* json-c takes ownership of what is added, NULL included (a missing value). */
void jset(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

void jset_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

struct json_object *jheaps(const struct gpucmd_heap *h, uint32_t n)
{
	struct json_object *a = json_object_new_array();
	for (uint32_t k = 0; a && k < n; k++) {
		struct json_object *o = json_object_new_object();
		jset_u64(o, "size", h[k].size);
		jset(o, "device_local", json_object_new_boolean(h[k].device_local));
		jset_u64(o, "budget", h[k].budget);
		jset_u64(o, "usage", h[k].usage);
		jset_u64(o, "allocated", h[k].allocated);
		jset_u64(o, "used", h[k].used);
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *jusage(const struct gpucmd_memory_usage *u)
{
	struct json_object *o = json_object_new_object();
	jset_u64(o, "client", u->client);
	jset(o, "pid", json_object_new_int(u->pid));
	jset_u64(o, "uid", u->uid);
	jset(o, "name", jstr(u->name));
	jset_u64(o, "bytes", u->bytes);
	jset_u64(o, "buffers", u->buffers);
	jset_u64(o, "peak", u->peak);
	jset_u64(o, "resident_buffers", u->resident_buffers);
	jset_u64(o, "resident_bytes", u->resident_bytes);
	jset_u64(o, "limit", u->limit);
	jset_u64(o, "gpu_ns", u->gpu_ns);
	return o;
}
