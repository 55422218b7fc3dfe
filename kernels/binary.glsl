// binary.glsl — the element-wise kernels of two inputs: out[i] = OP(a[i],
// b[i]) for i < n, OP a macro the kernel defines before including this
// (it must work on floats and on vec4s alike). Bindings 0 a, 1 b, 2 out.
layout(set = 0, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer Out4 { vec4 o4[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

void apply4(uint i) { o4[i] = OP(a4[i], b4[i]); }
void apply1(uint i) { o[i] = OP(a[i], b[i]); }

#include "grid.glsl"
