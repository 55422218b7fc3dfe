// silu_f32: out[i] = silu: x * sigmoid(x) of in[i], for i < n (unary.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define OP(v) ((v) / (1.0 + exp(-(v))))
#include "unary.glsl"
