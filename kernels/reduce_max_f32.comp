// reduce_max_f32: one pass of a max reduction. Group g reduces in[512g ..
// 512g+511] (clipped to n) to out[g]; dispatch ceil(n / 512) groups. For any
// length, run passes with in and out swapped until n is 1.
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

shared float part[256];

float combine(float a, float b) { return max(a, b); }

void main()
{
	uint t = gl_LocalInvocationID.x;
	uint i = gl_WorkGroupID.x * 512u + t;
	float identity = uintBitsToFloat(0xff800000u) /* -inf */;
	float a = i < pc.n ? x[i] : identity;
	float b = i + 256u < pc.n ? x[i + 256u] : identity;
	part[t] = combine(a, b);
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s)
			part[t] = combine(part[t], part[t + s]);
		barrier();
	}
	if (t == 0u)
		o[gl_WorkGroupID.x] = part[0];
}
