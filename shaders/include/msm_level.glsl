// One level of the MSM's reduction by key (include after defining MSM_G1 or MSM_G2).
//
// The input is a list of (key, point) entries sorted by key, `lengths[args[0]]` long. Each
// invocation sums one segment of `args[2]` consecutive entries run by run (a run: the
// entries of one key), so every invocation does the same work however the keys fall (all
// points in one bucket included). A run that lies inside the segment holds every entry of
// its key: its sum is final and goes to final[key]. The first and last runs may continue in
// the neighbouring segments: they go to the output list, two entries per segment (first
// run, last run; a segment of one run writes its sum and an identity), again sorted by
// key, for the next level, whose length is written to lengths[args[1]]. A level with one
// segment writes every run to final[] and an empty output list, so the host records enough
// levels for the largest possible list and the later ones find nothing to do.
//
// Level 0 (args[3] = 1) reads the input points as affine bases by sorted index (the top bit
// negates), accumulated by mixed additions; later levels read homogeneous points. Bases are
// packed (x, y): MSM_AFFINE_VEC4 uvec4 each, with no padding, so that less crosses the bus.
//
// Buffers: 0 bases (affine), 1 sorted indices, 2 input keys, 3 input points, 4 lengths,
// 5 output keys, 6 output points, 7 final points by key.
// Arguments: 0 input length slot, 1 output length slot, 2 segment size (the host passes
// 4 or more, so that every level shortens the list; below 3 counts as 3), 3 affine.

#extension GL_GOOGLE_include_directive : require
#include "msm.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Bases { uvec4 bases[]; };
layout(std430, set = 0, binding = 1) readonly buffer SortedIdx { uint sorted_idx[]; };
layout(std430, set = 0, binding = 2) readonly buffer KeysIn { uint keys_in[]; };
layout(std430, set = 0, binding = 3) readonly buffer PointsIn { uvec4 points_in[]; };
layout(std430, set = 0, binding = 4) buffer Lengths { uint lengths[]; };
layout(std430, set = 0, binding = 5) writeonly buffer KeysOut { uint keys_out[]; };
layout(std430, set = 0, binding = 6) writeonly buffer PointsOut { uvec4 points_out[]; };
layout(std430, set = 0, binding = 7) writeonly buffer Final { uvec4 final_points[]; };

// X1 += affine (X2, Y2), unless the flag says the affine point is the identity.
const uint MIXED[] = uint[](
    P_PROGRAM_ADD_MIXED, P_SELF(X1, X1, X3), P_SELF(Y1, Y1, Y3), P_SELF(Z1, Z1, Z3));
// X1 += X2.
const uint FULL[] = uint[](P_PROGRAM_ADD, P_COPY_POINT(1, 3));

// Writes the sum in X1 of the run of `key` in segment `t`.
void emit(uint t, uint key, bool first_run, bool last_run, bool last_level) {
    if (last_level || (!first_run && !last_run)) {
        if (MSM_HAS_POINT(final_points, key)) {
            MSM_STORE_POINT(final_points, key, P_R(X1));
        }
        return;
    }
    uint slot = first_run ? 2u * t : 2u * t + 1u;
    if (slot < uint(keys_out.length()) && MSM_HAS_POINT(points_out, slot)) {
        keys_out[slot] = key;
        MSM_STORE_POINT(points_out, slot, P_R(X1));
    }
    if (first_run && last_run && slot + 1u < uint(keys_out.length())
            && MSM_HAS_POINT(points_out, slot + 1u)) {
        keys_out[slot + 1u] = key;
        MSM_STORE_ZERO(points_out, slot + 1u);
    }
}

void main() {
    uint t = element_index(params.row_stride);
    uint in_slot = params.args[0];
    uint out_slot = params.args[1];
    uint segment = max(params.args[2], 3u);
    bool affine = params.args[3] != 0u;
    if (t >= params.count || in_slot >= uint(lengths.length())
            || out_slot >= uint(lengths.length()) || in_slot == out_slot) {
        return;
    }
    uint len = min(lengths[in_slot], uint(keys_in.length()));
    len = affine ? min(len, uint(sorted_idx.length()))
                 : min(len, uint(points_in.length()) / CURVE_POINT_VEC4);
    uint segments = (len + segment - 1u) / segment;
    bool last_level = segments <= 1u;
    if (t == 0u) {
        lengths[out_slot] = last_level ? 0u : 2u * segments;
    }
    if (t >= segments) {
        return;
    }
    uint start = t * segment;
    uint end = min(start + segment, len);
    uint first_key = keys_in[start];
    uint key = first_key;
    P_INIT();
    msm_set_identity(P_R(X1));
    // Whether X1 holds the identity (later levels): there a run's first point is copied
    // into X1 rather than added, and identity entries are skipped, which shortens each
    // invocation's serial chain of additions (microseconds of latency each). The first
    // level runs the whole program for every entry instead: its invocations then run the
    // same step at the same time, where skipping would put them out of step and every
    // step would pay for both a multiplication and an addition (measured: the first level
    // took 1.5x as long, while the later ones, whose lists hold many identities and short
    // runs, took a third of the time).
    bool sum_is_identity = true;
    uint e = start;
    int pc = 0;
    int steps = 0;
    // One loop with one step call (the interpreter's only copy of the Fq operations):
    // between programs it moves to the next entry, closing a run where the key changes.
    [[dont_unroll]] for (;;) {
        if (pc == steps) {
            if (e == end) {
                break;
            }
            uint next = keys_in[e];
            if (next != key) {
                emit(t, key, key == first_key, false, last_level);
                msm_set_identity(P_R(X1));
                sum_is_identity = true;
                key = next;
            }
            pc = 0;
            e += 1u;
            if (affine) {
                uint v = sorted_idx[e - 1u];
                uint index = v & 0x7fffffffu;
                bool identity = true;
                if (index < uint(bases.length()) / MSM_AFFINE_VEC4) {
                    for (uint f = 0u; f < 2u * MSM_FQC; ++f) {
                        uint at = MSM_AFFINE_VEC4 * index + 3u * f;
                        fq_unpack(bases[at], bases[at + 1u], bases[at + 2u],
                                  P_REG[P_R(X2) + f]);
                        identity = identity && fq_is_zero(P_REG[P_R(X2) + f]);
                    }
                }
                P_FLAG = identity;
                if ((v >> 31u) != 0u) {
                    for (uint f = 0u; f < MSM_FQC; ++f) {
                        uint y[12] = P_REG[P_R(Y2) + f];
                        fq_sub(FQ_ZERO, y, P_REG[P_R(Y2) + f]);
                    }
                }
                steps = MIXED.length();
            } else {
                MSM_LOAD_POINT(points_in, e - 1u, P_R(X2));
                msm_zero_is_identity(P_R(X2));
                // The homogeneous identity is the point with Z = 0.
                bool identity = true;
                for (uint f = 0u; f < MSM_FQC; ++f) {
                    identity = identity && fq_is_zero(P_REG[P_R(Z2) + f]);
                }
                if (identity) {
                    steps = 0;
                    continue;
                }
                if (sum_is_identity) {
                    for (uint f = 0u; f < MSM_FQS; ++f) {
                        P_REG[P_R(X1) + f] = P_REG[P_R(X2) + f];
                    }
                    sum_is_identity = false;
                    steps = 0;
                    continue;
                }
                steps = FULL.length();
            }
        }
        P_STEP(affine ? MIXED[pc] : FULL[pc]);
        pc += 1;
    }
    emit(t, key, key == first_key, true, last_level);
}
