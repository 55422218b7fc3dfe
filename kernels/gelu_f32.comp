// gelu_f32: out[i] = gelu (tanh approximation) of in[i], for i < n (unary.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define OP(v) (0.5 * (v) * (1.0 + tanh(0.7978845608 * ((v) + 0.044715 * (v) * (v) * (v)))))
#include "unary.glsl"
