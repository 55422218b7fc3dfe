// reduce_sum_f32: one pass of a sum reduction (reduce.glsl): group g
// writes a partial sum to out[g]; the sum of out[0..G-1] is that of
// in[0..n-1]. Block size: specialization constant 0 (default 256).
#version 450
#extension GL_GOOGLE_include_directive : require
#define IDENTITY 0.0
#define COMBINE(a, b) ((a) + (b))
#define COMBINE4(v) (((v).x + (v).y) + ((v).z + (v).w))
#define GROUP_REDUCE group_sum
#include "reduce.glsl"
