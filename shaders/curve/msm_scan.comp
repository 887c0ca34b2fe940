#version 450
// Exclusive prefix sums of the MSM's bucket counts, in three dispatches (args[1]):
// 0: each workgroup scans its block of 1024 counts in place and writes the block's total;
// 1: one workgroup scans the block totals in place, 1024 at a time with a running offset,
//    and writes the grand total (the number of sorted entries) to lengths[args[2]];
// 2: each workgroup adds its block's offset to its counts.
// Workgroups of 256 invocations (the host creates the kernel with that size), 4 counts
// each.
//
// Buffers: 0 counts, 1 block totals, 2 lengths. Arguments: 0 number of counts, 1 pass,
// 2 the length slot.
#extension GL_GOOGLE_include_directive : require
#include "msm.glsl"

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer Counts { uint counts[]; };
layout(std430, set = 0, binding = 1) buffer Totals { uint totals[]; };
layout(std430, set = 0, binding = 2) buffer Lengths { uint lengths[]; };

shared uint sums[256];

// Scans block `g_` (1024 entries) of `buf_` (first `n_` entries valid) in place, adding
// `offset_`; every invocation of the workgroup runs it (barriers). Leaves the block's total
// in sums[255].
#define SCAN_BLOCK(buf_, n_, g_, offset_)                                               \
    {                                                                          \
        uint l = gl_LocalInvocationID.x;                                       \
        uint base = (g_) * 1024u + 4u * l;                                     \
        uint limit = min((n_), uint(buf_.length()));                           \
        uint v[4];                                                             \
        uint s = 0u;                                                           \
        for (uint r = 0u; r < 4u; ++r) {                                       \
            v[r] = base + r < limit ? buf_[base + r] : 0u;                     \
            s += v[r];                                                         \
        }                                                                      \
        sums[l] = s;                                                           \
        barrier();                                                             \
        for (uint off = 1u; off < 256u; off <<= 1u) {                          \
            uint x = l >= off ? sums[l - off] : 0u;                            \
            barrier();                                                         \
            sums[l] += x;                                                      \
            barrier();                                                         \
        }                                                                      \
        uint excl = sums[l] - s + (offset_);                                   \
        for (uint r = 0u; r < 4u; ++r) {                                       \
            if (base + r < limit) {                                            \
                buf_[base + r] = excl;                                         \
            }                                                                  \
            excl += v[r];                                                      \
        }                                                                      \
    }

void main() {
    uint n = params.args[0];
    uint pass = params.args[1];
    uint slot = params.args[2];
    uint g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint l = gl_LocalInvocationID.x;
    if (pass == 0u) {
        SCAN_BLOCK(counts, n, g, 0u);
        if (l == 255u && g < uint(totals.length())) {
            totals[g] = sums[255];
        }
    } else if (pass == 1u) {
        uint blocks = (n + 1023u) / 1024u;
        if (g == 0u) {
            uint offset = 0u;
            for (uint chunk = 0u; chunk * 1024u < blocks; ++chunk) {
                SCAN_BLOCK(totals, blocks, chunk, offset);
                offset += sums[255];
                // Everyone has read sums[255] before the next chunk overwrites it.
                barrier();
            }
            if (l == 255u && slot < uint(lengths.length())) {
                lengths[slot] = offset;
            }
        }
    } else {
        uint add = g < uint(totals.length()) ? totals[g] : 0u;
        uint base = g * 1024u + 4u * l;
        uint limit = min(n, uint(counts.length()));
        for (uint r = 0u; r < 4u; ++r) {
            if (base + r < limit) {
                counts[base + r] += add;
            }
        }
    }
}
