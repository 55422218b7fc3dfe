// softmax_f32: softmax over each row of a rows x cols row-major matrix:
// out[r][c] = exp(in[r][c] - max_r) / sum_c exp(in[r][c] - max_r).
// A group of 256 per row, reducing with subgroup operations
// (group_reduce.glsl); groups loop over the rows, so any count works:
// dispatch (min(rows, 65535), 1, 1).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } pc;

#include "group_reduce.glsl"

void main()
{
	uint t = gl_LocalInvocationID.x;
	for (uint r = gl_WorkGroupID.x; r < pc.rows; r += gl_NumWorkGroups.x) {
		uint base = r * pc.cols;
		float m = uintBitsToFloat(0xff800000u); // -inf
		for (uint c = t; c < pc.cols; c += 256u)
			m = max(m, x[base + c]);
		m = group_max(m);
		float sum = 0.0;
		for (uint c = t; c < pc.cols; c += 256u)
			sum += exp(x[base + c] - m);
		float inv = 1.0 / group_sum(sum);
		for (uint c = t; c < pc.cols; c += 256u)
			o[base + c] = exp(x[base + c] - m) * inv;
	}
}
