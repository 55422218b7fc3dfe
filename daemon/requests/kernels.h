/*
 * kernels.h — the kernel requests of a connection (list, lookup, register)
 * and the kernels a client registered from its own SPIR-V. Those are seen
 * by that connection only, under ids from GD_CLIENT_KERNEL_BASE, and go when
 * it unregisters them or closes; their programs stay alive while submitted
 * work uses them.
 */
#ifndef GD_KERNELS_H
#define GD_KERNELS_H

#include <stdint.h>

#include "gpucmd_defs.h"

#include "gpucmd.pb-c.h"
#include "device/spirv.h"


struct gd_client;
struct gd_client_kernels;
struct gd_kernel;
struct gd_kernel_job;

/* Drops the connection's kernels; a build still running finishes on its own
 * and is then thrown away. */
void gd_client_kernels_finish(struct gd_client_kernels *ks);

/* A standard kernel or one of this connection's, or NULL. */
const struct gd_kernel *gd_kernel_resolve(struct gd_client *c, uint32_t id);

void gd_kernel_list(struct gd_client *c, const Gpucmd__Request *req);
void gd_kernel_lookup(struct gd_client *c, const Gpucmd__Request *req);
/* Validates the request, then builds the program off the loop thread.
 * Returns -EAGAIN while the build runs (the connection stalls and the
 * request is handled again when it is done), 0 once answered. */
int gd_kernel_register(struct gd_client *c, const Gpucmd__Request *req);
void gd_kernel_unregister(struct gd_client *c, const Gpucmd__Request *req);

#endif
