// One buffer through two aliases of different sizes: a runtime array and a
// 4096-byte fixed block. The binding needs the larger: 4096 bytes.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer A { float a[]; };
layout(set = 0, binding = 0) buffer B { float big[1024]; };
void main()
{
	a[0] = big[1023];
}
