/*
 * spirv_tools.h — what SPIRV-Tools says about a module: the validator's
 * verdict for Vulkan 1.3, specialization (setting the values a client
 * passed), and facts read with its parser (spvBinaryParse) that SPIRV-Cross
 * cannot be asked safely or at all: the workgroup size however it is given,
 * the bytes of workgroup (shared) memory, float-control modes and how
 * arrays of buffers are indexed. The only file that includes libspirv.h
 * (which defines a non-static const in C, so a second includer would not
 * link). Used by spirv.c only.
 */
#ifndef GD_SPIRV_TOOLS_H
#define GD_SPIRV_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device/kernel_types.h"

struct gd_spirv_scan {
	uint32_t local_size[3];     /* the workgroup size; 0 where the module gives none */
	uint64_t shared_bytes;      /* sum of Workgroup variables, without padding; UINT64_MAX: not a constant */
	uint8_t float_modes[5];     /* widths (1: 16, 2: 32, 4: 64 bits) per mode, DenormPreserve .. RoundingModeRTZ */
	uint32_t bad_array_var;     /* an array of buffers used other than at a constant index in range; 0: none */
};

/* The SPIRV-Tools validator for Vulkan 1.3. 0, or -EINVAL / -ENOMEM with the
 * validator's first line in err. Thread-safe. */
int gd_spirv_tools_validate(const uint32_t *words, size_t size, char *err, size_t errlen);

/* Sets the module's specialization constants to opts' values (opts NULL:
 * none). *ret_words is a patched copy (malloc'd) when the module has any
 * specialization constant, else NULL; every value must name a constant the
 * module declares, with its type. 0, or -EINVAL / -ENOMEM / -E2BIG with the
 * reason in err. Thread-safe. */
int gd_spirv_tools_set_constants(const uint32_t *words, size_t size, const struct gd_kernel_opts *opts,
				 uint32_t **ret_words, char *err, size_t errlen);

/* Scans a module without specialization constants into *ret. 0, or -EINVAL /
 * -E2BIG / -ENOMEM with the reason in err. Thread-safe. */
int gd_spirv_tools_scan(const uint32_t *words, size_t size, struct gd_spirv_scan *ret, char *err, size_t errlen);

/* The SPIR-V name of capability cap ("RoundingModeRTE") in buf. 0, or
 * -EINVAL when the grammar has none (buf then says so with the number). */
int gd_spirv_tools_capability_name(uint32_t cap, char *buf, size_t len);

#endif
