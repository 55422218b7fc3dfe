// copy_f32: out[i] = in[i] for i < n (any 4-byte elements; unary.glsl).
#version 450
#extension GL_GOOGLE_include_directive : require
#define OP(v) (v)
#include "unary.glsl"
