// matmul_tiled.glsl — register-tiled matrix product C (m x n, f32) = A (m x k)
// * B (k x n), row-major, shared by matmul_f32 and the portable variants of
// matmul_f16 and matmul_bf16. The kernel defines the buffers, the push
// block pc {m, n, k} and, as floats, four consecutive elements of a row:
// vec4 load_a(row, col) / load_b(row, col) checked (zero past the matrix),
// vec4 quad_a(q) / quad_b(q) unchecked, elements 4q .. 4q + 3 of the array.
//
// A group of 256 computes a 128 x 128 tile of C: invocation (tx, ty) =
// (t % 16, t / 16) holds 8 x 8 outputs in registers, rows ty*4 + {0..3}
// and 64 + ty*4 + {0..3}, columns tx*4 + {0..3} and 64 + tx*4 + {0..3}
// (two halves 64 apart, so that a subgroup's shared-memory reads are
// broadcasts or consecutive). k goes by 8: each step the group stages a
// 128 x 8 slice of A (transposed, k-major) and an 8 x 128 slice of B in
// shared memory, each invocation loading one vec4 of each; the next slice's
// loads are issued before the current slice is consumed, so global latency
// hides behind 512 FMAs.
//
// A group whose tile and every slice lie inside the matrices (all of them
// but the last row and column of tiles when k is a multiple of 8 and n of
// 4) takes a path without bounds checks, stepping two quad indices instead
// of recomputing them: 40.4 TFLOP/s on the H200 at 8192^3 against 35.8
// with the checks on every load, at the same 128 registers an invocation
// (docs/KERNELS.md). Dispatch (ceil(n / 128), ceil(m / 128), 1); larger
// counts are harmless (groups past the matrix return).
layout(local_size_x = 256) in;
layout(set = 0, binding = 2) writeonly buffer C4 { vec4 c4[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };

// Slices as vec4s of four consecutive rows of A (k-major) or columns of B,
// so that an invocation reads its four with one load.
shared vec4 sa[8][32];
shared vec4 sb[8][32];

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

// Invocation t stages row ra = t / 2 of A's slice at k ka = (t % 2) * 4
// and row rb = t / 32 of B's at column (t % 32) * 4.
#define STAGE(VA, VB) \
	sa[ka][ra >> 2][ra & 3u] = VA.x; \
	sa[ka + 1u][ra >> 2][ra & 3u] = VA.y; \
	sa[ka + 2u][ra >> 2][ra & 3u] = VA.z; \
	sa[ka + 3u][ra >> 2][ra & 3u] = VA.w; \
	sb[rb][t & 31u] = VB;

#define MULTIPLY_SLICE() \
	[[unroll]] for (uint kk = 0u; kk < 8u; kk++) { \
		vec4 a0 = sa[kk][ty], a1 = sa[kk][16u + ty]; \
		vec4 b0 = sb[kk][tx], b1 = sb[kk][16u + tx]; \
		[[unroll]] for (uint i = 0u; i < 4u; i++) { \
			acc[i][0] = fma(vec4(a0[i]), b0, acc[i][0]); \
			acc[i][1] = fma(vec4(a0[i]), b1, acc[i][1]); \
			acc[i + 4u][0] = fma(vec4(a1[i]), b0, acc[i + 4u][0]); \
			acc[i + 4u][1] = fma(vec4(a1[i]), b1, acc[i + 4u][1]); \
		} \
	}

void main()
{
	uint m0 = gl_WorkGroupID.y * 128u, n0 = gl_WorkGroupID.x * 128u;
	if (m0 >= pc.m || n0 >= pc.n)
		return;
	uint t = gl_LocalInvocationID.x, tx = t & 15u, ty = t >> 4;
	uint ra = t >> 1, ka = (t & 1u) * 4u, rb = t >> 5;
	vec4 acc[8][2];
	[[unroll]] for (uint i = 0u; i < 8u; i++)
		acc[i][0] = acc[i][1] = vec4(0.0);
	vec4 va, vb;
	if (m0 + 128u <= pc.m && n0 + 128u <= pc.n && (pc.k & 7u) == 0u && (pc.n & 3u) == 0u) {
		uint qa = ((m0 + ra) * pc.k + ka) >> 2, qb = ((rb * pc.n + n0) >> 2) + (t & 31u);
		va = quad_a(qa);
		vb = quad_b(qb);
		for (uint k0 = 0u; k0 < pc.k; k0 += 8u) {
			STAGE(va, vb)
			barrier();
			if (k0 + 8u < pc.k) {
				qa += 2u;
				qb += 2u * pc.n;
				va = quad_a(qa);
				vb = quad_b(qb);
			}
			MULTIPLY_SLICE()
			barrier();
		}
		[[unroll]] for (uint i = 0u; i < 8u; i++) {
			uint q = ((m0 + (i < 4u ? ty * 4u + i : 60u + ty * 4u + i)) * pc.n + n0) >> 2;
			c4[q + tx] = acc[i][0];
			c4[q + 16u + tx] = acc[i][1];
		}
		return;
	}
	va = load_a(m0 + ra, ka);
	vb = load_b(rb, n0 + (t & 31u) * 4u);
	for (uint k0 = 0u; k0 < pc.k; k0 += 8u) {
		STAGE(va, vb)
		barrier();
		uint k1 = k0 + 8u;
		if (k1 < pc.k) {
			va = load_a(m0 + ra, k1 + ka);
			vb = load_b(k1 + rb, n0 + (t & 31u) * 4u);
		}
		MULTIPLY_SLICE()
		barrier();
	}
	[[unroll]] for (uint i = 0u; i < 8u; i++) {
		uint row = m0 + (i < 4u ? ty * 4u + i : 60u + ty * 4u + i);
		store_row(row, n0 + tx * 4u, acc[i][0]);
		store_row(row, n0 + 64u + tx * 4u, acc[i][1]);
	}
}
