// Reads far past a small uniform buffer, a storage alias at one binding and
// an element of an array of buffers, and writes what it saw: robust access
// must return zeros (or values from inside the bound range), never another
// buffer's contents.
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0, std140) uniform U { vec4 u[4]; };
layout(set = 0, binding = 1) readonly buffer S { uint s[]; };
layout(set = 0, binding = 1) readonly buffer S4 { uvec4 s4[]; };
layout(set = 0, binding = 3) writeonly buffer O { uint o[]; };
layout(set = 0, binding = 4) readonly buffer E { uint e[]; } pair[2];
layout(push_constant) uniform P { uint stride; };
void main()
{
	uint i = gl_GlobalInvocationID.x;
	o[4 * i] = floatBitsToUint(u[(i * stride) % 4096].x);
	o[4 * i + 1] = s[i * stride];
	o[4 * i + 2] = s4[i * stride].y;
	o[4 * i + 3] = pair[1].e[i * stride];
}
