// What the G1 and G2 kernels share: the element-wise kernel shape (vk-backend's interface),
// Montgomery-form constants, and the complete formulas of Renes, Costello and Batina,
// "Complete addition formulas for prime order elliptic curves" (EUROCRYPT 2016),
// Algorithms 7 (addition), 8 (mixed addition) and 9 (doubling) for a = 0, in homogeneous
// projective coordinates (x = X/Z, y = Y/Z, identity (0 : 1 : 0)).
//
// The formulas are complete on a whole group E(F), not only on its prime-order subgroup,
// when E(F) has no point of order 2: true for both groups, whose orders (cofactor times r)
// are odd. So one branch-free sequence is right for the identity, P + P and P + (-P), and
// every invocation follows the same path.
//
// Why the formulas are step lists for an interpreter (g1.glsl, g2.glsl) and not straight-line
// code: fq_mont_mul is fully unrolled (~1000 instructions), and straight-line formulas inline
// one copy per multiplication. shaderc's optimizer (spirv-opt -O) took 24 GB and overflowed
// its stack on the ~14 copies of one G1 doubling. A step list runs through one loop that
// holds the only copy of each Fq operation: small SPIR-V, quick pipeline builds. The cost is
// a register file indexed at run time (local memory on most GPUs): correctness first, speed
// later.
//
// An element-wise kernel defines CURVE_KERNEL_INPUTS (1 or 2) and CURVE_POINT_VEC4 (uvec4
// per element: 9 for G1, 18 for G2) and includes this file, then g1.glsl or g2.glsl. A
// general kernel (the MSM's, through msm.glsl) defines only CURVE_POINT_VEC4 and declares
// its own buffers.

#ifndef CURVE_GLSL
#define CURVE_GLSL

#include "fq.glsl"

#ifdef CURVE_KERNEL_INPUTS
FQ_INPUT(0, In0, in0);
#if CURVE_KERNEL_INPUTS > 1
FQ_INPUT(1, In1, in1);
#endif
FQ_OUTPUT(CURVE_KERNEL_INPUTS, Out, out_r);
FQ_PARAMS;

// The status word (vk-backend's element-wise interface: the binding after the output).
layout(std430, set = 0, binding = CURVE_KERNEL_INPUTS + 1) buffer Status { uint curve_status; };
// Its bit for a coordinate >= p in a result (as elementwise.glsl's).
#define CURVE_STATUS_NOT_CANONICAL 1u

// Workgroup size from specialization constant 1 (constant id 0 is reported to fail on
// NVIDIA).
layout(local_size_x_id = 1) in;

// Invocations past the end of the batch (in the last workgroup) return: every buffer access
// after this is at an element index < count, and each invocation touches only its own
// element (CURVE_POINT_VEC4 uvec4 from CURVE_POINT_VEC4 * i) and the status word.
#define CURVE_BEGIN                              \
    uint i = element_index(params.row_stride);   \
    if (i >= params.count) {                     \
        return;                                  \
    }

#endif

// Fq element `e_` (0, 1, ...: 3 uvec4 each) of point `index_` in the uvec4 array `buf_`.
#define CURVE_LOAD_FQ(buf_, index_, e_, w_)                                                  \
    fq_unpack(buf_[CURVE_POINT_VEC4 * (index_) + 3u * (e_)],                                 \
              buf_[CURVE_POINT_VEC4 * (index_) + 3u * (e_) + 1u],                            \
              buf_[CURVE_POINT_VEC4 * (index_) + 3u * (e_) + 2u], w_)
#define CURVE_STORE_FQ(buf_, index_, e_, w_)                                                 \
    fq_pack(w_, buf_[CURVE_POINT_VEC4 * (index_) + 3u * (e_)],                               \
            buf_[CURVE_POINT_VEC4 * (index_) + 3u * (e_) + 1u],                              \
            buf_[CURVE_POINT_VEC4 * (index_) + 3u * (e_) + 2u])

#ifdef CURVE_KERNEL_INPUTS
// Stores `w` as Fq element `e` of output point `i`, flagging a value >= p (a kernel bug or
// a hardware fault) in the status word as the Fq kernels do. The host checks every result
// again when it turns it back into a point.
void curve_store_checked(uint i, uint e, in uint w[12]) {
    if (!fq_is_canonical(w)) {
        atomicOr(curve_status, CURVE_STATUS_NOT_CANONICAL);
    }
    CURVE_STORE_FQ(out_r, i, e, w);
}
#endif

