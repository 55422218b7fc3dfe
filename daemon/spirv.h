/*
 * spirv.h — what a SPIR-V module must be to run as a gpucmd kernel, and
 * what reflection says about it. A module is validated with SPIRV-Tools for
 * the device's Vulkan environment (client modules), reflected with
 * SPIRV-Cross, and held against the device's limits and enabled features.
 * Pure functions of their arguments: safe on any thread.
 */
#ifndef GD_SPIRV_H
#define GD_SPIRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GD_MAX_BINDINGS 16

struct gd_gpu;

/* A kernel's interface: storage buffers at set 0, bindings 0..n-1, push
 * constants, a literal workgroup size and one compute entry point. */
struct gd_iface {
	uint32_t n_bindings;
	bool read_only[GD_MAX_BINDINGS];
	bool write_only[GD_MAX_BINDINGS];
	uint32_t min_size[GD_MAX_BINDINGS]; /* bytes of the block before its runtime array */
	uint32_t push_size;
	uint32_t local[3];
	char entry[64];
};

/*
 * Checks words (size bytes) and fills *ret_iface. With `validate` the module
 * first goes through the SPIRV-Tools validator. Returns 0, -EINVAL (not
 * valid or not something gpucmd runs), -E2BIG (over a device limit) or
 * -ENOMEM, with the reason in err for a person. Borrows everything.
 */
int gd_spirv_check(const struct gd_gpu *gpu, const uint32_t *words, size_t size, bool validate,
		   struct gd_iface *ret_iface, char *err, size_t errlen);

#endif
