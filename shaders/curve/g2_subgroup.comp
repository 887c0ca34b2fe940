#version 450
// out[i] = psi(P) + [-z] P for G2 affine points P = a[i] ((x, y), all zeros for the
// identity, padded to 36 words; Montgomery form), in blst's Jacobian layout: the identity
// exactly when P is in the prime-order subgroup. This is blst's test (POINTonE2_in_G2 in
// src/map_to_g2.c, after Scott, https://eprint.iacr.org/2021/1130): P is in G2 iff
// psi(P) = [z] P, psi the endomorphism of g2.glsl. The host reads the point back (checked
// on the curve) and tests it for the identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 18u
#define G2_EXTRA_REGISTERS 4
#define G2_SQUARE_STEPS
#include "curve.glsl"
#include "g2.glsl"
// psi's coefficients, Fq2 registers.
#define G2_R_PSI_X 38u
#define G2_R_PSI_Y 40u

// P in homogeneous coordinates in X2.. (the base): (x : y : 1), or (0 : 1 : 0) for the
// identity (g2_flag; all-zero coordinates would stay all zero under the formulas). The
// accumulator X1.. starts at P.
const uint PRE[] = uint[](
    G2_SELF(Y2, ONE, Y2), G2_SELF(Z2, ZERO, ONE),
    G2_COPY(X1, X2), G2_COPY(Y1, Y2), G2_COPY(Z1, Z2));
// The accumulator is Jacobian (P's homogeneous (x : y : 1) and (0 : 1 : 0) are Jacobian as
// they stand): doublings in Jacobian coordinates (curve.glsl's JACOBIAN_DOUBLE, about 60%
// of RCB_DOUBLE's products in G2, 80% in G1), additions of P through homogeneous
// coordinates and the complete RCB_ADD.
const uint DOUBLE[] = uint[](G2_PROGRAM_JACOBIAN_DOUBLE);
const uint ADD[] = uint[](
    G2_PROGRAM_FROM_JACOBIAN_1, G2_PROGRAM_ADD, G2_PROGRAM_TO_JACOBIAN_3,
    G2_COPY(X1, X3), G2_COPY(Y1, Y3), G2_COPY(Z1, Z3));
// X1.. = [-z] P, made homogeneous; X2.. = psi(P) = (conj(X) psi_x : conj(Y) psi_y : Z) (Z is
// 1 or 0, its own conjugate); X3.. = their sum, as Jacobian.
const uint POST[] = uint[](
    G2_PROGRAM_FROM_JACOBIAN_1,
    G2_INSN(G2_OP_SUB, G2_R_X2 + 1u, G2_R_ZERO, G2_R_X2 + 1u, 0u), G2_MUL(X2, X2, PSI_X),
    G2_INSN(G2_OP_SUB, G2_R_Y2 + 1u, G2_R_ZERO, G2_R_Y2 + 1u, 0u), G2_MUL(Y2, Y2, PSI_Y),
    G2_PROGRAM_ADD, G2_PROGRAM_TO_JACOBIAN_3);

const uint EXPONENT[] = CURVE_MINUS_Z;

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    g2_reg[G2_R_PSI_X] = FQ_ZERO;
    g2_reg[G2_R_PSI_X + 1u] = G2_PSI_X_C1;
    g2_reg[G2_R_PSI_Y] = G2_PSI_Y_C0;
    g2_reg[G2_R_PSI_Y + 1u] = G2_PSI_Y_C1;
    // x and y, 4 Fq elements, into X2 and Y2 (adjacent registers).
    bool all_zero = true;
    for (uint e = 0u; e < 4u; ++e) {
        CURVE_LOAD_FQ(in0, i, e, g2_reg[G2_R_X2 + e]);
        all_zero = all_zero && fq_is_zero(g2_reg[G2_R_X2 + e]);
    }
    g2_flag = all_zero;
    CURVE_RUN_CHAIN(g2_step, PRE, DOUBLE, ADD, POST, EXPONENT, CURVE_MINUS_Z_TOP);
    g2_store_result(i);
}
