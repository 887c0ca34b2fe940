// What the multi-scalar-multiplication kernels share (crates/curve-bls12/src/gpu_msm.rs
// drives them): the general-kernel push constants (vk-backend's KernelDesc::general), the
// signed-digit recoding of 256-bit scalars, and, for the point kernels (MSM_G1 or MSM_G2
// defined), one set of names over G1's or G2's step interpreter.
//
// Every kernel here is a general kernel: it checks each index against its buffer's
// length(), whatever the arguments, so no argument can make it touch memory outside its
// buffers.

#ifndef MSM_GLSL
#define MSM_GLSL

#include "index.glsl"

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

// Digit `j` of the signed recoding of the 256-bit scalar `k` (8 little-endian words) in
// windows of `c` bits (1 <= c <= 16): raw = bits [j c, j c + c) + carry, and a raw value
// above 2^(c-1) becomes raw - 2^c with a carry into the next window. Digits lie in
// (-2^(c-1), 2^(c-1)], so window j's buckets are the magnitudes 1 ..= 2^(c-1); with
// ceil(257 / c) windows the last one's top bit is 0 and no carry is left.
int msm_digit(in uint k[8], uint j, uint c, inout uint carry) {
    uint pos = j * c;
    uint raw = 0u;
    if (pos < 256u) {
        uint w = pos >> 5u;
        uint off = pos & 31u;
        raw = k[w] >> off;
        if (off + c > 32u && w + 1u < 8u) {
            raw |= k[w + 1u] << (32u - off);
        }
        raw &= (1u << c) - 1u;
    }
    raw += carry;
    if (raw > (1u << (c - 1u))) {
        carry = 1u;
        return int(raw) - int(1u << c);
    }
    carry = 0u;
    return int(raw);
}

#if defined(MSM_G1) || defined(MSM_G2)

#if defined(MSM_G1)
#define CURVE_POINT_VEC4 9u
// Two more points of registers: R (a running sum) and A (an accumulator).
#define G1_EXTRA_REGISTERS 6
#include "curve.glsl"
#include "g1.glsl"
#define G1_R_XR (G1_R_EXTRA + 0u)
#define G1_R_YR (G1_R_EXTRA + 1u)
#define G1_R_ZR (G1_R_EXTRA + 2u)
#define G1_R_XA (G1_R_EXTRA + 3u)
#define G1_R_YA (G1_R_EXTRA + 4u)
#define G1_R_ZA (G1_R_EXTRA + 5u)
// Fq elements per point and per coordinate.
#define MSM_FQS 3u
#define MSM_FQC 1u
// uvec4 per packed affine base (x, y).
#define MSM_AFFINE_VEC4 6u
#define P_REG g1_reg
#define P_STEP g1_step
#define P_FLAG g1_flag
#define P_INIT g1_init_registers
#define P_R(r_) G1_R_##r_
#define P_COPY G1_COPY
#define P_SELF G1_SELF
#define P_PROGRAM_ADD G1_PROGRAM_ADD
#define P_PROGRAM_ADD_MIXED G1_PROGRAM_ADD_MIXED
#define P_PROGRAM_DOUBLE G1_PROGRAM_DOUBLE
#else
#define CURVE_POINT_VEC4 18u
#define G2_EXTRA_REGISTERS 12
#include "curve.glsl"
#include "g2.glsl"
#define G2_R_XR 38u
#define G2_R_YR 40u
#define G2_R_ZR 42u
#define G2_R_XA 44u
#define G2_R_YA 46u
#define G2_R_ZA 48u
#define MSM_FQS 6u
#define MSM_FQC 2u
#define MSM_AFFINE_VEC4 12u
#define P_REG g2_reg
#define P_STEP g2_step
#define P_FLAG g2_flag
#define P_INIT g2_init_registers
#define P_R(r_) G2_R_##r_
#define P_COPY G2_COPY
#define P_SELF G2_SELF
#define P_PROGRAM_ADD G2_PROGRAM_ADD
#define P_PROGRAM_ADD_MIXED G2_PROGRAM_ADD_MIXED
#define P_PROGRAM_DOUBLE G2_PROGRAM_DOUBLE
#endif

// Steps copying point registers s_ (X##s_, Y##s_, Z##s_) into d_.
#define P_COPY_POINT(d_, s_) P_COPY(X##d_, X##s_), P_COPY(Y##d_, Y##s_), P_COPY(Z##d_, Z##s_)

// Whether the uvec4 array `buf_` holds point `index_` whole.
#define MSM_HAS_POINT(buf_, index_) ((index_) < uint(buf_.length()) / CURVE_POINT_VEC4)
// Point `index_` of `buf_` into the registers from `r_` (MSM_FQS Fq elements), and back.
#define MSM_LOAD_POINT(buf_, index_, r_)                            \
    for (uint e_ = 0u; e_ < MSM_FQS; ++e_) {                        \
        CURVE_LOAD_FQ(buf_, index_, e_, P_REG[(r_) + e_]);          \
    }
#define MSM_STORE_POINT(buf_, index_, r_)                           \
    for (uint e_ = 0u; e_ < MSM_FQS; ++e_) {                        \
        CURVE_STORE_FQ(buf_, index_, e_, P_REG[(r_) + e_]);         \
    }
#define MSM_STORE_ZERO(buf_, index_)                                \
    for (uint w_ = 0u; w_ < CURVE_POINT_VEC4; ++w_) {               \
        buf_[CURVE_POINT_VEC4 * (index_) + w_] = uvec4(0u);         \
    }

// The homogeneous identity (0 : 1 : 0) into the point registers from r.
void msm_set_identity(uint r) {
    for (uint e = 0u; e < MSM_FQS; ++e) {
        P_REG[r + e] = FQ_ZERO;
    }
    P_REG[r + MSM_FQC] = FQ_MONT_ONE;
}

// Intermediate points are homogeneous (X : Y : Z); all zeros is a slot nothing wrote (the
// buffers start zeroed) and means the identity. No point of either group has Y = 0 (that
// would be a point of order 2, and both orders are odd), so Y = 0 identifies those slots.
void msm_zero_is_identity(uint r) {
    bool zero = true;
    for (uint e = 0u; e < MSM_FQC; ++e) {
        zero = zero && fq_is_zero(P_REG[r + MSM_FQC + e]);
    }
    if (zero) {
        P_REG[r + MSM_FQC] = FQ_MONT_ONE;
    }
}

#endif

#endif
