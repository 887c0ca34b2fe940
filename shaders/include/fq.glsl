// BLS12-381 base field (Fq) arithmetic on 12 little-endian 32-bit words.
//
// In memory an element is 6 little-endian u64 limbs (48 bytes); read as 32-bit words that is
// the same bytes as 12 little-endian u32 words, low word first, so no shuffling is needed.
// Shaders load an element as three uvec4 (16-byte aligned: 48 = 3 * 16).
//
// Every function here is a pure function of its arguments (no buffers, no globals but the
// constants below), so fused kernels can chain them with intermediates in registers. GLSL
// passes arrays by value (copy-in, copy-out), so an output may alias an input:
// `fq_mul(x, y, x)` is fine.
//
// Conventions: "canonical" means a value < p. Unless a comment says otherwise, every function
// takes canonical inputs and returns a canonical result. Montgomery form of x is x * R mod p
// with R = 2^384 (12 words of 32 bits); fq_mont_* functions work on Montgomery forms, the
// others are the same in either representation (add, sub, neg, double are linear).

#ifndef FQ_GLSL
#define FQ_GLSL

// The Montgomery multiplication accumulates in 64-bit integers (shaderInt64): a 32 x 32 -> 64
// bit multiply-add is one instruction on NVIDIA (IMAD.WIDE.U32), against umulExtended plus two
// uaddCarry on 32-bit words. Its loops are unrolled in the SPIR-V ([[unroll]]); the short
// linear loops are left to the driver. Measured on the H100 (driver 580.159.04, 2026-11-21,
// 16Mi resident elements, 20 back-to-back dispatches after a warm-up; docs/performance.md):
// Montgomery products per second
//   32-bit words, loops rolled (driver's choice) ........  6.95 G/s
//   32-bit words, every loop [[unroll]] .................  7.8 G/s
//   64-bit accumulation, [[unroll]] (this file) ......... 16.6 G/s
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

// p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
// p < 2^381, so 2p < 2^382 and 4p < R = 2^384: sums of two canonical values never carry out of
// 12 words, which every bound below relies on.
const uint FQ_P[12] = uint[12](
    0xffffaaabu, 0xb9feffffu, 0xb153ffffu, 0x1eabfffeu,
    0xf6b0f624u, 0x6730d2a0u, 0xf38512bfu, 0x64774b84u,
    0x434bacd7u, 0x4b1ba7b6u, 0x397fe69au, 0x1a0111eau);

// -p^-1 mod 2^32, the Montgomery reduction factor per 32-bit word (p * FQ_INV == -1 mod 2^32).
const uint FQ_INV = 0xfffcfffdu;

// R^2 mod p (R = 2^384): fq_mont_mul(x, FQ_R2) = x * R mod p, the Montgomery form of x.
// Equal to blst's BLS12_381_RR.
const uint FQ_R2[12] = uint[12](
    0x1c341746u, 0xf4df1f34u, 0x09d104f1u, 0x0a76e6a6u,
    0x4c95b6d5u, 0x8de5476cu, 0x939d83c0u, 0x67eb88a9u,
    0xb519952du, 0x9a793e85u, 0x92cae3aau, 0x11988fe5u);

// 1 (canonical): fq_mont_mul(x, FQ_ONE) = x * R^-1 mod p, leaving Montgomery form.
const uint FQ_ONE[12] = uint[12](1u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);

#include "index.glsl"

void fq_unpack(uvec4 v0, uvec4 v1, uvec4 v2, out uint w[12]) {
    w[0] = v0.x; w[1] = v0.y; w[2] = v0.z; w[3] = v0.w;
    w[4] = v1.x; w[5] = v1.y; w[6] = v1.z; w[7] = v1.w;
    w[8] = v2.x; w[9] = v2.y; w[10] = v2.z; w[11] = v2.w;
}

void fq_pack(in uint w[12], out uvec4 v0, out uvec4 v1, out uvec4 v2) {
    v0 = uvec4(w[0], w[1], w[2], w[3]);
    v1 = uvec4(w[4], w[5], w[6], w[7]);
    v2 = uvec4(w[8], w[9], w[10], w[11]);
}

// Element-wise kernel plumbing. The kernel interface (vk-backend's KernelDesc::elementwise):
// storage buffers 0..inputs-1 are the inputs, binding `inputs` is the output, each an array
// of uvec4 with 3 per element; push constants {count, row_stride}.
//
//   FQ_INPUT(0, InA, a);  FQ_OUTPUT(1, Out, r);  FQ_PARAMS;
//   ... uint x[12]; FQ_LOAD(a, i, x); ...; FQ_STORE(r, i, y);
#define FQ_INPUT(binding_, block_, name_) \
    layout(std430, set = 0, binding = binding_) readonly buffer block_ { uvec4 name_[]; }
