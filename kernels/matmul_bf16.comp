// matmul_bf16: C (m x n, f32) = A (m x k, bfloat16) * B (k x n, bfloat16),
// row-major, accumulated in f32, register tiled like matmul_f32
// (matmul_16bit.glsl, matmul_tiled.glsl). A bfloat16 is the upper half of
// an f32, so widening it is a shift: every device runs this kernel. Bind A
// and B with sizes rounded up to 4 bytes. Dispatch (ceil(n / 128),
// ceil(m / 128), 1).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

// Two bfloat16s of a 32-bit word (the first in the low half), widened.
#define WIDEN2(w) vec2(uintBitsToFloat((w) << 16), uintBitsToFloat((w) & 0xffff0000u))

#include "matmul_16bit.glsl"
