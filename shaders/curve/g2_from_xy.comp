#version 450
// out[i] = whether (x[i], y[i]) is on G2's curve, y^2 = x^3 + 4(u + 1), for coordinates in
// Montgomery form ((x, y), each an Fq2, padded with zeros to the point's 36 words): a flag,
// 1 in word 0 when it is, 0 when not, every other word 0. (0, 0) is not on the curve
// (b != 0), and is flagged so, as the CPU's from_xy rejects it.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 18u
#include "curve.glsl"
#include "g2.glsl"

// t0 = y^2 - (x^3 + b), with b = 4 + 4u built from the constant 1 in Montgomery form
// (1 + 1 = 2, 2 + 2 = 4, then c1 = c0 + 0) rather than a new constant.
const uint PROGRAM[] = uint[](
    G2_MUL(t0, Y1, Y1), G2_MUL(t1, X1, X1), G2_MUL(t1, t1, X1),
    G2_INSN(G2_OP_ADD, G2_R_t2, G2_R_ONE, G2_R_ONE, 0u),
    G2_INSN(G2_OP_ADD, G2_R_t2, G2_R_t2, G2_R_t2, 0u),
    G2_INSN(G2_OP_ADD, G2_R_t2 + 1u, G2_R_t2, G2_R_ZERO, 0u),
    G2_ADD(t1, t1, t2), G2_SUB(t0, t0, t1));

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    // x and y, 4 Fq elements, into X1 and Y1 (adjacent registers).
    for (uint e = 0u; e < 4u; ++e) {
        CURVE_LOAD_FQ(in0, i, e, g2_reg[G2_R_X1 + e]);
    }
    G2_RUN(PROGRAM);
    curve_store_flag(i, fq_is_zero(g2_reg[G2_R_t0]) && fq_is_zero(g2_reg[G2_R_t0 + 1u]));
}
