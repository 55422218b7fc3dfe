// A binding number past what gpucmd takes (1023): drivers size a set
// layout by its largest binding number.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 5000) buffer O { float o[]; };
void main()
{
	o[0] = 1.0;
}
