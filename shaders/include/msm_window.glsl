// The MSM's bucket sums to window sums, first part (include after defining MSM_G1 or
// MSM_G2): window w's sum is sum over b of (b + 1) * bucket[w][b]. Invocation t takes
// window t / Q and its chunk q = t % Q of C buckets [lo, hi): from the top down, the
// running sum R += bucket[b] and the accumulator A += R give A = sum (b - lo + 1) bucket[b]
// and R = sum bucket[b]; the chunk's share is A + lo * R (lo R by double-and-add over lo's
// bits). It writes (w, share) to the output list, whose length W * Q goes to
// lengths[args[4]]; the reduction levels (msm_level.glsl) then add the shares of each
// window.
//
// Buffers: 0 buckets (homogeneous, W * B), 1 output keys, 2 output points, 3 lengths.
// Arguments: 0 buckets per window B, 1 chunk size C, 2 chunks per window Q, 3 windows W,
// 4 length slot.

#extension GL_GOOGLE_include_directive : require
#include "msm.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Buckets { uvec4 buckets[]; };
layout(std430, set = 0, binding = 1) writeonly buffer KeysOut { uint keys_out[]; };
layout(std430, set = 0, binding = 2) writeonly buffer PointsOut { uvec4 points_out[]; };
layout(std430, set = 0, binding = 3) buffer Lengths { uint lengths[]; };

// With bucket b in X2: R += X2, A += R.
const uint BUCKET[] = uint[](
    P_COPY_POINT(1, R), P_PROGRAM_ADD, P_COPY_POINT(R, 3),
    P_COPY_POINT(1, A), P_COPY_POINT(2, R), P_PROGRAM_ADD, P_COPY_POINT(A, 3));
// X2 = R, X1 = identity.
const uint SCALE_INIT[] = uint[](
    P_COPY_POINT(2, R), P_COPY(X1, ZERO), P_COPY(Y1, ONE), P_COPY(Z1, ZERO));
// X1 = 2 X1, then X1 += X2 if the flag (this bit of lo) is set.
const uint SCALE_BIT[] = uint[](
    P_PROGRAM_DOUBLE, P_COPY_POINT(1, 3), P_PROGRAM_ADD,
    P_SELF(X1, X3, X1), P_SELF(Y1, Y3, Y1), P_SELF(Z1, Z3, Z1));
// X3 = X1 + A.
const uint FINISH[] = uint[](P_COPY_POINT(2, A), P_PROGRAM_ADD);

void main() {
    uint t = element_index(params.row_stride);
    uint per_window = params.args[0];
    uint chunk = max(params.args[1], 1u);
    uint chunks = max(params.args[2], 1u);
    uint windows = params.args[3];
    uint slot = params.args[4];
    if (t == 0u && slot < uint(lengths.length())) {
        lengths[slot] = windows * chunks;
    }
    if (t >= params.count || t >= windows * chunks || t >= uint(keys_out.length())
            || !MSM_HAS_POINT(points_out, t)) {
        return;
    }
    uint w = t / chunks;
    uint lo = (t % chunks) * chunk;
    uint hi = min(lo + chunk, per_window);
    P_INIT();
    msm_set_identity(P_R(XR));
    msm_set_identity(P_R(XA));
    int b = int(hi) - 1;
    // Every invocation runs the same number of bits (those of the largest lo; a bit above
    // lo's top one doubles the identity and adds nothing), so that invocations stay in step.
    int bit = findMSB((chunks - 1u) * chunk);
    uint phase = 0u;
    int pc = 0;
    int steps = 0;
    [[dont_unroll]] for (;;) {
        if (pc == steps) {
            if (phase == 0u && b >= int(lo)) {
                uint index = w * per_window + uint(b);
                if (MSM_HAS_POINT(buckets, index)) {
                    MSM_LOAD_POINT(buckets, index, P_R(X2));
                    msm_zero_is_identity(P_R(X2));
                } else {
                    msm_set_identity(P_R(X2));
                }
                b -= 1;
                steps = BUCKET.length();
            } else if (phase == 0u) {
                phase = 1u;
                steps = SCALE_INIT.length();
            } else if (phase <= 2u && bit >= 0) {
                phase = 2u;
                P_FLAG = ((lo >> uint(bit)) & 1u) != 0u;
                bit -= 1;
                steps = SCALE_BIT.length();
            } else if (phase <= 2u) {
                phase = 3u;
                steps = FINISH.length();
            } else {
                break;
            }
            pc = 0;
        }
        uint insn = phase == 0u ? BUCKET[pc]
            : phase == 1u ? SCALE_INIT[pc]
            : phase == 2u ? SCALE_BIT[pc]
            : FINISH[pc];
        P_STEP(insn);
        pc += 1;
    }
    keys_out[t] = w;
    MSM_STORE_POINT(points_out, t, P_R(X3));
}
