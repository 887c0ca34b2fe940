#version 450
// MSM counting sort by bucket, both passes (args[2]): 0 counts the points of every bucket
// (counts[key] += 1), 1 scatters each point's base index into its bucket's range of the
// sorted arrays (counts then holds each bucket's next free position, the exclusive prefix
// sums from msm_scan). One invocation per (scalar, base) pair i of all the MSMs of the
// call; key = msm * windows * 2^(c-1) + window * 2^(c-1) + |digit| - 1, and the index's
// top bit says the digit is negative. Pair i's MSM and base: with args[3] = 0, MSM ids[i]
// and base i; with args[3] = n > 0 (MSMs over one set of n bases), MSM i / n and base i % n.
// With args[4] = 1 the bases are precomputed multiples, window-major (entry j n + b holds
// [2^(c j)] base b; args[3] = n > 0): window j's digit then goes to entry j n + b and to
// the buckets of window 0 (key = msm * 2^(c-1) + |digit| - 1), so each MSM has one window.
// Group-independent: scalars only.
//
// Buffers: 0 scalars (2 uvec4 each), 1 counts, 2 sorted indices, 3 sorted keys, 4 MSM ids.
// Arguments: 0 window bits c (1..=16), 1 windows, 2 pass, 3 bases per MSM or 0,
// 4 precomputed multiples (0 or 1).
#extension GL_GOOGLE_include_directive : require
#include "msm.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Scalars { uvec4 scalars[]; };
layout(std430, set = 0, binding = 1) buffer Counts { uint counts[]; };
layout(std430, set = 0, binding = 2) writeonly buffer SortedIdx { uint sorted_idx[]; };
layout(std430, set = 0, binding = 3) writeonly buffer SortedKey { uint sorted_key[]; };
layout(std430, set = 0, binding = 4) readonly buffer Ids { uint ids[]; };

void main() {
    uint i = element_index(params.row_stride);
    uint c = params.args[0];
    uint windows = params.args[1];
    bool scatter = params.args[2] != 0u;
    if (i >= params.count || c < 1u || c > 16u || 2u * i + 1u >= uint(scalars.length())) {
        return;
    }
    uvec4 lo = scalars[2u * i];
    uvec4 hi = scalars[2u * i + 1u];
    uint k[8] = uint[8](lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    uint shared_bases = params.args[3];
    uint msm;
    uint base;
    if (shared_bases == 0u) {
        if (i >= uint(ids.length())) {
            return;
        }
        msm = ids[i];
        base = i;
    } else {
        msm = i / shared_bases;
        base = i % shared_bases;
    }
    bool multiples = params.args[4] != 0u && shared_bases != 0u;
    uint buckets = 1u << (c - 1u);
    uint first_key = msm * (multiples ? 1u : windows) * buckets;
    uint carry = 0u;
    for (uint j = 0u; j < windows && j <= 256u; ++j) {
        int d = msm_digit(k, j, c, carry);
        if (d == 0) {
            continue;
        }
        uint key = first_key + (multiples ? 0u : j * buckets) + uint(abs(d)) - 1u;
        uint entry = multiples ? j * shared_bases + base : base;
        if (key >= uint(counts.length())) {
            continue;
        }
        if (!scatter) {
            atomicAdd(counts[key], 1u);
            continue;
        }
        uint pos = atomicAdd(counts[key], 1u);
        if (pos < uint(sorted_idx.length()) && pos < uint(sorted_key.length())) {
            sorted_idx[pos] = entry | (d < 0 ? 0x80000000u : 0u);
            sorted_key[pos] = key;
        }
    }
}
