// group_reduce.glsl — reductions over a workgroup with subgroup operations:
// each subgroup reduces in registers (subgroupAdd / subgroupMax), its first
// live invocation leaves the result in shared memory, and every invocation
// then combines those few (gl_NumSubgroups: 8 for 256 invocations on a
// 32-wide GPU) in the same order, so all get the same value. Needs the
// workgroup to be at most 256 * the subgroup size (gpucmd's kernels use
// 256; lavapipe's subgroups are 4 or 8 wide). Call from uniform control flow.
#extension GL_KHR_shader_subgroup_arithmetic : require

shared float group_part[256];

float group_sum(float v)
{
	v = subgroupAdd(v);
	if (gl_NumSubgroups == 1u)
		return v;
	barrier(); // an earlier call's readers are done with group_part
	if (subgroupElect())
		group_part[gl_SubgroupID] = v;
	barrier();
	float r = group_part[0];
	for (uint s = 1u; s < gl_NumSubgroups; s++)
		r += group_part[s];
	return r;
}

float group_max(float v)
{
	v = subgroupMax(v);
	if (gl_NumSubgroups == 1u)
		return v;
	barrier();
	if (subgroupElect())
		group_part[gl_SubgroupID] = v;
	barrier();
	float r = group_part[0];
	for (uint s = 1u; s < gl_NumSubgroups; s++)
		r = max(r, group_part[s]);
	return r;
}