// 1 in Montgomery form (R mod p).
const uint FQ_MONT_ONE[12] = uint[12](
    0x0002fffdu, 0x76090000u, 0xc40c0002u, 0xebf4000bu,
    0x53c758bau, 0x5f489857u, 0x70525745u, 0x77ce5853u,
    0xa256ec6du, 0x5c071a97u, 0xfa80e493u, 0x15f65ec3u);

// 12 in Montgomery form (12 R mod p): both halves of G2's b3 = 3 * 4(u + 1) (G1's b3 = 12
// is a B3 step of additions).
const uint FQ_MONT_TWELVE[12] = uint[12](
    0x0027552eu, 0x44760000u, 0x43480020u, 0xdcb8009au,
    0x4a6e8b59u, 0x6f7ee9ceu, 0xc0a95bc6u, 0xb10330b7u,
    0xfb1e54b7u, 0x6140b1fcu, 0x7f0bb4e1u, 0x0381be09u);

const uint FQ_ZERO[12] = uint[12](0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);

bool fq_is_zero(in uint a[12]) {
    uint acc = 0u;
    for (int i = 0; i < 12; ++i) {
        acc |= a[i];
    }
    return acc == 0u;
}

// Fixed exponents (little-endian 32-bit words) for CURVE_RUN_CHAIN, as array constructors
// for a kernel's own const array (`const uint EXPONENT[] = CURVE_P_MINUS_2;`): macros
// rather than consts here, so that the kernels which do not use them (every kernel includes
// this file) keep their SPIR-V byte for byte (an unused const still takes result ids).
//
// p - 2: z^(p-2) = z^-1 for z != 0 (Fermat), and 0 for z = 0. Its top bit is bit 380.
#define CURVE_P_MINUS_2 uint[12](                              \
    0xffffaaa9u, 0xb9feffffu, 0xb153ffffu, 0x1eabfffeu,        \
    0xf6b0f624u, 0x6730d2a0u, 0xf38512bfu, 0x64774b84u,        \
    0x434bacd7u, 0x4b1ba7b6u, 0x397fe69au, 0x1a0111eau)
#define CURVE_P_MINUS_2_TOP 380
// -z = 0xd201000000010000 (z, the BLS parameter, is negative): top bit 63, 6 bits set.
#define CURVE_MINUS_Z uint[2](0x00010000u, 0xd2010000u)
#define CURVE_MINUS_Z_TOP 63
// z^2 = 0xac45a4010001a4020000000100000000: top bit 127, 17 bits set. One chain over z^2
// takes 127 doublings and 16 additions, about what two chains over -z take (126 and 10).
#define CURVE_Z_SQUARED uint[4](0x00000000u, 0x00000001u, 0x0001a402u, 0xac45a401u)
#define CURVE_Z_SQUARED_TOP 127

// Whether bit `bit_` of the little-endian 32-bit words `words_` is set.
#define CURVE_BIT(words_, bit_) (((words_[(bit_) >> 5] >> uint((bit_) & 31)) & 1u) != 0u)

