// scale_f32: out[i] = alpha * in[i] for i < n (unary.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define PUSH_ALPHA
#define OP(v) (pc.alpha * (v))
#include "unary.glsl"
