#version 450
// out[i] = -a[i] for G2 points in blst's Jacobian layout (Montgomery form): (X, -Y, Z) in
// every coordinate system; the identity stays the identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 18u
#include "curve.glsl"
#include "g2.glsl"

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    G2_LOAD_POINT(in0, i, G2_R_X3);
    // -(c0 + c1 u) = -c0 - c1 u.
    for (uint e = 0u; e < 2u; ++e) {
        uint y[12] = g2_reg[G2_R_Y3 + e];
        fq_neg(y, g2_reg[G2_R_Y3 + e]);
    }
    g2_store_result(i);
}
