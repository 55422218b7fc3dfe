// Reads far past a small uniform buffer and a storage alias at one binding
// and writes what it saw: robust access must return zeros (or values from
// inside the bound range), never another buffer's contents.
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0, std140) uniform U { vec4 u[4]; };
layout(set = 0, binding = 1) readonly buffer S { uint s[]; };
layout(set = 0, binding = 1) readonly buffer S4 { uvec4 s4[]; };
layout(set = 0, binding = 3) writeonly buffer O { uint o[]; };
layout(push_constant) uniform P { uint stride; };
void main()
{
	uint i = gl_GlobalInvocationID.x;
	o[3 * i] = floatBitsToUint(u[(i * stride) % 4096].x);
	o[3 * i + 1] = s[i * stride];
	o[3 * i + 2] = s4[i * stride].y;
}
