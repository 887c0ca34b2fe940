#version 450
// C = A B with f16 inputs and f32 accumulation on the device's matrix units
// (VK_NV_cooperative_matrix; crates/f32-ops runs it only where the device offers 16 x 16 x 16
// f16 products into f32 with subgroups of 32): A is M x K, B is K x N, C is M x N, all f32
// and row-major; each value of A and B is rounded to f16 on its way into shared memory.
// Workgroup t (8 subgroups of 32) computes the 128 x 128 tile of C at tile row t / tiles_n,
// tile column t % tiles_n, subgroup s its 64 x 32 part at rows 64 (s / 4), columns
// 32 (s % 4): four by two 16 x 16 accumulators. K goes in steps of 32 through two shared
// buffers (the next step's values are loaded while the products of this one run).
// Values past the edges are zeros; results pass through shared memory so that only
// elements inside C are written.
//
// Buffers: 0 A, 1 B, 2 C. Arguments: 0 M, 1 N, 2 K.
#extension GL_GOOGLE_include_directive : require
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#include "index.glsl"

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer MA { float ma[]; };
layout(std430, set = 0, binding = 1) readonly buffer MB { float mb[]; };
layout(std430, set = 0, binding = 2) writeonly buffer MC { float mc[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

// Row strides in f16 values, padded (by 16 bytes) off multiples of 128 bytes so that the
// rows a matrix load reads start in different banks.
const uint STRIDE_A = 40u;
const uint STRIDE_B = 136u;
shared float16_t tile_a[2][128 * STRIDE_A];
shared float16_t tile_b[2][32 * STRIDE_B];
// One 16 x 16 accumulator per subgroup on its way out.
shared float stage[8 * 256];

void main() {
    uint m = params.args[0];
    uint n = params.args[1];
    uint k = params.args[2];
    uint tiles_n = max((n + 127u) / 128u, 1u);
    uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint l = gl_LocalInvocationID.x;
    uint row0 = (t / tiles_n) * 128u;
    uint col0 = (t % tiles_n) * 128u;
    uint s = gl_SubgroupID;
    uint lane = gl_SubgroupInvocationID;
    uint sub_row = 64u * (s / 4u);
    uint sub_col = 32u * (s % 4u);
    uint len_a = uint(ma.length());
    uint len_b = uint(mb.length());
    // This invocation's share of each step's loads: A's rows 8 r + l / 32 at column
    // l % 32, B's rows 2 r + l / 128 at column l % 128 (a warp reads 32 neighbours).
    uint a_row = l / 32u;
    uint a_col = l % 32u;
    uint b_row = l / 128u;
    uint b_col = l % 128u;
    float next_a[16];
    float next_b[16];
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> acc[4][2];
    for (uint i = 0u; i < 4u; ++i) {
        for (uint j = 0u; j < 2u; ++j) {
            acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
        }
    }

    for (uint r = 0u; r < 16u; ++r) {
        uint ar = row0 + a_row + 8u * r;
        uint ai = ar * k + a_col;
        next_a[r] = ar < m && a_col < k && ai < len_a ? ma[ai] : 0.0;
        uint bk = b_row + 2u * r;
        uint bn = col0 + b_col;
        uint bi = bk * n + bn;
        next_b[r] = bk < k && bn < n && bi < len_b ? mb[bi] : 0.0;
    }
    for (uint r = 0u; r < 16u; ++r) {
        tile_a[0][(a_row + 8u * r) * STRIDE_A + a_col] = float16_t(next_a[r]);
        tile_b[0][(b_row + 2u * r) * STRIDE_B + b_col] = float16_t(next_b[r]);
    }
    barrier();

    uint buf = 0u;
    for (uint k0 = 0u; k0 < k; k0 += 32u) {
        bool more = k0 + 32u < k;
        if (more) {
            for (uint r = 0u; r < 16u; ++r) {
                uint ar = row0 + a_row + 8u * r;
                uint ac = k0 + 32u + a_col;
                uint ai = ar * k + ac;
                next_a[r] = ar < m && ac < k && ai < len_a ? ma[ai] : 0.0;
                uint bk = k0 + 32u + b_row + 2u * r;
                uint bn = col0 + b_col;
                uint bi = bk * n + bn;
                next_b[r] = bk < k && bn < n && bi < len_b ? mb[bi] : 0.0;
            }
        }
        for (uint ks = 0u; ks < 32u; ks += 16u) {
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[4];
            fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fb[2];
            for (uint i = 0u; i < 4u; ++i) {
                coopMatLoadNV(fa[i], tile_a[buf], (sub_row + 16u * i) * STRIDE_A + ks,
                    STRIDE_A, false);
            }
            for (uint j = 0u; j < 2u; ++j) {
                coopMatLoadNV(fb[j], tile_b[buf], ks * STRIDE_B + sub_col + 16u * j,
                    STRIDE_B, false);
            }
            for (uint i = 0u; i < 4u; ++i) {
                for (uint j = 0u; j < 2u; ++j) {
                    acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
                }
            }
        }
        if (more) {
            // The other buffer was last read in the previous step, before its barrier.
            for (uint r = 0u; r < 16u; ++r) {
                tile_a[buf ^ 1u][(a_row + 8u * r) * STRIDE_A + a_col] = float16_t(next_a[r]);
                tile_b[buf ^ 1u][(b_row + 2u * r) * STRIDE_B + b_col] = float16_t(next_b[r]);
            }
        }
        barrier();
        buf ^= 1u;
    }

    uint len_c = uint(mc.length());
    for (uint i = 0u; i < 4u; ++i) {
        for (uint j = 0u; j < 2u; ++j) {
            coopMatStoreNV(acc[i][j], stage, 256u * s, 16u, false);
            subgroupMemoryBarrierShared();
            subgroupBarrier();
            for (uint q = 0u; q < 8u; ++q) {
                uint e = 32u * q + lane;
                uint row = row0 + sub_row + 16u * i + e / 16u;
                uint col = col0 + sub_col + 16u * j + e % 16u;
                uint ci = row * n + col;
                if (row < m && col < n && ci < len_c) {
                    mc[ci] = stage[256u * s + e];
                }
            }
            subgroupMemoryBarrierShared();
            subgroupBarrier();
        }
    }
}
