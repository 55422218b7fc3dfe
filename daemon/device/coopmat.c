/*
 * coopmat.c — the cooperative-matrix extensions a device offers (see
 * coopmat.h).
 */
#include "base/log.h"
#include "device/coopmat.h"
#include "device/vkquery.h"

#define STYPE_COOPMAT_FEATURES_KHR ((VkStructureType)1000506000)
#define STYPE_COOPMAT2_FEATURES_NV ((VkStructureType)1000593000)

static void add(struct gd_coopmat_request *r, const char *ext, void *feature)
{
	r->exts[r->n] = ext;
	r->features[r->n++] = feature;
}

/* VK_NV_cooperative_matrix: subgroup matrices of the shapes it lists. */
static void query_nv(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out,
		     struct gd_coopmat_request *r)
{
	r->nv = (VkPhysicalDeviceCooperativeMatrixFeaturesNV){
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
	if (!gd_has_device_ext(phys, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME))
		return;
	gd_query_feature(phys, &r->nv);
	PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV props =
		(PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
			instance, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
	uint32_t n = GD_MAX_COOPMAT_SHAPES;
	for (uint32_t i = 0; i < n; i++)
		out->shapes[i] = (VkCooperativeMatrixPropertiesNV){.sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV};
	VkResult res = props ? props(phys, &n, out->shapes) : VK_ERROR_EXTENSION_NOT_PRESENT;
	if (!r->nv.cooperativeMatrix || (res != VK_SUCCESS && res != VK_INCOMPLETE))
		return;
	out->n_shapes = n;
	out->nv = true;
	add(r, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME, &r->nv);
	for (const VkCooperativeMatrixPropertiesNV *c = out->shapes; c < out->shapes + n; c++)
		log_info("cooperative matrix %ux%ux%u: VkComponentTypeNV A %d B %d C %d D %d, VkScopeNV %d", c->MSize,
			 c->NSize, c->KSize, (int)c->AType, (int)c->BType, (int)c->CType, (int)c->DType, (int)c->scope);
}

/* VK_KHR_cooperative_matrix with VK_NV_cooperative_matrix2: matrices a
 * whole group shares, of flexible sizes, loaded and stored through tensor
 * layouts. The kernels need all three of those. */
static void query_nv2(VkPhysicalDevice phys, struct gd_coopmat *out, struct gd_coopmat_request *r)
{
	r->khr = (struct gd_coopmat_khr_features){.sType = STYPE_COOPMAT_FEATURES_KHR};
	r->nv2 = (struct gd_coopmat2_features){.sType = STYPE_COOPMAT2_FEATURES_NV};
	if (!gd_has_device_ext(phys, "VK_KHR_cooperative_matrix") || !gd_has_device_ext(phys, "VK_NV_cooperative_matrix2"))
		return;
	gd_query_feature(phys, &r->khr);
	gd_query_feature(phys, &r->nv2);
	if (!r->khr.cooperativeMatrix)
		return;
	out->khr = true;
	out->nv2 = r->nv2;
	add(r, "VK_KHR_cooperative_matrix", &r->khr);
	add(r, "VK_NV_cooperative_matrix2", &r->nv2);
	log_info("VK_NV_cooperative_matrix2: workgroup scope %d, flexible dimensions %d, tensor addressing %d; "
		 "VK_KHR_shader_bfloat16 %s (no kernel uses it yet)", r->nv2.workgroupScope, r->nv2.flexibleDimensions,
		 r->nv2.tensorAddressing, gd_has_device_ext(phys, "VK_KHR_shader_bfloat16") ? "offered" : "absent");
}

void gd_coopmat_query(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out,
		      struct gd_coopmat_request *r)
{
	*out = (struct gd_coopmat){0};
	r->n = 0;
	query_nv(instance, phys, out, r);
	query_nv2(phys, out, r);
}
