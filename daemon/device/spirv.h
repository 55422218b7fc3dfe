/*
 * spirv.h — what a SPIR-V module must be to run as a gpucmd kernel, and
 * what reflection says about it. A module is validated with SPIRV-Tools for
 * the device's Vulkan environment (client modules), specialized with the
 * constants the client passed, reflected with SPIRV-Cross, and held against
 * the device's limits and enabled features. Pure functions of their
 * arguments: safe on any thread.
 */
#ifndef GD_SPIRV_H
#define GD_SPIRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device/kernel_types.h"

struct gd_gpu;

/*
 * Checks words (size bytes) built with opts (NULL: none) and fills
 * *ret_iface and *ret_code: the module the pipeline is made from, after
 * specialization (malloc'd, the caller frees it), of *ret_code_size bytes;
 * NULL when the module has no specialization constants and runs as it is. With `validate` the client's module first goes through the
 * SPIRV-Tools validator (a specialized module always does). Returns 0,
 * -EINVAL (not valid or not something gpucmd runs), -E2BIG (over a device
 * limit) or -ENOMEM, with the reason in err for a person. Borrows the rest.
 */
int gd_spirv_check(const struct gd_gpu *gpu, const uint32_t *words, size_t size, bool validate,
		   const struct gd_kernel_opts *opts, struct gd_iface *ret_iface, uint32_t **ret_code,
		   size_t *ret_code_size, char *err, size_t errlen);

/* The slot of binding number `binding`, array element `element`, or -1. */
int gd_iface_slot(const struct gd_iface *f, uint32_t binding, uint32_t element);

#endif
