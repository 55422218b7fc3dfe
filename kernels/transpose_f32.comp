// transpose_f32: out (cols x rows) = transpose of in (rows x cols), both
// row-major. 16x16 tiles through shared memory (padded against bank
// conflicts). Dispatch (ceil(cols / 16), ceil(rows / 16), 1).
#version 450
layout(local_size_x = 16, local_size_y = 16) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } pc;

shared float tile[16][17];

void main()
{
	uvec2 l = gl_LocalInvocationID.xy;
	uint c = gl_WorkGroupID.x * 16u + l.x;
	uint r = gl_WorkGroupID.y * 16u + l.y;
	if (r < pc.rows && c < pc.cols)
		tile[l.y][l.x] = x[r * pc.cols + c];
	barrier();
	// Written transposed: the group's tile lands at (col block, row block).
	uint orow = gl_WorkGroupID.x * 16u + l.y;
	uint ocol = gl_WorkGroupID.y * 16u + l.x;
	if (orow < pc.cols && ocol < pc.rows)
		o[orow * pc.rows + ocol] = tile[l.x][l.y];
}
