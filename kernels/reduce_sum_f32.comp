// reduce_sum_f32: one pass of a sum reduction. Group g reduces in[2Bg ..
// 2Bg+2B-1] (clipped to n) to out[g], B the block size (specialization
// constant 0, default 256, a power of two); dispatch ceil(n / 2B) groups. For
// any length, run passes with in and out swapped until n is 1.
#version 450
layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 0) const uint BLOCK = 256;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

shared float part[BLOCK];

float combine(float a, float b) { return a + b; }

void main()
{
	uint t = gl_LocalInvocationID.x;
	uint i = gl_WorkGroupID.x * 2u * BLOCK + t;
	float identity = 0.0;
	float a = i < pc.n ? x[i] : identity;
	float b = i + BLOCK < pc.n ? x[i + BLOCK] : identity;
	part[t] = combine(a, b);
	barrier();
	for (uint s = BLOCK / 2u; s > 0u; s >>= 1) {
		if (t < s)
			part[t] = combine(part[t], part[t + s]);
		barrier();
	}
	if (t == 0u)
		o[gl_WorkGroupID.x] = part[0];
}
