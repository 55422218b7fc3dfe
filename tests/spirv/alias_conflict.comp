// Binding 0 declared both as a uniform buffer and as a storage buffer:
// refused, naming the binding.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) uniform U { float k; };
layout(set = 0, binding = 0) buffer S { float s[]; };
void main()
{
	s[0] = k;
}