#define FQ_OUTPUT(binding_, block_, name_) \
    layout(std430, set = 0, binding = binding_) writeonly buffer block_ { uvec4 name_[]; }
// count: elements in the batch; row_stride: invocations per dispatch row (element_index).
#define FQ_PARAMS \
    layout(push_constant) uniform Params { uint count; uint row_stride; } params
// Element `index_` of the uvec4 buffer array `buf_` into / from the uint[12] `w_`.
#define FQ_LOAD(buf_, index_, w_) \
    fq_unpack(buf_[3u * (index_)], buf_[3u * (index_) + 1u], buf_[3u * (index_) + 2u], w_)
#define FQ_STORE(buf_, index_, w_) \
    fq_pack(w_, buf_[3u * (index_)], buf_[3u * (index_) + 1u], buf_[3u * (index_) + 2u])

// r = s < p ? s : s - p, for any s < 2p (so s - p < p when s >= p). The single conditional
// subtraction that ends every operation below; branch-free (a select per word).
void fq_reduce_once(in uint s[12], out uint r[12]) {
    uint d[12];
    uint borrow = 0u;
    for (int i = 0; i < 12; ++i) {
        uint b0, b1;
        uint t = usubBorrow(s[i], FQ_P[i], b0);
        d[i] = usubBorrow(t, borrow, b1);
        borrow = b0 | b1; // at most one of the two subtractions borrows
    }
    // A final borrow means s < p: keep s, otherwise s - p.
    bool keep = borrow != 0u;
    for (int i = 0; i < 12; ++i) {
        r[i] = keep ? s[i] : d[i];
    }
}

// r = a + b mod p.
// a + b < 2p < 2^382, so the 384-bit sum never carries out; one conditional subtraction of
// p brings it back below p.
void fq_add(in uint a[12], in uint b[12], out uint r[12]) {
    uint s[12];
    uint carry = 0u;
    for (int i = 0; i < 12; ++i) {
        uint c0, c1;
        uint t = uaddCarry(a[i], b[i], c0);
        s[i] = uaddCarry(t, carry, c1);
        carry = c0 | c1; // at most one of the two additions carries
    }
    fq_reduce_once(s, r);
}

// r = a - b mod p.
// If a >= b then 0 <= a - b < p and no borrow leaves the top word. Otherwise the 384-bit
// difference is a - b + 2^384 with -p < a - b < 0; adding p (mod 2^384, dropping the carry)
// gives a - b + p, in (0, p). So "add p if it borrowed" needs no further reduction.
void fq_sub(in uint a[12], in uint b[12], out uint r[12]) {
    uint d[12];
    uint borrow = 0u;
    for (int i = 0; i < 12; ++i) {
        uint b0, b1;
        uint t = usubBorrow(a[i], b[i], b0);
        d[i] = usubBorrow(t, borrow, b1);
        borrow = b0 | b1;
    }
    uint mask = 0u - borrow; // all ones when a < b, else 0
    uint carry = 0u;
    for (int i = 0; i < 12; ++i) {
        uint c0, c1;
        uint t = uaddCarry(d[i], FQ_P[i] & mask, c0);
        r[i] = uaddCarry(t, carry, c1);
        carry = c0 | c1; // the final carry is the dropped 2^384
    }
}

// r = -a mod p: p - a for a != 0, and 0 (not p, which is not canonical) for a = 0.
// For 0 < a < p, 0 < p - a < p, and p - a never borrows.
void fq_neg(in uint a[12], out uint r[12]) {
    uint nonzero = 0u;
    for (int i = 0; i < 12; ++i) {
        nonzero |= a[i];
    }
    uint mask = nonzero != 0u ? 0xffffffffu : 0u;
    uint borrow = 0u;
    for (int i = 0; i < 12; ++i) {
        uint b0, b1;
        uint t = usubBorrow(FQ_P[i], a[i], b0);
        t = usubBorrow(t, borrow, b1);
        borrow = b0 | b1;
        r[i] = t & mask;
    }
}

// r = 2a mod p, by a one-bit left shift.
// 2a < 2p < 2^382, so no bit leaves the top word; one conditional subtraction of p suffices.
void fq_double(in uint a[12], out uint r[12]) {
    uint s[12];
    s[0] = a[0] << 1;
    for (int i = 1; i < 12; ++i) {
        s[i] = (a[i] << 1) | (a[i - 1] >> 31);
    }
    fq_reduce_once(s, r);
}

