#version 450
// C = A B in f32 for large matrices (crates/f32-ops; f32_matmul.comp takes the small ones):
// A is M x K, B is K x N, C is M x N, all row-major. Workgroup t (256 invocations)
// computes the 128 x 128 tile of C at tile row t / tiles_n, tile column t % tiles_n;
// invocation (y, x) = (l / 16, l % 16) its 8 x 8 block of rows 4y .. 4y + 3 and
// 64 + 4y .. 64 + 4y + 3, columns likewise with x. K goes in steps of 8 through two
// shared buffers: while the products of one step run from one, the next step's values
// are already on their way from memory and land in the other, so each step needs one
// barrier. A is kept transposed ([k][row], rows padded to 132 so that the stores of a
// warp meet 32 different banks); reads are vec4 (four rows or four columns at once).
// Values past the edges are zeros. Each product is accumulated in f32 in order of k.
//
// Buffers: 0 A, 1 B, 2 C. Arguments: 0 M, 1 N, 2 K.
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer MA { float ma[]; };
layout(std430, set = 0, binding = 1) readonly buffer MB { float mb[]; };
layout(std430, set = 0, binding = 2) writeonly buffer MC { float mc[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

shared vec4 tile_a[2][8][33];
shared vec4 tile_b[2][8][32];

void main() {
    uint m = params.args[0];
    uint n = params.args[1];
    uint k = params.args[2];
    uint tiles_n = max((n + 127u) / 128u, 1u);
    uint t = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint l = gl_LocalInvocationID.x;
    uint row0 = (t / tiles_n) * 128u;
    uint col0 = (t % tiles_n) * 128u;
    uint y = l / 16u;
    uint x = l % 16u;
    uint len_a = uint(ma.length());
    uint len_b = uint(mb.length());
    // This invocation's share of each step's loads: A's rows l / 8 + 32 r at column
    // l % 8, B's rows 2 r + l / 128 at column l % 128 (a warp reads 32 neighbours of B).
    uint a_row = l / 8u;
    uint a_col = l % 8u;
    uint b_row = l / 128u;
    uint b_col = l % 128u;
    float next_a[4];
    float next_b[4];
    vec4 acc[8][2];
    for (uint i = 0u; i < 8u; ++i) {
        acc[i][0] = vec4(0.0);
        acc[i][1] = vec4(0.0);
    }

    for (uint r = 0u; r < 4u; ++r) {
        uint ar = row0 + a_row + 32u * r;
        uint ai = ar * k + a_col;
        next_a[r] = ar < m && a_col < k && ai < len_a ? ma[ai] : 0.0;
        uint bk = b_row + 2u * r;
        uint bn = col0 + b_col;
        uint bi = bk * n + bn;
        next_b[r] = bk < k && bn < n && bi < len_b ? mb[bi] : 0.0;
    }
    for (uint r = 0u; r < 4u; ++r) {
        uint ar = a_row + 32u * r;
        tile_a[0][a_col][ar / 4u][ar % 4u] = next_a[r];
        tile_b[0][b_row + 2u * r][b_col / 4u][b_col % 4u] = next_b[r];
    }
    barrier();

    uint buf = 0u;
    for (uint k0 = 0u; k0 < k; k0 += 8u) {
        bool more = k0 + 8u < k;
        if (more) {
            for (uint r = 0u; r < 4u; ++r) {
                uint ar = row0 + a_row + 32u * r;
                uint ac = k0 + 8u + a_col;
                uint ai = ar * k + ac;
                next_a[r] = ar < m && ac < k && ai < len_a ? ma[ai] : 0.0;
                uint bk = k0 + 8u + b_row + 2u * r;
                uint bn = col0 + b_col;
                uint bi = bk * n + bn;
                next_b[r] = bk < k && bn < n && bi < len_b ? mb[bi] : 0.0;
            }
        }
        for (uint kk = 0u; kk < 8u; ++kk) {
            vec4 a0 = tile_a[buf][kk][y];
            vec4 a1 = tile_a[buf][kk][y + 16u];
            vec4 b0 = tile_b[buf][kk][x];
            vec4 b1 = tile_b[buf][kk][x + 16u];
            for (uint i = 0u; i < 4u; ++i) {
                acc[i][0] += a0[i] * b0;
                acc[i][1] += a0[i] * b1;
                acc[i + 4u][0] += a1[i] * b0;
                acc[i + 4u][1] += a1[i] * b1;
            }
        }
        if (more) {
            // The other buffer was last read in the previous step, before its barrier.
            for (uint r = 0u; r < 4u; ++r) {
                uint ar = a_row + 32u * r;
                tile_a[buf ^ 1u][a_col][ar / 4u][ar % 4u] = next_a[r];
                tile_b[buf ^ 1u][b_row + 2u * r][b_col / 4u][b_col % 4u] = next_b[r];
            }
        }
        barrier();
        buf ^= 1u;
    }

    uint len_c = uint(mc.length());
    for (uint i = 0u; i < 8u; ++i) {
        uint row = row0 + (i < 4u ? 4u * y + i : 64u + 4u * y + i - 4u);
        for (uint h = 0u; h < 2u; ++h) {
            for (uint j = 0u; j < 4u; ++j) {
                uint col = col0 + 64u * h + 4u * x + j;
                uint ci = row * n + col;
                if (row < m && col < n && ci < len_c) {
                    mc[ci] = acc[i][h][j];
                }
            }
        }
    }
}
