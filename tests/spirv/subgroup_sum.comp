// A subgroup reduction: each invocation writes the sum of its subgroup,
// registered with a required subgroup size and full subgroups.
#version 450
#extension GL_KHR_shader_subgroup_arithmetic : require
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer I { uint x[]; };
layout(set = 0, binding = 1) writeonly buffer O { uint y[]; };
layout(set = 0, binding = 2) writeonly buffer Z { uint size; };
void main()
{
	uint i = gl_GlobalInvocationID.x;
	y[i] = subgroupAdd(x[i]);
	if (i == 0)
		size = gl_SubgroupSize;
}
