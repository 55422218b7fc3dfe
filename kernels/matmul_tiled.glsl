// matmul_tiled.glsl — register-tiled matrix product C (m x n, f32) = A (m x k)
// * B (k x n), row-major, shared by matmul_f32 and matmul_f16's portable
// variant. The kernel defines the buffers, the push block pc {m, n, k} and
// vec4 load_a(row, col) / load_b(row, col): four consecutive elements of a
// row (zero past the matrix) as floats.
//
// A group of 256 computes a 128 x 128 tile of C: invocation (tx, ty) =
// (t % 16, t / 16) holds 8 x 8 outputs in registers, rows ty*4 + {0..3}
// and 64 + ty*4 + {0..3}, columns tx*4 + {0..3} and 64 + tx*4 + {0..3}
// (two halves 64 apart, so that a subgroup's shared-memory reads are
// broadcasts or consecutive). k goes by 8: each step the group stages a
// 128 x 8 slice of A (transposed, k-major) and an 8 x 128 slice of B in
// shared memory, each invocation loading one vec4 of each; the next slice's
// loads are issued before the current slice is consumed, so global latency
// hides behind 512 FMAs. Dispatch (ceil(n / 128), ceil(m / 128), 1); larger
// counts are harmless (groups past the matrix return).
layout(local_size_x = 256) in;
layout(set = 0, binding = 2) writeonly buffer C4 { vec4 c4[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };

shared float sa[8][128];
shared float sb[8][128];

void stage(vec4 va, vec4 vb, uint t)
{
	uint ra = t >> 1, ka = (t & 1u) * 4u;
	sa[ka][ra] = va.x;
	sa[ka + 1u][ra] = va.y;
	sa[ka + 2u][ra] = va.z;
	sa[ka + 3u][ra] = va.w;
	uint rb = t >> 5, cb = (t & 31u) * 4u;
	sb[rb][cb] = vb.x;
	sb[rb][cb + 1u] = vb.y;
	sb[rb][cb + 2u] = vb.z;
	sb[rb][cb + 3u] = vb.w;
}

void store_row(uint row, uint col, vec4 v)
{
	if (row >= pc.m || col >= pc.n)
		return;
	uint i = row * pc.n + col;
	if ((pc.n & 3u) == 0u && col + 4u <= pc.n) {
		c4[i >> 2] = v;
		return;
	}
	for (uint j = 0u; j < 4u && col + j < pc.n; j++)
		c[i + j] = v[j];
}

void main()
{
	uint m0 = gl_WorkGroupID.y * 128u, n0 = gl_WorkGroupID.x * 128u;
	if (m0 >= pc.m || n0 >= pc.n)
		return;
	uint t = gl_LocalInvocationID.x, tx = t & 15u, ty = t >> 4;
	vec4 acc[8][2];
	[[unroll]] for (uint i = 0u; i < 8u; i++)
		acc[i][0] = acc[i][1] = vec4(0.0);
	vec4 va = load_a(m0 + (t >> 1), (t & 1u) * 4u);
	vec4 vb = load_b(t >> 5, n0 + (t & 31u) * 4u);
	for (uint k0 = 0u; k0 < pc.k; k0 += 8u) {
		stage(va, vb, t);
		barrier();
		if (k0 + 8u < pc.k) {
			va = load_a(m0 + (t >> 1), k0 + 8u + (t & 1u) * 4u);
			vb = load_b(k0 + 8u + (t >> 5), n0 + (t & 31u) * 4u);
		}
		[[unroll]] for (uint kk = 0u; kk < 8u; kk++) {
			vec4 a0 = vec4(sa[kk][ty * 4u], sa[kk][ty * 4u + 1u], sa[kk][ty * 4u + 2u], sa[kk][ty * 4u + 3u]);
			vec4 a1 = vec4(sa[kk][64u + ty * 4u], sa[kk][65u + ty * 4u], sa[kk][66u + ty * 4u],
				       sa[kk][67u + ty * 4u]);
			vec4 b0 = vec4(sb[kk][tx * 4u], sb[kk][tx * 4u + 1u], sb[kk][tx * 4u + 2u], sb[kk][tx * 4u + 3u]);
			vec4 b1 = vec4(sb[kk][64u + tx * 4u], sb[kk][65u + tx * 4u], sb[kk][66u + tx * 4u],
				       sb[kk][67u + tx * 4u]);
			[[unroll]] for (uint i = 0u; i < 4u; i++) {
				acc[i][0] = fma(vec4(a0[i]), b0, acc[i][0]);
				acc[i][1] = fma(vec4(a0[i]), b1, acc[i][1]);
				acc[i + 4u][0] = fma(vec4(a1[i]), b0, acc[i + 4u][0]);
				acc[i + 4u][1] = fma(vec4(a1[i]), b1, acc[i + 4u][1]);
			}
		}
		barrier();
	}
	[[unroll]] for (uint i = 0u; i < 8u; i++) {
		uint row = m0 + (i < 4u ? ty * 4u + i : 60u + ty * 4u + i);
		store_row(row, n0 + tx * 4u, acc[i][0]);
		store_row(row, n0 + 64u + tx * 4u, acc[i][1]);
	}
}