// A chain over a fixed exponent (square-and-multiply, double-and-add), MSB first, as ONE
// loop around ONE call of STEP_ (the g1_step / g2_step interpreter; see curve.glsl's header
// for why there must be only one): runs the steps of PRE_, then for each bit of EXP_ below
// its top bit TOP_ (bit TOP_ - 1 down to 0) those of DBL_ and, where the bit is set, those
// of ADD_, then those of POST_. PRE_ starts the accumulator at the base (the top bit's
// share); POST_ uses the result. Each is a const uint array of at least one step; EXP_ is
// a const uint array of 32-bit words, least significant first.
//
// Only the set bits pay for ADD_ (p - 2 has 229 of 381, -z 6 of 64), unlike the select of
// g1_mul.comp, which pays for an addition every round: that kernel's scalar varies, these
// exponents are constants. Every invocation runs the same steps.
#define CURVE_RUN_CHAIN(STEP_, PRE_, DBL_, ADD_, POST_, EXP_, TOP_) {                        \
    /* seg_: 0 PRE_, 1 DBL_, 2 ADD_, 3 POST_, 4 done; k_: step within it. */                 \
    int seg_ = 0;                                                                            \
    int k_ = 0;                                                                              \
    int bit_ = (TOP_) - 1;                                                                   \
    [[dont_unroll]] while (seg_ < 4) {                                                       \
        uint insn_;                                                                          \
        int len_;                                                                            \
        if (seg_ == 0) {                                                                     \
            insn_ = PRE_[k_];                                                                \
            len_ = PRE_.length();                                                            \
        } else if (seg_ == 1) {                                                              \
            insn_ = DBL_[k_];                                                                \
            len_ = DBL_.length();                                                            \
        } else if (seg_ == 2) {                                                              \
            insn_ = ADD_[k_];                                                                \
            len_ = ADD_.length();                                                            \
        } else {                                                                             \
            insn_ = POST_[k_];                                                               \
            len_ = POST_.length();                                                           \
        }                                                                                    \
        STEP_(insn_);                                                                        \
        if (++k_ == len_) {                                                                  \
            k_ = 0;                                                                          \
            if (seg_ == 1 && CURVE_BIT(EXP_, bit_)) {                                        \
                seg_ = 2;                                                                    \
            } else if (seg_ == 3) {                                                          \
                seg_ = 4;                                                                    \
            } else {                                                                         \
                /* After PRE_ (bit_ is already the first bit below the top), DBL_ of a */    \
                /* clear bit, or ADD_: on to the next bit's DBL_, or to POST_. */            \
                if (seg_ != 0) {                                                             \
                    --bit_;                                                                  \
                }                                                                            \
                seg_ = bit_ >= 0 ? 1 : 3;                                                    \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
}

#ifdef CURVE_KERNEL_INPUTS
// Stores a flag as output element i: word 0 is 1 (true) or 0 (false), every other word 0.
// The host accepts nothing else.
void curve_store_flag(uint i, bool flag) {
    for (uint v = 0u; v < CURVE_POINT_VEC4; ++v) {
        out_r[CURVE_POINT_VEC4 * i + v] = uvec4(v == 0u && flag ? 1u : 0u, 0u, 0u, 0u);
    }
}
#endif

// The formulas as step lists over named registers, for a group's step macros ADD, SUB, MUL
// (d = a op b), SELZ (d = c == 0 ? a : b), COPY (d = a) and B3 (d = 3b a: a product by the
// b3 register, or additions). Registers: X1 Y1 Z1 and X2 Y2 Z2 the operands, X3 Y3 Z3 the
// result, t0..t4 temporaries, ONE, and in G2 b3, the curve constant 3b.

// Jacobian (X, Y, Z) -> homogeneous (X Z, Y, Z^3) in place: x = X Z / Z^3 = X / Z^2, y =
// Y / Z^3. A Jacobian identity (Z = 0) becomes (0 : 1 : 0): blst's identity is all zeros,
// on which the formulas would give (0, 0, 0) forever.
#define RCB_FROM_JACOBIAN(ADD, SUB, MUL, SELZ, COPY, X, Y, Z) \
    MUL(t0, Z, Z), MUL(t1, t0, Z), MUL(X, X, Z), SELZ(Y, Z, ONE, Y), COPY(Z, t1)

// Homogeneous (X3 : Y3 : Z3) -> Jacobian (X3 Z3, Y3 Z3^2, Z3) in place: x = X Z / Z^2 =
// X / Z, y = Y Z^2 / Z^3 = Y / Z. The identity (0 : Y : 0) becomes (0, 0, 0), blst's.
#define RCB_TO_JACOBIAN(ADD, SUB, MUL, SELZ, COPY) \
    MUL(t0, Z3, Z3), MUL(X3, X3, Z3), MUL(Y3, Y3, t0)

// (X3 : Y3 : Z3) = (X1 : Y1 : Z1) + (X2 : Y2 : Z2): RCB Algorithm 7, step for step.
#define RCB_ADD(ADD, SUB, MUL, SELZ, COPY, B3) \
    MUL(t0, X1, X2), MUL(t1, Y1, Y2), MUL(t2, Z1, Z2), \
    ADD(t3, X1, Y1), ADD(t4, X2, Y2), MUL(t3, t3, t4), \
    ADD(t4, t0, t1), SUB(t3, t3, t4), ADD(t4, Y1, Z1), \
    ADD(X3, Y2, Z2), MUL(t4, t4, X3), ADD(X3, t1, t2), \
    SUB(t4, t4, X3), ADD(X3, X1, Z1), ADD(Y3, X2, Z2), \
    MUL(X3, X3, Y3), ADD(Y3, t0, t2), SUB(Y3, X3, Y3), \
    ADD(X3, t0, t0), ADD(t0, X3, t0), B3(t2, t2), \
    ADD(Z3, t1, t2), SUB(t1, t1, t2), B3(Y3, Y3), \
    MUL(X3, t4, Y3), MUL(t2, t3, t1), SUB(X3, t2, X3), \
    MUL(Y3, Y3, t0), MUL(t1, t1, Z3), ADD(Y3, t1, Y3), \
    MUL(t0, t0, t3), MUL(Z3, Z3, t4), ADD(Z3, Z3, t0)

// (X3 : Y3 : Z3) = (X1 : Y1 : Z1) + (X2 : Y2 : 1): RCB Algorithm 8. Complete except that the
// affine point cannot be the identity (which has no Z = 1 form): the kernel selects
// (X1 : Y1 : Z1) then. The projective point may be the identity.
#define RCB_ADD_MIXED(ADD, SUB, MUL, SELZ, COPY, B3) \
    MUL(t0, X1, X2), MUL(t1, Y1, Y2), ADD(t3, X2, Y2), \
    ADD(t4, X1, Y1), MUL(t3, t3, t4), ADD(t4, t0, t1), \
    SUB(t3, t3, t4), MUL(t4, Y2, Z1), ADD(t4, t4, Y1), \
    MUL(Y3, X2, Z1), ADD(Y3, Y3, X1), ADD(X3, t0, t0), \
    ADD(t0, X3, t0), B3(t2, Z1), ADD(Z3, t1, t2), \
    SUB(t1, t1, t2), B3(Y3, Y3), MUL(X3, t4, Y3), \
    MUL(t2, t3, t1), SUB(X3, t2, X3), MUL(Y3, Y3, t0), \
    MUL(t1, t1, Z3), ADD(Y3, t1, Y3), MUL(t0, t0, t3), \
    MUL(Z3, Z3, t4), ADD(Z3, Z3, t0)

// (X3 : Y3 : Z3) = 2 (X1 : Y1 : Z1): RCB Algorithm 9 (its X, Y, Z are X1, Y1, Z1 here).
#define RCB_DOUBLE(ADD, SUB, MUL, SELZ, COPY, B3) \
    MUL(t0, Y1, Y1), ADD(Z3, t0, t0), ADD(Z3, Z3, Z3), \
    ADD(Z3, Z3, Z3), MUL(t1, Y1, Z1), MUL(t2, Z1, Z1), \
    B3(t2, t2), MUL(X3, t2, Z3), ADD(Y3, t0, t2), \
    MUL(Z3, t1, Z3), ADD(t1, t2, t2), ADD(t2, t1, t2), \
    SUB(t0, t0, t2), MUL(Y3, t0, Y3), ADD(Y3, X3, Y3), \
    MUL(t1, X1, Y1), MUL(X3, t0, t1), ADD(X3, X3, X3)

// (X1, Y1, Z1) = 2 (X1, Y1, Z1) in Jacobian coordinates, in place (dbl-2009-l of the
// Explicit-Formulas Database, a = 0: 2 products and 5 squarings, where RCB_DOUBLE takes 9
// products, one by b3): A = X^2, B = Y^2, C = B^2, D = 2((X + B)^2 - A - C), E = 3A,
// X3 = E^2 - 2D, Y3 = E(D - X3) - 8C, Z3 = 2 Y Z. Right for every point of either curve:
// neither has a point with Y = 0 (order 2), and Z = 0 (the identity, whatever X and Y)
// stays Z = 0. Not complete for additions, which a chain runs through RCB_ADD instead
// (RCB_FROM_JACOBIAN before, RCB_TO_JACOBIAN after). SQR(d, a) is d = a^2.
#define JACOBIAN_DOUBLE(ADD, SUB, MUL, SQR) \
    SQR(t0, X1), SQR(t1, Y1), MUL(Z1, Y1, Z1), \
    ADD(Z1, Z1, Z1), SQR(t2, t1), ADD(t1, X1, t1), \
    SQR(t1, t1), SUB(t1, t1, t0), SUB(t1, t1, t2), \
    ADD(t1, t1, t1), ADD(t3, t0, t0), ADD(t0, t3, t0), \
    SQR(X1, t0), SUB(X1, X1, t1), SUB(X1, X1, t1), \
    SUB(Y1, t1, X1), MUL(Y1, t0, Y1), ADD(t2, t2, t2), \
    ADD(t2, t2, t2), ADD(t2, t2, t2), SUB(Y1, Y1, t2)

#endif
