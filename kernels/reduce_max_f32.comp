// reduce_max_f32: one pass of a max reduction (reduce.glsl): group g
// writes a partial maximum to out[g]; the max of out[0..G-1] is that of
// in[0..n-1]. Block size: specialization constant 0 (default 256).
#version 450
#extension GL_GOOGLE_include_directive : require
#define IDENTITY uintBitsToFloat(0xff800000u) /* -inf */
#define COMBINE(a, b) max(a, b)
#define COMBINE4(v) max(max((v).x, (v).y), max((v).z, (v).w))
#define GROUP_REDUCE group_max
#include "reduce.glsl"
