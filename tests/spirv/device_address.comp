// Raw buffer device addresses would bypass robust buffer access: refused.
#version 450
#extension GL_EXT_buffer_reference : require
layout(local_size_x = 1) in;
layout(buffer_reference) buffer Ptr { float v; };
layout(push_constant) uniform Push { Ptr p; } pc;
void main()
{
	pc.p.v = 1.0;
}
