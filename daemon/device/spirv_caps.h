/*
 * spirv_caps.h — what a module may ask of the device: its capabilities,
 * extensions and float-control modes against the features and properties
 * the device enabled (gpu.c), and the few refused whatever the device
 * offers because they would escape robust buffer access. Every refusal
 * names the capability or extension by its SPIR-V name. Used by spirv.c.
 */
#ifndef GD_SPIRV_CAPS_H
#define GD_SPIRV_CAPS_H

#include <stddef.h>
#include <stdint.h>

#include <spirv_cross/spirv_cross_c.h>

struct gd_gpu;
struct gd_spirv_scan;

/* 0, or -EINVAL with the reason in err. Borrows everything. */
int gd_spirv_check_caps(const struct gd_gpu *gpu, spvc_compiler comp, const struct gd_spirv_scan *sc, char *err,
			size_t errlen);

/* The same capability and extension checks on a module's words alone, for
 * a standard kernel's variant whose interface is reflected from its
 * portable twin (registry.c: SPIRV-Cross cannot parse every module a
 * driver runs, e.g. cooperative-matrix types). 0 or -EINVAL with err. */
int gd_spirv_check_caps_words(const struct gd_gpu *gpu, const uint32_t *words, size_t size, char *err, size_t errlen);

#endif
