// The bases of MSMs whose scalars are split by an endomorphism (include after defining
// MSM_G1 or MSM_G2; crates/curve-bls12/src/gpu.rs, Group::SPLIT): invocation i writes base
// i = [|z|^d] P for d = i % digits and P = point i / digits. In G1 (two digits) that is P
// and [z^2] P = -sigma^2(P) = (beta^2 x, -y); in G2 (four) (-1)^d psi^d(P), with psi(x, y)
// = (conj(x) c_x, conj(y) c_y) (g2.glsl). Both are multiplications only on the prime-order
// subgroup, which is all the split needs. Points and bases are packed affine (x, y),
// MSM_AFFINE_VEC4 uvec4 each, all zeros for the identity, which every map keeps. The host
// uploads the points alone: a quarter (G2) or half (G1) of the bases' bytes, and none of
// the endomorphisms' products.
//
// Buffers: 0 points, 1 bases. Arguments: 0 digits (the group's: G1 2, G2 4).

#extension GL_GOOGLE_include_directive : require
#include "msm.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Points { uvec4 points[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Bases { uvec4 bases[]; };

#if defined(MSM_G1)
#define G1_R_BETA G1_R_XR
// [z^2] (x, y) = (beta^2 x, -y): digit 1's steps.
const uint MAP[] = uint[](G1_MUL(X1, X1, BETA), G1_MUL(X1, X1, BETA), G1_SUB(Y1, ZERO, Y1));
// Steps for digit d: the map once for digit 1 (the tail is never reached).
#define SPLIT_STEPS(d_) (uint(MAP.length()) * (d_))
const uint TAIL = G1_SUB(Y1, ZERO, Y1);
#else
#define G2_R_PSI_X G2_R_XR
#define G2_R_PSI_Y G2_R_YR
// psi: (x, y) -> (conj(x) c_x, conj(y) c_y).
const uint MAP[] = uint[](
    G2_INSN(G2_OP_SUB, G2_R_X1 + 1u, G2_R_ZERO, G2_R_X1 + 1u, 0u), G2_MUL(X1, X1, PSI_X),
    G2_INSN(G2_OP_SUB, G2_R_Y1 + 1u, G2_R_ZERO, G2_R_Y1 + 1u, 0u), G2_MUL(Y1, Y1, PSI_Y));
// Steps for digit d: psi d times, then the negation of an odd digit (the tail).
#define SPLIT_STEPS(d_) (uint(MAP.length()) * (d_) + ((d_) & 1u))
const uint TAIL = G2_SUB(Y1, ZERO, Y1);
#endif

void main() {
    uint i = element_index(params.row_stride);
    uint digits = params.args[0];
    if (i >= params.count || digits == 0u || i >= uint(bases.length()) / MSM_AFFINE_VEC4) {
        return;
    }
    uint p = i / digits;
    uint d = i % digits;
    if (p >= uint(points.length()) / MSM_AFFINE_VEC4) {
        return;
    }
    P_INIT();
#if defined(MSM_G1)
    P_REG[G1_R_BETA] = G1_BETA;
#else
    P_REG[G2_R_PSI_X] = FQ_ZERO;
    P_REG[G2_R_PSI_X + 1u] = G2_PSI_X_C1;
    P_REG[G2_R_PSI_Y] = G2_PSI_Y_C0;
    P_REG[G2_R_PSI_Y + 1u] = G2_PSI_Y_C1;
#endif
    // x then y: 2 MSM_FQC Fq elements from register X1 on (Y1 follows X1 in both groups).
    for (uint f = 0u; f < 2u * MSM_FQC; ++f) {
        uint at = MSM_AFFINE_VEC4 * p + 3u * f;
        fq_unpack(points[at], points[at + 1u], points[at + 2u], P_REG[P_R(X1) + f]);
    }
    uint steps = SPLIT_STEPS(d);
    uint map_steps = uint(MAP.length()) * d;
    // One call of the step function (see curve.glsl on why one).
    [[dont_unroll]] for (uint s = 0u; s < steps; ++s) {
        P_STEP(s < map_steps ? MAP[s % uint(MAP.length())] : TAIL);
    }
    for (uint f = 0u; f < 2u * MSM_FQC; ++f) {
        uint at = MSM_AFFINE_VEC4 * i + 3u * f;
        fq_pack(P_REG[P_R(X1) + f], bases[at], bases[at + 1u], bases[at + 2u]);
    }
}
