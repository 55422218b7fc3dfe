// unary.glsl — the element-wise kernels of one input: out[i] = OP(in[i])
// for i < n, OP a macro the kernel defines before including this (on
// floats and vec4s alike; it may use pc.alpha when PUSH_ALPHA is defined).
// Bindings 0 in, 1 out.
layout(set = 0, binding = 0) readonly buffer In4 { vec4 x4[]; };
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out4 { vec4 o4[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
#ifdef PUSH_ALPHA
layout(push_constant) uniform Push { uint n; float alpha; } pc;
#else
layout(push_constant) uniform Push { uint n; } pc;
#endif

void apply4(uint i) { o4[i] = OP(x4[i]); }
void apply1(uint i) { o[i] = OP(x[i]); }

#include "grid.glsl"
