/*
 * cli.h — what the gpucmd command's files share: JSON and table helpers
 * (cli.c) and the status command (cli_status.c).
 */
#ifndef GPUCMD_CLI_H
#define GPUCMD_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "gpucmd.h"

/* Prints s as a JSON string. */
void json_str(const char *s);
double mib(uint64_t bytes);
void json_heaps(const struct gpucmd_heap *h, uint32_t n);
void print_heaps(const struct gpucmd_heap *h, uint32_t n);
void json_usage(const struct gpucmd_memory_usage *u);

enum status_format { STATUS_TEXT, STATUS_JSON, STATUS_PROMETHEUS };
/* `gpucmd status`: once, or every second until interrupted with watch.
 * Returns the exit status. */
int cmd_status(gpucmd_client *c, enum status_format format, bool watch);

#endif
