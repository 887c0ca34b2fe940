// One element-wise Fq operation per kernel. A kernel defines FQ_OP_INPUTS (1 to 3) and
// FQ_OP(x, y, z, r), the operation from the loaded inputs x (y, z) into r, optionally
// FQ_TILED (elementwise.glsl), then includes this file. Bindings 0..FQ_OP_INPUTS-1 are the
// inputs, binding FQ_OP_INPUTS the output (vk-backend's element-wise kernel interface).

#ifndef OP_GLSL
#define OP_GLSL

#define FQ_KERNEL_INPUTS FQ_OP_INPUTS
#include "elementwise.glsl"

// Workgroup size from specialization constant 1 (constant id 0 is reported to fail on
// NVIDIA); tiled kernels take at most FQ_TILE_MAX.
layout(local_size_x_id = 1) in;

void main() {
    FQ_BEGIN;
    uint x[12], y[12], z[12], r[12];
    FQ_LOAD_VALUE(in0, x);
#if FQ_OP_INPUTS > 1
    FQ_LOAD_VALUE(in1, y);
#endif
#if FQ_OP_INPUTS > 2
    FQ_LOAD_VALUE(in2, z);
#endif
    FQ_OP(x, y, z, r);
    FQ_STORE_VALUE(out_r, r);
}

#endif
