// The shape of the element-wise G1 kernels: vk-backend's element-wise interface (inputs
// in0.. at bindings 0..G1_KERNEL_INPUTS-1, the output out_r after them, all uvec4 arrays of
// 9 per element, i.e. 18 u64 words; then the status word) and the push constants. A kernel
// defines G1_KERNEL_INPUTS (1 or 2) before the include; then in main():
//   G1_BEGIN;                        // index set-up; returns past the end of the batch
//   ...; g1_store_checked(i, G1_R_X3);

#ifndef G1_KERNEL_GLSL
#define G1_KERNEL_GLSL

#include "g1.glsl"

FQ_INPUT(0, In0, in0);
#if G1_KERNEL_INPUTS > 1
FQ_INPUT(1, In1, in1);
#endif
FQ_OUTPUT(G1_KERNEL_INPUTS, Out, out_r);
FQ_PARAMS;

// The status word (vk-backend's element-wise interface: the binding after the output).
layout(std430, set = 0, binding = G1_KERNEL_INPUTS + 1) buffer Status { uint g1_status; };

// Workgroup size from specialization constant 1 (constant id 0 is reported to fail on
// NVIDIA).
layout(local_size_x_id = 1) in;

// Invocations past the end of the batch (in the last workgroup) do nothing: every buffer
// access below is at an index < count.
#define G1_BEGIN                                 \
    uint i = element_index(params.row_stride);   \
    if (i >= params.count) {                     \
        return;                                  \
    }                                            \
    g1_init_registers()

// Stores registers r, r + 1, r + 2 as point `i` of the output, flagging a coordinate >= p
// (a kernel bug or a hardware fault) in the status word as the Fq kernels do. The host
// checks every result again when it turns it back into a point.
void g1_store_checked(uint i, uint r) {
    for (uint c = 0u; c < 3u; ++c) {
        uint w[12] = g1_reg[r + c];
        if (!fq_is_canonical(w)) {
            atomicOr(g1_status, G1_STATUS_NOT_CANONICAL);
        }
        G1_STORE_COORD(out_r, i, c, w);
    }
}

#endif
