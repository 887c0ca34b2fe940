// The last step of a batch of MSMs (include after defining MSM_G1 or MSM_G2): invocation m
// combines MSM m's window sums S_0 .. S_(W-1) by Horner's rule, sum_j 2^(c j) S_j: from the
// top window down, c doublings and one addition per window. For one large MSM the host does
// this (W points, microseconds); for thousands of small ones the device does it in
// parallel.
//
// Buffers: 0 window sums (homogeneous, MSM-major), 1 results. Arguments: 0 windows W, 1 c,
// 2 MSMs.

#extension GL_GOOGLE_include_directive : require
#include "msm.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Sums { uvec4 sums[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Results { uvec4 results[]; };

// X1 = 2 X1.
const uint DOUBLE[] = uint[](P_PROGRAM_DOUBLE, P_COPY_POINT(1, 3));
// X1 += X2.
const uint ADD[] = uint[](P_PROGRAM_ADD, P_COPY_POINT(1, 3));

// The window sum `index` into the registers from r; one outside the buffer is the identity.
void load_sum(uint index, uint r) {
    if (MSM_HAS_POINT(sums, index)) {
        MSM_LOAD_POINT(sums, index, r);
        msm_zero_is_identity(r);
    } else {
        msm_set_identity(r);
    }
}

void main() {
    uint m = element_index(params.row_stride);
    uint windows = params.args[0];
    uint c = params.args[1];
    if (m >= params.count || m >= params.args[2] || windows == 0u
            || !MSM_HAS_POINT(results, m)) {
        return;
    }
    P_INIT();
    load_sum(m * windows + windows - 1u, P_R(X1));
    int w = int(windows) - 2;
    uint doublings = 0u;
    bool doubling = false;
    int pc = 0;
    int steps = 0;
    [[dont_unroll]] for (;;) {
        if (pc == steps) {
            if (w < 0) {
                break;
            }
            doubling = doublings < c;
            if (doubling) {
                doublings += 1u;
                steps = DOUBLE.length();
            } else {
                load_sum(m * windows + uint(w), P_R(X2));
                doublings = 0u;
                w -= 1;
                steps = ADD.length();
            }
            pc = 0;
        }
        P_STEP(doubling ? DOUBLE[pc] : ADD[pc]);
        pc += 1;
    }
    MSM_STORE_POINT(results, m, P_R(X1));
}
