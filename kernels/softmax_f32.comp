// softmax_f32: softmax over each row of a rows x cols row-major matrix:
// out[r][c] = exp(in[r][c] - max_r) / sum_c exp(in[r][c] - max_r).
// A group of 256 per row, reducing with subgroup operations
// (group_reduce.glsl); groups loop over the rows, so any count works:
// dispatch (min(rows, 65535), 1, 1). A row of up to 256 * 4 * HELD floats
// whose length is a multiple of 4 is read once, as vec4s held in registers
// through the three steps; other rows are read three times.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 0) readonly buffer In4 { vec4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 1) writeonly buffer Out4 { vec4 o4[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } pc;

#include "group_reduce.glsl"

const uint HELD = 8u; // vec4s an invocation holds: rows of up to 8192 floats

// The row at vec4 index base4, n4 vec4s long, read once.
void softmax_held(uint t, uint base4, uint n4)
{
	const float ninf = uintBitsToFloat(0xff800000u);
	vec4 v[HELD];
	float m = ninf;
	[[unroll]] for (uint i = 0u; i < HELD; i++) {
		uint c = t + i * 256u;
		v[i] = c < n4 ? x4[base4 + c] : vec4(ninf);
		m = max(m, max(max(v[i].x, v[i].y), max(v[i].z, v[i].w)));
	}
	m = group_max(m);
	float sum = 0.0;
	[[unroll]] for (uint i = 0u; i < HELD; i++) {
		v[i] = exp(v[i] - m); // exp(-inf) = 0 past the row's end
		sum += (v[i].x + v[i].y) + (v[i].z + v[i].w);
	}
	float inv = 1.0 / group_sum(sum);
	[[unroll]] for (uint i = 0u; i < HELD; i++) {
		uint c = t + i * 256u;
		if (c < n4)
			o4[base4 + c] = v[i] * inv;
	}
}

void main()
{
	uint t = gl_LocalInvocationID.x;
	for (uint r = gl_WorkGroupID.x; r < pc.rows; r += gl_NumWorkGroups.x) {
		uint base = r * pc.cols;
		if (pc.cols % 4u == 0u && pc.cols <= 1024u * HELD) {
			softmax_held(t, base / 4u, pc.cols / 4u);
			continue;
		}
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
