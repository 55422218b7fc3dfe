/*
 * coopmat.h — cooperative matrices (NVIDIA's tensor cores): which of
 * VK_NV_cooperative_matrix, VK_KHR_cooperative_matrix and
 * VK_NV_cooperative_matrix2 a device offers, and VK_KHR_shader_bfloat16
 * for bfloat16 matrices, enabled for the standard kernels' variants
 * (registry.c) and checked against the SPIR-V they use (spirv_caps.c).
 * Debian 12's Vulkan headers predate all but the first, so their structs
 * are declared here as the registry (vk.xml) has them.
 */
#ifndef GD_COOPMAT_H
#define GD_COOPMAT_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define GD_MAX_COOPMAT_SHAPES 32
#define GD_MAX_COOPMAT_FLEX 64 /* the H200 lists 25 */

struct gd_coopmat_khr_features { /* VkPhysicalDeviceCooperativeMatrixFeaturesKHR */
	VkStructureType sType;
	void *pNext;
	VkBool32 cooperativeMatrix, cooperativeMatrixRobustBufferAccess;
};

struct gd_coopmat2_features { /* VkPhysicalDeviceCooperativeMatrix2FeaturesNV */
	VkStructureType sType;
	void *pNext;
	VkBool32 workgroupScope, flexibleDimensions, reductions, conversions, perElementOperations, tensorAddressing,
		blockLoads;
};

struct gd_bf16_features { /* VkPhysicalDeviceShaderBfloat16FeaturesKHR */
	VkStructureType sType;
	void *pNext;
	VkBool32 shaderBFloat16Type, shaderBFloat16DotProduct, shaderBFloat16CooperativeMatrix;
};

/* VkCooperativeMatrixFlexibleDimensionsPropertiesNV: the component types
 * a workgroup-scope matrix product takes, for groups of
 * workgroupInvocations, sizes in multiples of the granularities. Types
 * are VkComponentTypeKHR (VkComponentTypeNV's values plus
 * GD_COMPONENT_BFLOAT16). */
struct gd_coopmat_flex {
	VkStructureType sType;
	void *pNext;
	uint32_t MGranularity, NGranularity, KGranularity;
	uint32_t AType, BType, CType, ResultType;
	VkBool32 saturatingAccumulation;
	uint32_t scope, workgroupInvocations;
};

#define GD_COMPONENT_BFLOAT16 1000141000u /* VK_COMPONENT_TYPE_BFLOAT16_KHR */

/* What is enabled (struct gd_gpu's `coopmat`). */
struct gd_coopmat {
	bool nv;              /* VK_NV_cooperative_matrix: CooperativeMatrixNV kernels run */
	uint32_t n_shapes;    /* the subgroup shapes and types it offers */
	VkCooperativeMatrixPropertiesNV shapes[GD_MAX_COOPMAT_SHAPES];
	bool khr;             /* VK_KHR_cooperative_matrix, enabled with VK_NV_cooperative_matrix2 */
	struct gd_coopmat2_features nv2; /* the latter's features, as offered (pNext NULL) */
	uint32_t n_flex;      /* its workgroup products */
	struct gd_coopmat_flex flex[GD_MAX_COOPMAT_FLEX];
	bool bf16;            /* VK_KHR_shader_bfloat16 with bfloat16 cooperative matrices */
};

/* What the device is made with for them: feature structs for the caller
 * (gpu.c) to chain, each with its extension. */
struct gd_coopmat_request {
	VkPhysicalDeviceCooperativeMatrixFeaturesNV nv;
	struct gd_coopmat_khr_features khr;
	struct gd_coopmat2_features nv2;
	struct gd_bf16_features bf16;
	const char *exts[4];
	void *features[4];
	uint32_t n;
};

/* Fills r and out with what phys offers, and logs it. */
void gd_coopmat_query(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out,
		      struct gd_coopmat_request *r);

/* Whether the device multiplies a x b + c -> result matrices of workgroup
 * scope for a group of `invocations` (VkComponentTypeKHR values). */
bool gd_coopmat_flex_offers(const struct gd_coopmat *cm, uint32_t a, uint32_t b, uint32_t c, uint32_t result,
			    uint32_t invocations);

#endif
