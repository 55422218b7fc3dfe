// 256 bytes of push constants: over maxPushConstantsSize on most devices.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer O { float o[]; };
layout(push_constant) uniform Push { vec4 v[16]; } pc;
void main()
{
	o[0] = pc.v[15].x;
}
