// matmul_f16, VK_NV_cooperative_matrix2 variant (matmul.glsl). glslc 2023.2
// (Debian 12) cannot compile it: the module beside this file is built with
// a newer glslang by scripts/build-coopmat2, and both are committed
// (kernels/coopmat2/README).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
#define ELEM float16_t
#include "matmul.glsl"
