// add_f32: out[i] = a[i] + b[i] for i < n (binary.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define OP(p, q) ((p) + (q))
#include "binary.glsl"
