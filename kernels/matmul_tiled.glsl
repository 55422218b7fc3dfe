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

#ifndef TILED_STAGES
#define TILED_STAGES 1
#endif
// Slices as vec4s of four consecutive rows of A (k-major) or columns of B,
// so that an invocation reads its four with one load.
shared vec4 sa[TILED_STAGES][8][32];
shared vec4 sb[TILED_STAGES][8][32];

void stage(uint s, vec4 va, vec4 vb, uint t)
{
	uint ra = t >> 1, ka = (t & 1u) * 4u;
	sa[s][ka][ra >> 2][ra & 3u] = va.x;
	sa[s][ka + 1u][ra >> 2][ra & 3u] = va.y;
	sa[s][ka + 2u][ra >> 2][ra & 3u] = va.z;
	sa[s][ka + 3u][ra >> 2][ra & 3u] = va.w;
	sb[s][t >> 5][t & 31u] = vb;
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
	uint s = 0u;
	stage(s, va, vb, t);
	barrier();
	for (uint k0 = 0u; k0 < pc.k; k0 += 8u) {
		bool more = k0 + 8u < pc.k;
		if (more) {
			va = load_a(m0 + (t >> 1), k0 + 8u + (t & 1u) * 4u);
			vb = load_b(k0 + 8u + (t >> 5), n0 + (t & 31u) * 4u);
		}
		[[unroll]] for (uint kk = 0u; kk < 8u; kk++) {
			vec4 a0 = sa[s][kk][ty], a1 = sa[s][kk][16u + ty];
			vec4 b0 = sb[s][kk][tx], b1 = sb[s][kk][16u + tx];
			[[unroll]] for (uint i = 0u; i < 4u; i++) {
				acc[i][0] = fma(vec4(a0[i]), b0, acc[i][0]);
				acc[i][1] = fma(vec4(a0[i]), b1, acc[i][1]);
				acc[i + 4u][0] = fma(vec4(a1[i]), b0, acc[i + 4u][0]);
				acc[i + 4u][1] = fma(vec4(a1[i]), b1, acc[i + 4u][1]);
			}
		}
		if (TILED_STAGES == 1u)
			barrier();
		if (more) {
			s = (s + 1u) % TILED_STAGES;
			stage(s, va, vb, t);
		}
		barrier();
	}
	[[unroll]] for (uint i = 0u; i < 8u; i++) {
		uint row = m0 + (i < 4u ? ty * 4u + i : 60u + ty * 4u + i);
		store_row(row, n0 + tx * 4u, acc[i][0]);
		store_row(row, n0 + 64u + tx * 4u, acc[i][1]);
	}
}
