/*
 * coopmat.c — the cooperative-matrix extensions a device offers (see
 * coopmat.h).
 */
#include "base/log.h"
#include "device/coopmat.h"
#include "device/vkquery.h"

#define STYPE_COOPMAT_FEATURES_KHR ((VkStructureType)1000506000)
#define STYPE_COOPMAT2_FEATURES_NV ((VkStructureType)1000593000)
#define STYPE_COOPMAT_FLEX_PROPERTIES_NV ((VkStructureType)1000593001)
#define STYPE_BF16_FEATURES_KHR ((VkStructureType)1000141000)
#define SCOPE_WORKGROUP 2u /* VK_SCOPE_WORKGROUP_KHR */

typedef VkResult(VKAPI_PTR *flex_props_fn)(VkPhysicalDevice, uint32_t *, struct gd_coopmat_flex *);

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

/* The workgroup products VK_NV_cooperative_matrix2 lists. */
static void query_flex(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out)
{
	flex_props_fn props = (flex_props_fn)vkGetInstanceProcAddr(
		instance, "vkGetPhysicalDeviceCooperativeMatrixFlexibleDimensionsPropertiesNV");
	uint32_t n = GD_MAX_COOPMAT_FLEX;
	for (uint32_t i = 0; i < n; i++)
		out->flex[i] = (struct gd_coopmat_flex){.sType = STYPE_COOPMAT_FLEX_PROPERTIES_NV};
	VkResult res = props ? props(phys, &n, out->flex) : VK_ERROR_EXTENSION_NOT_PRESENT;
	out->n_flex = res == VK_SUCCESS || res == VK_INCOMPLETE ? n : 0;
	for (const struct gd_coopmat_flex *f = out->flex; f < out->flex + out->n_flex; f++)
		log_debug("cooperative matrix2 %ux%ux%u granules: VkComponentTypeKHR A %u B %u C %u result %u, "
			 "VkScopeKHR %u, groups of %u", f->MGranularity, f->NGranularity, f->KGranularity, f->AType,
			 f->BType, f->CType, f->ResultType, f->scope, f->workgroupInvocations);
}

/* VK_KHR_cooperative_matrix with VK_NV_cooperative_matrix2: matrices a
 * whole group shares, of flexible sizes, loaded and stored through tensor
 * layouts. The kernels need all three of those. VK_KHR_shader_bfloat16
 * comes with them where it offers bfloat16 matrices. */
static void query_nv2(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out,
		      struct gd_coopmat_request *r)
{
	r->khr = (struct gd_coopmat_khr_features){.sType = STYPE_COOPMAT_FEATURES_KHR};
	r->nv2 = (struct gd_coopmat2_features){.sType = STYPE_COOPMAT2_FEATURES_NV};
	r->bf16 = (struct gd_bf16_features){.sType = STYPE_BF16_FEATURES_KHR};
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
	if (gd_has_device_ext(phys, "VK_KHR_shader_bfloat16")) {
		gd_query_feature(phys, &r->bf16);
		out->bf16 = r->bf16.shaderBFloat16Type && r->bf16.shaderBFloat16CooperativeMatrix;
		if (out->bf16)
			add(r, "VK_KHR_shader_bfloat16", &r->bf16);
	}
	log_info("VK_NV_cooperative_matrix2: workgroup scope %d, flexible dimensions %d, tensor addressing %d; "
		 "bfloat16 matrices (VK_KHR_shader_bfloat16) %s", r->nv2.workgroupScope, r->nv2.flexibleDimensions,
		 r->nv2.tensorAddressing, out->bf16 ? "yes" : "no");
	if (r->nv2.flexibleDimensions)
		query_flex(instance, phys, out);
}

void gd_coopmat_query(VkInstance instance, VkPhysicalDevice phys, struct gd_coopmat *out,
		      struct gd_coopmat_request *r)
{
	*out = (struct gd_coopmat){0};
	r->n = 0;
	query_nv(instance, phys, out, r);
	query_nv2(instance, phys, out, r);
}

bool gd_coopmat_flex_offers(const struct gd_coopmat *cm, uint32_t a, uint32_t b, uint32_t c, uint32_t result,
			    uint32_t invocations)
{
	for (const struct gd_coopmat_flex *f = cm->flex; f < cm->flex + cm->n_flex; f++)
		if (f->AType == a && f->BType == b && f->CType == c && f->ResultType == result &&
		    f->scope == SCOPE_WORKGROUP && f->workgroupInvocations == invocations)
			return true;
	return false;
}