// r = a * b * R^-1 mod p (Montgomery multiplication), R = 2^384, for a, b < p.
//
// CIOS (coarsely integrated operand scanning) over 32-bit words, W = 2^32: for each word b[i],
// t += a * b[i], then m = t[0] * (-p^-1) mod W makes t + m * p divisible by W, and
// t = (t + m * p) / W. After 12 rounds t = a * b * W^-12 = a * b * R^-1 (mod p).
//
// Word steps accumulate in 64 bits: c + x * y + t <= (2^32 - 1) + (2^32 - 1)^2 + (2^32 - 1)
// = 2^64 - 1, so c never overflows; its high word is the carry into the next word.
//
// Bounds: a < p, and b any 12-word value (b < R; in practice b < p). t starts at 0; if
// t < 2p before a round, then t + a * b[i] + m * p < 2p + (W - 1)p + (W - 1)p = 2Wp, so
// after the division by W, t < 2p again. 2Wp < 2^414, so each round's sum fits in 13 words
// (t[0..11] plus the scalar t12) and the shifted t in 12. The final t < 2p needs only one
// conditional subtraction of p.
void fq_mont_mul(in uint a[12], in uint b[12], out uint r[12]) {
    uint t[12];
    [[unroll]] for (int j = 0; j < 12; ++j) {
        t[j] = 0u;
    }
    [[unroll]] for (int i = 0; i < 12; ++i) {
        // t += a * b[i]: t < 2p + (W - 1)p < 2^414, 13 words.
        uint64_t bi = uint64_t(b[i]);
        uint64_t c = 0ul;
        [[unroll]] for (int j = 0; j < 12; ++j) {
            c += uint64_t(a[j]) * bi + uint64_t(t[j]);
            t[j] = uint(c);
            c >>= 32;
        }
        uint t12 = uint(c);
        // t = (t + m * p) / W. The low word of t + m * p is 0 by the choice of m.
        uint64_t m = uint64_t(t[0] * FQ_INV);
        c = (m * uint64_t(FQ_P[0]) + uint64_t(t[0])) >> 32;
        [[unroll]] for (int j = 1; j < 12; ++j) {
            c += m * uint64_t(FQ_P[j]) + uint64_t(t[j]);
            t[j - 1] = uint(c);
            c >>= 32;
        }
        // The 13-word sum is < 2Wp, so after the shift t < 2p < 2^382: this never carries.
        t[11] = t12 + uint(c);
    }
    fq_reduce_once(t, r);
}

// r = a^2 * R^-1 mod p (Montgomery squaring). A dedicated squaring could skip about a
// quarter of the word products; for now it is the multiplication, same bounds.
void fq_mont_square(in uint a[12], out uint r[12]) {
    fq_mont_mul(a, a, r);
}

// r = a * R mod p, the Montgomery form of canonical a: mont_mul(a, R^2) = a * R^2 * R^-1.
void fq_to_mont(in uint a[12], out uint r[12]) {
    fq_mont_mul(a, FQ_R2, r);
}

// r = a * R^-1 mod p, the canonical value of Montgomery-form a: mont_mul(a, 1).
void fq_from_mont(in uint a[12], out uint r[12]) {
    fq_mont_mul(a, FQ_ONE, r);
}

// r = a * b mod p on canonical values, with two Montgomery multiplications:
// mont_mul(mont_mul(a, b), R^2) = (a * b * R^-1) * R^2 * R^-1 = a * b. Converting both
// operands to Montgomery form and back would take four; the inner result a * b * R^-1 is
// canonical, so the outer multiplication's bounds hold.
void fq_mul(in uint a[12], in uint b[12], out uint r[12]) {
    uint t[12];
    fq_mont_mul(a, b, t);
    fq_mont_mul(t, FQ_R2, r);
}

// r = a^2 mod p on canonical values (two Montgomery multiplications, as fq_mul).
void fq_square(in uint a[12], out uint r[12]) {
    uint t[12];
    fq_mont_square(a, t);
    fq_mont_mul(t, FQ_R2, r);
}

// r = a * b + c mod p on canonical values: fq_mul then fq_add (both canonical, so the
// addition's bound holds).
void fq_fma(in uint a[12], in uint b[12], in uint c[12], out uint r[12]) {
    uint t[12];
    fq_mul(a, b, t);
    fq_add(t, c, r);
}

#endif
