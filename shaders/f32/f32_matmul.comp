#version 450
// C = A B in f32 (crates/f32-ops): A is M x K, B is K x N, C is M x N, all row-major.
// Workgroup t (256 invocations) computes the 64 x 64 tile of C at tile row t / tiles_n,
// tile column t % tiles_n, each invocation a 4 x 4 block of it; the K dimension goes in
// steps of 16 through shared memory (64 x 16 of A, 16 x 64 of B, zeros past the edges).
// Each product is accumulated in f32 in order of k.
//
// Buffers: 0 A, 1 B, 2 C. Arguments: 0 M, 1 N, 2 K.
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer MA { float ma[]; };
layout(std430, set = 0, binding = 1) readonly buffer MB { float mb[]; };
layout(std430, set = 0, binding = 2) writeonly buffer MC { float mc[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

shared float tile_a[16][64];
shared float tile_b[16][64];

void main() {
    uint m = params.args[0];
    uint n = params.args[1];
    uint k = params.args[2];
    uint tiles_n = (n + 63u) / 64u;
    uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint l = gl_LocalInvocationID.x;
    uint row0 = (t / max(tiles_n, 1u)) * 64u;
    uint col0 = (t % max(tiles_n, 1u)) * 64u;
    // This invocation's 4 x 4 block: rows row0 + 4 (l / 16) .., columns col0 + 4 (l % 16) ..
    uint br = 4u * (l / 16u);
    uint bc = 4u * (l % 16u);
    float acc[4][4];
    for (uint i = 0u; i < 4u; ++i) {
        for (uint j = 0u; j < 4u; ++j) {
            acc[i][j] = 0.0;
        }
    }
    uint len_a = uint(ma.length());
    uint len_b = uint(mb.length());
    for (uint k0 = 0u; k0 < k; k0 += 16u) {
        // 1024 values of each tile, 4 per invocation.
        for (uint r = 0u; r < 4u; ++r) {
            uint e = 256u * r + l;
            // A tile: row e / 16, column e % 16 (stored transposed: [k][row]).
            uint ar = row0 + e / 16u;
            uint ac = k0 + e % 16u;
            uint ai = ar * k + ac;
            tile_a[e % 16u][e / 16u] = ar < m && ac < k && ai < len_a ? ma[ai] : 0.0;
            // B tile: row e / 64, column e % 64.
            uint bk = k0 + e / 64u;
            uint bn = col0 + e % 64u;
            uint bi = bk * n + bn;
            tile_b[e / 64u][e % 64u] = bk < k && bn < n && bi < len_b ? mb[bi] : 0.0;
        }
        barrier();
        for (uint kk = 0u; kk < 16u; ++kk) {
            float va[4];
            float vb[4];
            for (uint i = 0u; i < 4u; ++i) {
                va[i] = tile_a[kk][br + i];
                vb[i] = tile_b[kk][bc + i];
            }
            for (uint i = 0u; i < 4u; ++i) {
                for (uint j = 0u; j < 4u; ++j) {
                    acc[i][j] += va[i] * vb[j];
                }
            }
        }
        barrier();
    }
    uint len_c = uint(mc.length());
    for (uint i = 0u; i < 4u; ++i) {
        for (uint j = 0u; j < 4u; ++j) {
            uint r = row0 + br + i;
            uint c = col0 + bc + j;
            uint ci = r * n + c;
            if (r < m && c < n && ci < len_c) {
                mc[ci] = acc[i][j];
            }
        }
    }
}
