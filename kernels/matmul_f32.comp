// matmul_f32: C (m x n) = A (m x k) * B (k x n), row-major f32, register
// tiled (matmul_tiled.glsl: 128 x 128 tiles, 8 x 8 outputs an invocation,
// vec4 loads where a row's length is a multiple of 4).
// Dispatch (ceil(n / 128), ceil(m / 128), 1).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
layout(set = 0, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

// Four elements of a row of a rows x cols matrix from its vec4 and float
// views: one vec4 load when the row length is a multiple of 4 and all four
// lie inside, else one by one, zero past the matrix.
#define LOAD4(V4, V1, ROWS, COLS) \
	if (row >= ROWS) \
		return vec4(0.0); \
	uint i = row * COLS + col; \
	if ((COLS & 3u) == 0u && col + 4u <= COLS) \
		return V4[i >> 2]; \
	vec4 v = vec4(0.0); \
	for (uint j = 0u; j < 4u && col + j < COLS; j++) \
		v[j] = V1[i + j]; \
	return v;

vec4 load_a(uint row, uint col) { LOAD4(a4, a, pc.m, pc.k) }
vec4 load_b(uint row, uint col) { LOAD4(b4, b, pc.k, pc.n) }
vec4 quad_a(uint q) { return a4[q]; }
vec4 quad_b(uint q) { return b4[q]; }

#include "matmul_tiled.glsl"
