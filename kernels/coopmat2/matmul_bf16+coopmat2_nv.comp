// matmul_bf16, VK_NV_cooperative_matrix2 variant with bfloat16 matrices
// (VK_KHR_shader_bfloat16; matmul.glsl). Built like matmul_f16's
// (kernels/coopmat2/README).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_bfloat16 : require
#extension GL_EXT_shader_16bit_storage : require
#define ELEM bfloat16_t
#include "matmul.glsl"
