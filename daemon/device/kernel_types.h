/*
 * kernel_types.h — how a kernel is described across the device layer: its
 * specialization constants and build options, and its interface (buffer
 * slots, push constants, workgroup size) as reflection finds it. Types
 * only: spirv.c fills them, spirv_tools.c and the registry read them.
 */
#ifndef GD_KERNEL_TYPES_H
#define GD_KERNEL_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "gpucmd_defs.h"

/* The limits on a kernel's bindings and specialization constants, and the
 * types of those constants, are the wire's (gpucmd_defs.h). */
#define GD_SPEC_TYPES (GPUCMD_SPEC_FLOAT64 + 1)

struct gd_spec {
	uint32_t id;          /* constant_id (SpecId) */
	uint32_t type;        /* enum gpucmd_spec_type */
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
	struct gd_spec spec[GPUCMD_MAX_SPEC_CONSTANTS];
};

enum gd_slot_kind { GD_SLOT_STORAGE, GD_SLOT_UNIFORM };

/* A kernel's interface: buffers in set 0 (slots, in binding then array
 * element order), push constants, the workgroup size after specialization
 * and one compute entry point. */
struct gd_iface {
	uint32_t n_bindings;                 /* slots */
	uint32_t binding[GPUCMD_MAX_BINDINGS];   /* binding number of each slot */
	uint32_t element[GPUCMD_MAX_BINDINGS];   /* array element of each slot */
	uint32_t count[GPUCMD_MAX_BINDINGS];     /* elements of the slot's binding (1: not an array) */
	uint8_t kind[GPUCMD_MAX_BINDINGS];       /* enum gd_slot_kind */
	bool read_only[GPUCMD_MAX_BINDINGS];
	bool write_only[GPUCMD_MAX_BINDINGS];
	uint32_t min_size[GPUCMD_MAX_BINDINGS]; /* bytes of the block before its runtime array */
	uint32_t push_size;
	uint32_t local[3];
	char entry[64];
};

#endif
