/*
 * spirv_tools.h — what SPIRV-Tools says about a module: the validator's
 * verdict for Vulkan 1.3, and facts read with its parser (spvBinaryParse)
 * that SPIRV-Cross cannot be asked safely or at all: the operands of a
 * LocalSizeId workgroup size and the bytes of workgroup (shared) memory.
 * The only file that includes libspirv.h (which defines a non-static const
 * in C, so a second includer would not link). Used by spirv.c only.
 */
#ifndef GD_SPIRV_TOOLS_H
#define GD_SPIRV_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gd_spirv_scan {
	bool has_local_size_id;
	uint32_t local_size[3];     /* the LocalSizeId values, when has_local_size_id */
	uint64_t shared_bytes;      /* sum of Workgroup variables, without padding */
};

/* Validates words (when `validate`), then scans them into *ret. 0, or
 * -EINVAL / -E2BIG / -ENOMEM with the reason in err. Thread-safe. */
int gd_spirv_tools_check(const uint32_t *words, size_t size, bool validate, struct gd_spirv_scan *ret, char *err,
			 size_t errlen);

#endif
