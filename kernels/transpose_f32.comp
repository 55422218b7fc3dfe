// transpose_f32: out (cols x rows) = transpose of in (rows x cols), both
// row-major. Dispatch (ceil(cols / 16), ceil(rows / 16), 1): a group per
// 16x16 tile, staged in shared memory (rows padded against bank
// conflicts). A transpose waits on memory, and a group can have no more
// than its tile's loads in flight, so what counts is how many groups an SM
// holds: groups of 16 x ROWS, each invocation moving 16 / ROWS elements.
// At 4 rows (64 invocations) the H200 ran 3354 GB/s at 16384^2, against
// 1967 with groups of 256 (an SM holds at most 32 groups: 8 of 256 filled
// it), 3184 at 2 and 2988 at 8 (docs/BENCHMARKS.md).
#version 450
#extension GL_EXT_control_flow_attributes : require
const uint ROWS = 4u;
layout(local_size_x = 16, local_size_y = ROWS) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } pc;

shared float tile[16][17];

void main()
{
	uvec2 l = gl_LocalInvocationID.xy;
	uint c = gl_WorkGroupID.x * 16u + l.x;
	[[unroll]] for (uint i = 0u; i < 16u; i += ROWS) {
		uint r = gl_WorkGroupID.y * 16u + l.y + i;
		if (r < pc.rows && c < pc.cols)
			tile[l.y + i][l.x] = x[r * pc.cols + c];
	}
	barrier();
	// Written transposed: the group's tile lands at (col block, row block).
	uint ocol = gl_WorkGroupID.y * 16u + l.x;
	[[unroll]] for (uint i = 0u; i < 16u; i += ROWS) {
		uint orow = gl_WorkGroupID.x * 16u + l.y + i;
		if (orow < pc.cols && ocol < pc.rows)
			o[orow * pc.rows + ocol] = tile[l.x][l.y + i];
	}
}
