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

/* Descriptors (slots) of one kernel: buffers, counting each array element. */
#define GD_MAX_BINDINGS GPUCMD_MAX_BINDINGS
/* The largest binding number: drivers size a set layout by its largest
 * binding, so a hostile 2^31 would cost gigabytes. */
#define GD_MAX_BINDING_NUMBER 1023
/* Specialization constants one registration may set. */
#define GD_MAX_SPEC 64

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

#endif
