// BLS12-381 base field (Fq) arithmetic on 12 little-endian 32-bit words.
//
// In memory an element is 6 little-endian u64 limbs (48 bytes); read as 32-bit words that is
// the same bytes as 12 little-endian u32 words, low word first, so no shuffling is needed.
// Shaders load an element as three uvec4 (16-byte aligned: 48 = 3 * 16).

#ifndef FQ_GLSL
#define FQ_GLSL

// p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab
const uint FQ_P[12] = uint[12](
    0xffffaaabu, 0xb9feffffu, 0xb153ffffu, 0x1eabfffeu,
    0xf6b0f624u, 0x6730d2a0u, 0xf38512bfu, 0x64774b84u,
    0x434bacd7u, 0x4b1ba7b6u, 0x397fe69au, 0x1a0111eau);

// The flat index of this invocation in a (possibly 2-D) dispatch: the host splits large
// batches over rows because maxComputeWorkGroupCount[0] may be only 65535, and passes the
// invocations per row (`row_stride`) as a push constant.
//
// Deliberately not computed from gl_WorkGroupSize: with a specialization-constant workgroup
// size, spirv-opt (SPIRV-Tools 2023.2, Debian 12) folds gl_WorkGroupSize.x to the constant's
// default of 1, so every workgroup past the first would overlap the first. The driver's own
// gl_GlobalInvocationID is always right.
uint fq_global_index(uint row_stride) {
    return gl_GlobalInvocationID.y * row_stride + gl_GlobalInvocationID.x;
}

void fq_unpack(uvec4 v0, uvec4 v1, uvec4 v2, out uint w[12]) {
    w[0] = v0.x; w[1] = v0.y; w[2] = v0.z; w[3] = v0.w;
    w[4] = v1.x; w[5] = v1.y; w[6] = v1.z; w[7] = v1.w;
    w[8] = v2.x; w[9] = v2.y; w[10] = v2.z; w[11] = v2.w;
}

// r = a + b mod p, for canonical a, b < p. Result canonical.
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

#endif
