// matmul_16bit.glsl — the inputs of matmul_f16's portable variant and of
// matmul_bf16: A (m x k) and B (k x n) of 16-bit floats, read as packed
// 32-bit words and widened by the kernel's WIDEN2(word) (the two values of
// a word as a vec2), then matmul_tiled.glsl's register-tiled product. No
// 16-bit storage or arithmetic feature is needed. Bind A and B with sizes
// rounded up to 4 bytes.
layout(set = 0, binding = 0) readonly buffer A2 { uvec2 a2[]; };
layout(set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(set = 0, binding = 1) readonly buffer B2 { uvec2 b2[]; };
layout(set = 0, binding = 1) readonly buffer B { uint b[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

// Four values of a row of a rows x cols matrix, widened: one 8-byte load
// when the row length is a multiple of 4 and all four lie inside, else
// one by one, zero past the matrix.
#define LOAD4(V2, V1, ROWS, COLS) \
	if (row >= ROWS) \
		return vec4(0.0); \
	uint i = row * COLS + col; \
	if ((COLS & 3u) == 0u && col + 4u <= COLS) { \
		uvec2 w = V2[i >> 2]; \
		return vec4(WIDEN2(w.x), WIDEN2(w.y)); \
	} \
	vec4 v = vec4(0.0); \
	for (uint j = 0u; j < 4u && col + j < COLS; j++) \
		v[j] = WIDEN2(V1[(i + j) >> 1])[(i + j) & 1u]; \
	return v;

vec4 load_a(uint row, uint col) { LOAD4(a2, a, pc.m, pc.k) }
vec4 load_b(uint row, uint col) { LOAD4(b2, b, pc.k, pc.n) }
vec4 quad_a(uint q) { uvec2 w = a2[q]; return vec4(WIDEN2(w.x), WIDEN2(w.y)); }
vec4 quad_b(uint q) { uvec2 w = b2[q]; return vec4(WIDEN2(w.x), WIDEN2(w.y)); }

#include "matmul_tiled.glsl"
