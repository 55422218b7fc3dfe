/*
 * cli.h — what the gpucmd command's files share: JSON and table helpers
 * (cli.c) and the status command (cli_status.c).
 */
#ifndef GPUCMD_CLI_H
#define GPUCMD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "gpucmd.h"

#include <json-c/json.h>

/* cli_text.c: JSON through json-c, and text safe for a terminal. */
/* A JSON string of s with every byte that is not UTF-8 made U+FFFD; the
 * caller owns it (or the object it is added to). */
struct json_object *jstr(const char *s);
/* Prints j on one line and releases it. */
void json_print(struct json_object *j);
void jset(struct json_object *o, const char *key, struct json_object *v);
void jset_u64(struct json_object *o, const char *key, uint64_t v);
struct json_object *jheaps(const struct gpucmd_heap *h, uint32_t n);
struct json_object *jusage(const struct gpucmd_memory_usage *u);
/* s for a terminal: controls and bytes that are not UTF-8 as \xNN; cut to
 * fit buf. Returns buf. */
const char *text_safe(const char *s, char *buf, size_t len);

/* cli.c */
double mib(uint64_t bytes);
void print_heaps(const struct gpucmd_heap *h, uint32_t n);

/* prometheus.c: status in the Prometheus text exposition format. */
void prometheus_write(FILE *f, const struct gpucmd_status *st);

enum status_format { STATUS_TEXT, STATUS_JSON, STATUS_PROMETHEUS };
/* `gpucmd status`: once, or every second until interrupted with watch.
 * Returns the exit status. */
int cmd_status(gpucmd_client *c, enum status_format format, bool watch);

#endif
