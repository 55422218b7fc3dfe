/*
 * coopmat.h — cooperative matrices (NVIDIA's tensor cores): which of
 * VK_NV_cooperative_matrix, VK_KHR_cooperative_matrix and
 * VK_NV_cooperative_matrix2 a device offers, enabled for the standard
 * kernels' variants (registry.c) and checked against the SPIR-V they use
 * (spirv_caps.c). Debian 12's Vulkan headers predate the last two, so
 * their feature structs are declared here as the registry (vk.xml) has them.
 */
#ifndef GD_COOPMAT_H
#define GD_COOPMAT_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define GD_MAX_COOPMAT_SHAPES 32

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

/* What is enabled (struct gd_gpu's `coopmat`). */
struct gd_coopmat {
	bool nv;              /* VK_NV_cooperative_matrix: CooperativeMatrixNV kernels run */
	uint32_t n_shapes;    /* the subgroup shapes and types it offers */
	VkCooperativeMatrixPropertiesNV shapes[GD_MAX_COOPMAT_SHAPES];
	bool khr;             /* VK_KHR_cooperative_matrix, enabled with VK_NV_cooperative_matrix2 */
	struct gd_coopmat2_features nv2; /* the latter's features, as offered (pNext NULL) */
};

/* What the device is made with for them: feature structs for the caller
 * (gpu.c) to chain, each with its extension. */
struct gd_coopmat_request {
	VkPhysicalDeviceCooperativeMatrixFeaturesNV nv;
	struct gd_coopmat_khr_features khr;
	struct gd_coopmat2_features nv2;
	const char *exts[3];
	void *features[3];
	uint32_t n;
};

/* Fills r and out with what phys offers, and logs it. */
void gd_coopmat_query(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out,
		      struct gd_coopmat_request *r);

#endif
