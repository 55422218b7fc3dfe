// rms_norm_f32: RMS normalisation of each row of a rows x cols matrix:
// out[r][c] = in[r][c] / sqrt(mean_c(in[r][c]^2) + eps) * weight[c].
// A group of 256 per row, reducing with subgroup operations
// (group_reduce.glsl); groups loop over the rows, so any count works:
// dispatch (min(rows, 65535), 1, 1). A row of up to 256 * 4 * HELD floats
// whose length is a multiple of 4 is read once, as vec4s held in registers;
// other rows are read twice.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 0) readonly buffer In4 { vec4 x4[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(set = 0, binding = 1) readonly buffer Weight4 { vec4 w4[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 2) writeonly buffer Out4 { vec4 o4[]; };
layout(push_constant) uniform Push { uint rows; uint cols; float eps; } pc;

#include "group_reduce.glsl"

const uint HELD = 8u; // vec4s an invocation holds: rows of up to 8192 floats

// The row at vec4 index base4, n4 vec4s long, read once.
void rms_norm_held(uint t, uint base4, uint n4)
{
	vec4 v[HELD];
	float sq = 0.0;
	[[unroll]] for (uint i = 0u; i < HELD; i++) {
		uint c = t + i * 256u;
		v[i] = c < n4 ? x4[base4 + c] : vec4(0.0);
		sq += dot(v[i], v[i]);
	}
	float scale = inversesqrt(group_sum(sq) / float(pc.cols) + pc.eps);
	[[unroll]] for (uint i = 0u; i < HELD; i++) {
		uint c = t + i * 256u;
		if (c < n4)
			o4[base4 + c] = v[i] * scale * w4[c];
	}
}

void main()
{
	uint t = gl_LocalInvocationID.x;
	for (uint r = gl_WorkGroupID.x; r < pc.rows; r += gl_NumWorkGroups.x) {
		uint base = r * pc.cols;
		if (pc.cols % 4u == 0u && pc.cols <= 1024u * HELD) {
			rms_norm_held(t, base / 4u, pc.cols / 4u);
			continue;
		}
		float sq = 0.0;
		for (uint c = t; c < pc.cols; c += 256u)
			sq = fma(x[base + c], x[base + c], sq);
		float scale = inversesqrt(group_sum(sq) / float(pc.cols) + pc.eps);
		for (uint c = t; c < pc.cols; c += 256u)
			o[base + c] = x[base + c] * scale * w[c];
	}
}
