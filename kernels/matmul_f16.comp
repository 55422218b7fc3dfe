// matmul_f16 (portable variant): C (m x n, f32) = A (m x k, f16) * B (k x
// n, f16), row-major, accumulated in f32, register tiled like matmul_f32
// (matmul_16bit.glsl, matmul_tiled.glsl). Halves are read as packed 32-bit
// words and widened with unpackHalf2x16, so no shaderFloat16 or 16-bit
// storage feature is needed: every device runs it. Bind A and B with sizes
// rounded up to 4 bytes. Dispatch (ceil(n / 128), ceil(m / 128), 1). Where
// the device has cooperative matrices the daemon loads
// matmul_f16+coopmat2_nv or matmul_f16+coopmat_nv instead (same interface
// and dispatch).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require

// Two halves of a 32-bit word, widened.
#define WIDEN2(w) unpackHalf2x16(w)

#include "matmul_16bit.glsl"
