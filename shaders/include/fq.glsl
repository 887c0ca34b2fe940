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

// The Montgomery multiplication runs on the FP64 pipe (shaderFloat64): operands in 16 words of
// 24 bits, every product (< 2^48) and every column sum (< 2^53) is an integer that a double
// holds exactly, so a fused multiply-add (DFMA) is an exact 24 x 24 -> 48-bit multiply-add
// into a 53-bit accumulator. The FP64 units work beside the integer units, and the columns
// have no carry chain between them. Measured on the H100 (driver 580.159.04, 2026-11-21,
// 16Mi resident elements, 20 back-to-back dispatches after a warm-up; docs/performance.md):
// Montgomery products per second
//   32-bit words, umulExtended + uaddCarry, loops rolled ......  6.95 G/s
//   32-bit words, 64-bit accumulation (IMAD.WIDE), [[unroll]] .. 16.7 G/s
//   24-bit words, 64-bit integer columns, [[unroll]] ........... 14.7 G/s
//   24-bit words, FP64 columns (DFMA), [[unroll]] (this file) .. 19.8 G/s
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

// p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
// p < 2^381, so 2p < 2^382 and 4p < R = 2^384: sums of two canonical values never carry out of
// 12 words, which every bound below relies on.
const uint FQ_P[12] = uint[12](
    0xffffaaabu, 0xb9feffffu, 0xb153ffffu, 0x1eabfffeu,
    0xf6b0f624u, 0x6730d2a0u, 0xf38512bfu, 0x64774b84u,
    0x434bacd7u, 0x4b1ba7b6u, 0x397fe69au, 0x1a0111eau);

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

// d = s - p (mod 2^384); returns whether it borrowed, that is whether s < p.
bool fq_sub_p(in uint s[12], out uint d[12]) {
    uint borrow = 0u;
    for (int i = 0; i < 12; ++i) {
        uint b0, b1;
        uint t = usubBorrow(s[i], FQ_P[i], b0);
        d[i] = usubBorrow(t, borrow, b1);
        borrow = b0 | b1; // at most one of the two subtractions borrows
    }
    return borrow != 0u;
}

// Whether w < p (a canonical value).
bool fq_is_canonical(in uint w[12]) {
    uint d[12];
    return fq_sub_p(w, d);
}

// r = s < p ? s : s - p, for any s < 2p (so s - p < p when s >= p). The single conditional
// subtraction that ends every operation below; branch-free (a select per word).
void fq_reduce_once(in uint s[12], out uint r[12]) {
    uint d[12];
    // A borrow means s < p: keep s, otherwise s - p.
    bool keep = fq_sub_p(s, d);
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

// p in 16 words of 24 bits, as doubles (exact), for the FP64 Montgomery multiplication.
const double FQ_P24[16] = double[16](
    16755371.0lf, 16777215.0lf, 16759294.0lf, 11621375.0lf,
    11272190.0lf, 16131102.0lf, 10548912.0lf, 6762706.0lf,
    8721087.0lf, 4949235.0lf, 14115959.0lf, 4410284.0lf,
    1812406.0lf, 15112779.0lf, 15350143.0lf, 1704209.0lf);

// -p^-1 mod 2^24, the Montgomery reduction factor per 24-bit word.
const uint FQ_INV24 = 0xfcfffdu;

const uint FQ_MASK24 = 0xffffffu;

// The 12 words of 32 bits as 16 words of 24 bits (3 words hold 4 of them: 96 bits).
void fq_to_words24(in uint w[12], out uint l[16]) {
    [[unroll]] for (int k = 0; k < 4; ++k) {
        l[4 * k] = w[3 * k] & FQ_MASK24;
        l[4 * k + 1] = (w[3 * k] >> 24) | ((w[3 * k + 1] & 0xffffu) << 8);
        l[4 * k + 2] = (w[3 * k + 1] >> 16) | ((w[3 * k + 2] & 0xffu) << 16);
        l[4 * k + 3] = w[3 * k + 2] >> 8;
    }
}

// r = a * b * R^-1 mod p (Montgomery multiplication), R = 2^384 = (2^24)^16, for a, b < p.
//
// CIOS (coarsely integrated operand scanning) over 24-bit words, W = 2^24: for each word
// y[i] of b, t += a * y[i]; then m = t[0] * (-p^-1) mod W makes t + m * p divisible by W, and
// t = (t + m * p) / W. After 16 rounds t = a * b * W^-16 = a * b * R^-1 (mod p).
//
// Unlike a 32-bit CIOS, the words of t are not kept below W: t[j] is a column sum held in a
// double, and t = sum t[j] * W^j. Only t[0]'s overflow is moved (into t[1]) when t[0] leaves.
// Exactness: each round adds at most two products < 2^48 to a column, a column lives through
// at most 16 rounds, and a moved carry is < 2^29: a column stays below
// 32 * (2^24 - 1)^2 + 2^29 < 2^53, so every DFMA result is an exact integer (whether or not
// the driver fuses it: the product alone is exact too). The low 24 bits of t, which m needs,
// are t[0] mod 2^24, read after an exact conversion to an integer.
//
// Bounds: as for any CIOS, t < 2p after every round when a < p and b < R (t + a * y[i] + m * p
// < 2p + (W - 1)p + (W - 1)p = 2Wp before the division by W), so the final t < 2p < 2^382
// fits the 16 words once its columns are carried, and one conditional subtraction of p ends.
void fq_mont_mul(in uint a[12], in uint b[12], out uint r[12]) {
    uint x[16], y[16];
    fq_to_words24(a, x);
    fq_to_words24(b, y);
    double xd[16], t[16];
    [[unroll]] for (int j = 0; j < 16; ++j) {
        xd[j] = double(x[j]);
        t[j] = 0.0lf;
    }
    [[unroll]] for (int i = 0; i < 16; ++i) {
        double yi = double(y[i]);
        [[unroll]] for (int j = 0; j < 16; ++j) {
            t[j] = fma(xd[j], yi, t[j]);
        }
        // t[0] < 2^53: the conversion is exact; its low 32 bits give t mod 2^24.
        double m = double((uint(uint64_t(t[0])) * FQ_INV24) & FQ_MASK24);
        [[unroll]] for (int j = 0; j < 16; ++j) {
            t[j] = fma(m, FQ_P24[j], t[j]);
        }
        // t[0] is now a multiple of W: its quotient (exact, a power-of-two scaling) moves up
        // into the next column, and the columns shift down one word (the division by W).
        double carry = t[0] * (1.0lf / 16777216.0lf);
        [[unroll]] for (int j = 0; j < 15; ++j) {
            t[j] = t[j + 1];
        }
        t[15] = 0.0lf;
        t[0] += carry;
    }
    // Carry the columns into 24-bit words (t < 2^382: nothing is left above the 16th), then
    // repack them as 12 words of 32 bits.
    uint l[16];
    uint64_t c = 0ul;
    [[unroll]] for (int j = 0; j < 16; ++j) {
        c += uint64_t(t[j]);
        l[j] = uint(c) & FQ_MASK24;
        c >>= 24;
    }
    uint s[12];
    [[unroll]] for (int k = 0; k < 4; ++k) {
        s[3 * k] = l[4 * k] | (l[4 * k + 1] << 24);
        s[3 * k + 1] = (l[4 * k + 1] >> 8) | (l[4 * k + 2] << 16);
        s[3 * k + 2] = (l[4 * k + 2] >> 16) | (l[4 * k + 3] << 8);
    }
    fq_reduce_once(s, r);
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
