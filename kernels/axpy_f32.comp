// axpy_f32: y[i] = alpha * x[i] + y[i] for i < n (y is read and written;
// grid.glsl: vec4 accesses, any group count, each element once).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(set = 0, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Y4 { vec4 y4[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float alpha; } pc;

void apply4(uint i) { y4[i] = fma(vec4(pc.alpha), x4[i], y4[i]); }
void apply1(uint i) { y[i] = fma(pc.alpha, x[i], y[i]); }

#include "grid.glsl"
