#version 450
// out[i] = a[i] * b[i] + c[i] mod p on canonical values.
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#include "fq.glsl"

// Workgroup size from specialization constant 1 (see fq_add.comp).
layout(local_size_x_id = 1) in;

FQ_INPUT(0, InA, a);
FQ_INPUT(1, InB, b);
FQ_INPUT(2, InC, c);
FQ_OUTPUT(3, Out, out_r);
FQ_PARAMS;

void main() {
    uint i = element_index(params.row_stride);
    if (i >= params.count) {
        return; // past the end of the batch in the last workgroup
    }
    uint xa[12], xb[12], xc[12], r[12];
    FQ_LOAD(a, i, xa);
    FQ_LOAD(b, i, xb);
    FQ_LOAD(c, i, xc);
    fq_fma(xa, xb, xc, r);
    FQ_STORE(out_r, i, r);
}
