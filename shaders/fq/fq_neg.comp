#version 450
// out[i] = -a[i] mod p (0 for 0; canonical, the same in Montgomery form).
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#include "fq.glsl"

// Workgroup size from specialization constant 1 (see fq_add.comp).
layout(local_size_x_id = 1) in;

FQ_INPUT(0, InA, a);
FQ_OUTPUT(1, Out, out_r);
FQ_PARAMS;

void main() {
    uint i = element_index(params.row_stride);
    if (i >= params.count) {
        return; // past the end of the batch in the last workgroup
    }
    uint xa[12], r[12];
    FQ_LOAD(a, i, xa);
    fq_neg(xa, r);
    FQ_STORE(out_r, i, r);
}
