#version 450
// out[i] = a[i] + b[i] for G2 points a[i] in blst's Jacobian layout and affine b[i] ((x, y),
// (0, 0) for the identity, padded to 36 words), Montgomery form: the complete mixed
// addition (shaders/include/g2.glsl), and a[i] itself when b[i] is the identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 2
#define CURVE_POINT_VEC4 18u
#include "curve.glsl"
#include "g2.glsl"

const uint PROGRAM[] = uint[](
    G2_PROGRAM_FROM_JACOBIAN_1, G2_PROGRAM_ADD_MIXED,
    G2_SELF(X3, X1, X3), G2_SELF(Y3, Y1, Y3), G2_SELF(Z3, Z1, Z3),
    G2_PROGRAM_TO_JACOBIAN_3);

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    G2_LOAD_POINT(in0, i, G2_R_X1);
    // x and y, 4 Fq elements, into X2 and Y2 (adjacent registers).
    bool all_zero = true;
    for (uint e = 0u; e < 4u; ++e) {
        CURVE_LOAD_FQ(in1, i, e, g2_reg[G2_R_X2 + e]);
        all_zero = all_zero && fq_is_zero(g2_reg[G2_R_X2 + e]);
    }
    g2_flag = all_zero;
    G2_RUN(PROGRAM);
    g2_store_result(i);
}
