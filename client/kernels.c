/*
 * kernels.c — libgpucmd's kernels: finding and listing those a connection
 * can dispatch, and registering its own from SPIR-V with specialization
 * constants and a subgroup size, as a Vulkan program passes them at
 * pipeline creation (docs/KERNELS.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"

static void kernel_info(const Gpucmd__Kernel *k, struct gpucmd_kernel_info *ki)
{
	memset(ki, 0, sizeof(*ki));
	ki->id = k->id;
	gc_copy_str(ki->name, sizeof(ki->name), k->name);
	for (size_t i = 0; i < k->n_bindings && i < GPUCMD_MAX_BINDINGS; i++) {
		const Gpucmd__KernelBinding *b = k->bindings[i];
		ki->bindings[i].binding = b->binding;
		ki->bindings[i].read_only = b->read_only;
		ki->bindings[i].write_only = b->write_only;
		ki->bindings[i].min_size = b->min_size;
		ki->bindings[i].uniform = b->uniform;
		ki->bindings[i].element = (uint8_t)(b->element < GPUCMD_MAX_BINDINGS ? b->element : 0);
		ki->n_bindings = (uint32_t)i + 1;
	}
	ki->client = k->client;
	gc_copy_str(ki->entry_point, sizeof(ki->entry_point), k->entry_point);
	gc_copy_str(ki->variant, sizeof(ki->variant), k->variant);
	ki->push_size = k->push_size;
	ki->local_size[0] = k->local_x;
	ki->local_size[1] = k->local_y;
	ki->local_size[2] = k->local_z;
}

int gpucmd_kernel_find(gpucmd_client *c, const char *name, struct gpucmd_kernel_info *ret)
{
	if (!name || !ret)
		return gc_fail(c, -EINVAL, "kernel_find: name and ret_info are required");
	Gpucmd__KernelLookup kl = GPUCMD__KERNEL_LOOKUP__INIT;
	kl.name = (char *)name;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &kl.base, GPUCMD__REPLY__BODY_KERNEL, &rep);
	if (r < 0)
		return r;
	kernel_info(rep->kernel, ret);
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_kernel_list(gpucmd_client *c, struct gpucmd_kernel_info **ret_list, size_t *ret_count)
{
	Gpucmd__KernelList kl = GPUCMD__KERNEL_LIST__INIT;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &kl.base, GPUCMD__REPLY__BODY_KERNEL_LIST, &rep);
	if (r < 0)
		return r;
	size_t n = rep->kernel_list->n_kernels;
	struct gpucmd_kernel_info *list = calloc(n ? n : 1, sizeof(*list));
	if (!list) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		kernel_info(rep->kernel_list->kernels[i], &list[i]);
	gpucmd__reply__free_unpacked(rep, NULL);
	*ret_list = list;
	*ret_count = n;
	return 0;
}

/* The value's bits, zero-extended from its width, as the daemon takes them. */
static uint64_t spec_bits(const struct gpucmd_spec_constant *k)
{
	switch (k->type) {
	case GPUCMD_SPEC_BOOL: return k->value.b ? 1 : 0;
	case GPUCMD_SPEC_INT8: return (uint8_t)k->value.i8;
	case GPUCMD_SPEC_UINT8: return k->value.u8;
	case GPUCMD_SPEC_INT16: return (uint16_t)k->value.i16;
	case GPUCMD_SPEC_UINT16: return k->value.u16;
	case GPUCMD_SPEC_FLOAT16: return k->value.f16;
	case GPUCMD_SPEC_INT32: return (uint32_t)k->value.i32;
	case GPUCMD_SPEC_UINT32: return k->value.u32;
	case GPUCMD_SPEC_FLOAT32: {
		uint32_t u;
		memcpy(&u, &k->value.f32, 4);
		return u;
	}
	default: return k->value.u64; /* 64-bit kinds; the daemon refuses an unknown type */
	}
}

int gpucmd_kernel_register_with(gpucmd_client *c, const char *name, const void *spirv, size_t size,
				const struct gpucmd_kernel_options *opts, struct gpucmd_kernel_info *ret)
{
	if (!name || (!spirv && size))
		return gc_fail(c, -EINVAL, "kernel_register: name and spirv are required");
	uint32_t n = opts ? opts->n_constants : 0;
	if (n > GPUCMD_MAX_SPEC_CONSTANTS)
		return gc_fail(c, -E2BIG, "kernel_register '%s': %u specialization constants, at most %d", name, n,
			       GPUCMD_MAX_SPEC_CONSTANTS);
	if (n && !opts->constants)
		return gc_fail(c, -EINVAL, "kernel_register '%s': n_constants without constants", name);
	Gpucmd__SpecConstant sc[GPUCMD_MAX_SPEC_CONSTANTS], *scp[GPUCMD_MAX_SPEC_CONSTANTS];
	for (uint32_t i = 0; i < n; i++) {
		sc[i] = (Gpucmd__SpecConstant)GPUCMD__SPEC_CONSTANT__INIT;
		sc[i].id = opts->constants[i].id;
		sc[i].type = (uint32_t)opts->constants[i].type;
		sc[i].bits = spec_bits(&opts->constants[i]);
		scp[i] = &sc[i];
	}
	Gpucmd__KernelRegister kr = GPUCMD__KERNEL_REGISTER__INIT;
	kr.name = (char *)name;
	kr.spirv.data = (uint8_t *)spirv;
	kr.spirv.len = size;
	kr.n_constants = n;
	kr.constants = scp;
	kr.subgroup_size = opts ? opts->required_subgroup_size : 0;
	kr.full_subgroups = opts && opts->full_subgroups;
	kr.standard = (char *)(opts && opts->standard ? opts->standard : "");
	Gpucmd__Reply *rep;
	int r = gc_call(c, &kr.base, GPUCMD__REPLY__BODY_KERNEL_REGISTERED, &rep);
	if (r < 0)
		return r;
	if (!rep->kernel_registered->kernel) {
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, GPUCMD_E_PROTOCOL, "kernel_register: the reply names no kernel");
	}
	if (ret)
		kernel_info(rep->kernel_registered->kernel, ret);
	gpucmd__reply__free_unpacked(rep, NULL);
	return 0;
}

int gpucmd_kernel_register(gpucmd_client *c, const char *name, const void *spirv, size_t size,
			   struct gpucmd_kernel_info *ret)
{
	return gpucmd_kernel_register_with(c, name, spirv, size, NULL, ret);
}

int gpucmd_kernel_unregister(gpucmd_client *c, gpucmd_kernel kernel)
{
	Gpucmd__KernelUnregister ku = GPUCMD__KERNEL_UNREGISTER__INIT;
	ku.kernel = kernel;
	return gc_call(c, &ku.base, GC_ANY_BODY, NULL);
}
