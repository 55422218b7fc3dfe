// rms_norm_f32: RMS normalisation of each row of a rows x cols matrix:
// out[r][c] = in[r][c] / sqrt(mean_c(in[r][c]^2) + eps) * weight[c].
// A group of 256 per row, reducing with subgroup operations
// (group_reduce.glsl); groups loop over the rows, so any count works:
// dispatch (min(rows, 65535), 1, 1).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint rows; uint cols; float eps; } pc;

#include "group_reduce.glsl"

void main()
{
	uint t = gl_LocalInvocationID.x;
	for (uint r = gl_WorkGroupID.x; r < pc.rows; r += gl_NumWorkGroups.x) {
		uint base = r * pc.cols;
		float sq = 0.0;
		for (uint c = t; c < pc.cols; c += 256u)
			sq = fma(x[base + c], x[base + c], sq);
		float scale = inversesqrt(group_sum(sq) / float(pc.cols) + pc.eps);
		for (uint c = t; c < pc.cols; c += 256u)
			o[base + c] = x[base + c] * scale * w[c];
	}
}
