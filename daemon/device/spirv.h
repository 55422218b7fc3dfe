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

/* Descriptors (slots) of one kernel: buffers, counting each array element. */
#define GD_MAX_BINDINGS 16
/* The largest binding number: drivers size a set layout by its largest
 * binding, so a hostile 2^31 would cost gigabytes. */
#define GD_MAX_BINDING_NUMBER 1023
/* Specialization constants one registration may set. */
#define GD_MAX_SPEC 64

struct gd_gpu;

/* The type a client gives a specialization constant's value (the wire's
 * SpecType; gpucmd.h's enum gpucmd_spec_type has the same numbers). */
enum gd_spec_type {
	GD_SPEC_BOOL = 1,
	GD_SPEC_INT8, GD_SPEC_UINT8, GD_SPEC_INT16, GD_SPEC_UINT16, GD_SPEC_FLOAT16,
	GD_SPEC_INT32, GD_SPEC_UINT32, GD_SPEC_FLOAT32,
	GD_SPEC_INT64, GD_SPEC_UINT64, GD_SPEC_FLOAT64,
	GD_SPEC_TYPE_END,
};

struct gd_spec {
	uint32_t id;          /* constant_id (SpecId) */
	uint32_t type;        /* enum gd_spec_type */
	uint64_t bits;        /* the value's bits, zero-extended from its width */
};

/* How a module is built into a pipeline, beyond its bytes: part of what
 * makes two programs the same (registry.c compares it whole, so it has no
 * padding, unused entries stay zero and spec is sorted by id). */
struct gd_kernel_opts {
	uint32_t n_spec;
	uint32_t subgroup_size;   /* requiredSubgroupSize; 0: the device chooses */
	uint32_t full_subgroups;  /* 1: VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT */
	uint32_t zero;
	struct gd_spec spec[GD_MAX_SPEC];
};

enum gd_slot_kind { GD_SLOT_STORAGE, GD_SLOT_UNIFORM };

/* A kernel's interface: buffers in set 0 (slots, in binding then array
 * element order), push constants, the workgroup size after specialization
 * and one compute entry point. */
struct gd_iface {
	uint32_t n_bindings;                 /* slots */
	uint32_t binding[GD_MAX_BINDINGS];   /* binding number of each slot */
	uint32_t element[GD_MAX_BINDINGS];   /* array element of each slot */
	uint32_t count[GD_MAX_BINDINGS];     /* elements of the slot's binding (1: not an array) */
	uint8_t kind[GD_MAX_BINDINGS];       /* enum gd_slot_kind */
	bool read_only[GD_MAX_BINDINGS];
	bool write_only[GD_MAX_BINDINGS];
	uint32_t min_size[GD_MAX_BINDINGS]; /* bytes of the block before its runtime array */
	uint32_t push_size;
	uint32_t local[3];
	char entry[64];
};

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
