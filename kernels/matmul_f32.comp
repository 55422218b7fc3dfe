// matmul_f32: C (m x n) = A (m x k) * B (k x n), row-major f32. 16x16 output
// tiles; A and B pass through shared memory in 16x16 blocks of k.
// Dispatch (ceil(n / 16), ceil(m / 16), 1).
#version 450
layout(local_size_x = 16, local_size_y = 16) in;
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

shared float ta[16][16];
shared float tb[16][17];

void main()
{
	uvec2 l = gl_LocalInvocationID.xy;
	uint col = gl_WorkGroupID.x * 16u + l.x;
	uint row = gl_WorkGroupID.y * 16u + l.y;
	float acc = 0.0;
	for (uint k0 = 0u; k0 < pc.k; k0 += 16u) {
		uint ka = k0 + l.x, kb = k0 + l.y;
		ta[l.y][l.x] = row < pc.m && ka < pc.k ? a[row * pc.k + ka] : 0.0;
		tb[l.y][l.x] = kb < pc.k && col < pc.n ? b[kb * pc.n + col] : 0.0;
		barrier();
		for (uint j = 0u; j < 16u; j++)
			acc = fma(ta[l.y][j], tb[j][l.x], acc);
		barrier();
	}
	if (row < pc.m && col < pc.n)
		c[row * pc.n + col] = acc;
}
