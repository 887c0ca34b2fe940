#version 450
// out[i] = whether (x[i], y[i]) is on G1's curve, y^2 = x^3 + 4, for coordinates in
// Montgomery form ((x, y) padded with zeros to the point's 18 words): a flag, 1 in word 0
// when it is, 0 when not, every other word 0. (0, 0) is not on the curve (b != 0), and is
// flagged so, as the CPU's from_xy rejects it.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 9u
#include "curve.glsl"
#include "g1.glsl"

// t0 = y^2 - (x^3 + b), with b = 4 as 1 + 1 + 1 + 1 in Montgomery form (no new constant).
const uint PROGRAM[] = uint[](
    G1_MUL(t0, Y1, Y1), G1_MUL(t1, X1, X1), G1_MUL(t1, t1, X1),
    G1_ADD(t2, ONE, ONE), G1_ADD(t2, t2, t2), G1_ADD(t1, t1, t2), G1_SUB(t0, t0, t1));

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    CURVE_LOAD_FQ(in0, i, 0u, g1_reg[G1_R_X1]);
    CURVE_LOAD_FQ(in0, i, 1u, g1_reg[G1_R_Y1]);
    G1_RUN(PROGRAM);
    curve_store_flag(i, fq_is_zero(g1_reg[G1_R_t0]));
}
