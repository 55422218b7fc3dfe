// matmul_f16: C (m x n, f32) = A (m x k, f16) * B (k x n, f16), row-major,
// accumulated in f32. Halves are read as packed 32-bit words and widened
// with unpackHalf2x16, so no shaderFloat16 or 16-bit storage feature is
// needed: every device runs it. Bind A and B with sizes rounded up to 4
// bytes. Dispatch (ceil(n / 16), ceil(m / 16), 1).
#version 450
layout(local_size_x = 16, local_size_y = 16) in;
layout(set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(set = 0, binding = 1) readonly buffer B { uint b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

shared float ta[16][16];
shared float tb[16][17];

float half_at(uint word, uint index)
{
	vec2 v = unpackHalf2x16(word);
	return (index & 1u) == 0u ? v.x : v.y;
}

void main()
{
	uvec2 l = gl_LocalInvocationID.xy;
	uint col = gl_WorkGroupID.x * 16u + l.x;
	uint row = gl_WorkGroupID.y * 16u + l.y;
	float acc = 0.0;
	for (uint k0 = 0u; k0 < pc.k; k0 += 16u) {
		uint ka = k0 + l.x, kb = k0 + l.y;
		uint ia = row * pc.k + ka, ib = kb * pc.n + col;
		ta[l.y][l.x] = row < pc.m && ka < pc.k ? half_at(a[ia >> 1], ia) : 0.0;
		tb[l.y][l.x] = kb < pc.k && col < pc.n ? half_at(b[ib >> 1], ib) : 0.0;
		barrier();
		for (uint j = 0u; j < 16u; j++)
			acc = fma(ta[l.y][j], tb[j][l.x], acc);
		barrier();
	}
	if (row < pc.m && col < pc.n)
		c[row * pc.n + col] = acc;
}
