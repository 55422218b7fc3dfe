// fill_f32: out[i] = value for i < n (grid.glsl: vec4 stores, any group count).
#version 450
#extension GL_GOOGLE_include_directive : require
layout(set = 0, binding = 0) writeonly buffer Out4 { vec4 o4[]; };
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; float value; } pc;

void apply4(uint i) { o4[i] = vec4(pc.value); }
void apply1(uint i) { o[i] = pc.value; }

#include "grid.glsl"
