// matmul_f16 (portable variant): C (m x n, f32) = A (m x k, f16) * B (k x
// n, f16), row-major, accumulated in f32, register tiled like matmul_f32
// (matmul_tiled.glsl). Halves are read as packed 32-bit words and widened
// with unpackHalf2x16, so no shaderFloat16 or 16-bit storage feature is
// needed: every device runs it. Bind A and B with sizes rounded up to 4
// bytes. Dispatch (ceil(n / 128), ceil(m / 128), 1). Where the device has
// cooperative matrices the daemon loads matmul_f16+coopmat_nv instead
// (same interface and dispatch).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
layout(set = 0, binding = 0) readonly buffer A2 { uvec2 a2[]; };
layout(set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(set = 0, binding = 1) readonly buffer B2 { uvec2 b2[]; };
layout(set = 0, binding = 1) readonly buffer B { uint b[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

// Four halves of a row of a rows x cols matrix, widened: one 8-byte load
// when the row length is a multiple of 4 and all four lie inside, else
// one by one, zero past the matrix.
#define LOAD4(V2, V1, ROWS, COLS) \
	if (row >= ROWS) \
		return vec4(0.0); \
	uint i = row * COLS + col; \
	if ((COLS & 3u) == 0u && col + 4u <= COLS) { \
		uvec2 w = V2[i >> 2]; \
		return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); \
	} \
	vec4 v = vec4(0.0); \
	for (uint j = 0u; j < 4u && col + j < COLS; j++) \
		v[j] = unpackHalf2x16(V1[(i + j) >> 1])[(i + j) & 1u]; \
	return v;

vec4 load_a(uint row, uint col) { LOAD4(a2, a, pc.m, pc.k) }
vec4 load_b(uint row, uint col) { LOAD4(b2, b, pc.k, pc.n) }

#include "matmul_tiled.glsl"
