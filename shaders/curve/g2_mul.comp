#version 450
// out[i] = [k[i]] a[i] for G2 points a[i] in blst's Jacobian layout (Montgomery form) and
// 256-bit scalars k[i] (4 little-endian u64 words, padded to the point's 36): MSB-first
// double-and-add over all 256 bits with the complete formulas (shaders/include/g2.glsl).
// Every round adds, and a select keeps or drops the sum, so every invocation runs the same
// steps whatever its scalar.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 2
#define CURVE_POINT_VEC4 18u
#define G2_NARROW_STEPS
#include "curve.glsl"
#include "g2.glsl"

// The base point lives in X2.., the accumulator in X1.., each round's result in X3...
const uint PROLOGUE[] = uint[](G2_PROGRAM_FROM_JACOBIAN_2);
const uint ROUND[] = uint[](
    G2_PROGRAM_DOUBLE,
    G2_COPY(X1, X3), G2_COPY(Y1, Y3), G2_COPY(Z1, Z3),
    G2_PROGRAM_ADD,
    G2_SELF(X1, X3, X1), G2_SELF(Y1, Y3, Y1), G2_SELF(Z1, Z3, Z1));
const uint EPILOGUE[] = uint[](
    G2_COPY(X3, X1), G2_COPY(Y3, Y1), G2_COPY(Z3, Z1), G2_PROGRAM_TO_JACOBIAN_3);
const int ROUNDS = 256;

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    G2_LOAD_POINT(in0, i, G2_R_X2);
    uvec4 k_lo = in1[CURVE_POINT_VEC4 * i];
    uvec4 k_hi = in1[CURVE_POINT_VEC4 * i + 1u];
    uint k[8] = uint[8](k_lo.x, k_lo.y, k_lo.z, k_lo.w, k_hi.x, k_hi.y, k_hi.z, k_hi.w);
    // The accumulator starts at the identity (0 : 1 : 0).
    for (uint e = 0u; e < 6u; ++e) {
        g2_reg[G2_R_X1 + e] = FQ_ZERO;
    }
    g2_reg[G2_R_Y1] = FQ_MONT_ONE;
    // One loop, one g2_step call (see G2_RUN): step s is in the prologue, in round
    // (s - prologue) / round length, or in the epilogue.
    const int pro = PROLOGUE.length();
    const int len = ROUND.length();
    const int steps = pro + ROUNDS * len + EPILOGUE.length();
    [[dont_unroll]] for (int s = 0; s < steps; ++s) {
        uint insn;
        if (s < pro) {
            insn = PROLOGUE[s];
        } else if (s < pro + ROUNDS * len) {
            int round = (s - pro) / len;
            // Round 0 takes bit 255.
            int bit = 255 - round;
            g2_flag = ((k[bit >> 5] >> uint(bit & 31)) & 1u) != 0u;
            insn = ROUND[(s - pro) % len];
        } else {
            insn = EPILOGUE[s - pro - ROUNDS * len];
        }
        g2_step(insn);
    }
    g2_store_result(i);
}
