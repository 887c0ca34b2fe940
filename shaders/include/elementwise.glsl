// The shape every element-wise kernel shares, in two flavours: direct (each invocation
// loads and stores its own element) and, with FQ_TILED defined before the include, tiled
// (the workgroup moves its block of elements coalesced through shared memory; tile.glsl says
// when each flavour wins).
//
// A kernel defines FQ_KERNEL_INPUTS (1 to 4) before the include, which declares the buffers
// of vk-backend's element-wise interface (inputs in0.. at bindings 0..FQ_KERNEL_INPUTS-1,
// the output out_r after them, all uvec4 arrays; then the status word) and the push
// constants; then in main():
//   FQ_BEGIN;                       // index set-up; returns past the end of the batch
//   uint x[12]; FQ_LOAD_VALUE(a, x);
//   ...; FQ_STORE_VALUE(out_r, r);
//
// FQ_STORE_VALUE also checks the value: one that is not canonical (>= p: a kernel bug or a
// hardware fault) sets bit FQ_STATUS_NOT_CANONICAL of the status word, which the host reads
// when the batch finishes (vk-backend `Finished::kernel_flags`). The check costs a 384-bit
// compare of a value already in registers; it spares the host a pass over every result,
// which for data in host memory cost 15-25% of a co-executed 16Mi job (H100 host,
// 2026-11-22, docs/performance.md).

#ifndef ELEMENTWISE_GLSL
#define ELEMENTWISE_GLSL

#ifdef FQ_TILED
#include "tile.glsl"
// Only whole workgroups return early (the loads and stores hold barriers).
#define FQ_BEGIN                                                \
    uint wg = fq_tile_size(params.row_stride);                  \
    uint first = fq_tile_first(params.row_stride);              \
    if (first >= params.count) {                                \
        return;                                                 \
    }                                                           \
    uint n = min(wg, params.count - first)
#define FQ_LOAD_VALUE(buf, w) FQ_TILE_LOAD(buf, first, n, wg, w)
// Invocations at or past `n` hold stale values and store nothing: they check nothing.
#define FQ_STORE_VALUE(buf, w) {                                \
    if (gl_LocalInvocationID.x < n) {                           \
        fq_check_result(w);                                     \
    }                                                           \
    FQ_TILE_STORE(buf, first, n, wg, w)                         \
}
#else
#include "fq.glsl"
// Invocations past the end of the batch (in the last workgroup) do nothing.
#define FQ_BEGIN                                                \
    uint i = element_index(params.row_stride);                  \
    if (i >= params.count) {                                    \
        return;                                                 \
    }
#define FQ_LOAD_VALUE(buf, w) FQ_LOAD(buf, i, w)
#define FQ_STORE_VALUE(buf, w) {                                \
    fq_check_result(w);                                         \
    FQ_STORE(buf, i, w);                                        \
}
#endif

FQ_INPUT(0, In0, in0);
#if FQ_KERNEL_INPUTS > 1
FQ_INPUT(1, In1, in1);
#endif
#if FQ_KERNEL_INPUTS > 2
FQ_INPUT(2, In2, in2);
#endif
#if FQ_KERNEL_INPUTS > 3
FQ_INPUT(3, In3, in3);
#endif
FQ_OUTPUT(FQ_KERNEL_INPUTS, Out, out_r);
FQ_PARAMS;

// The status word (vk-backend's element-wise interface: the binding after the output).
layout(std430, set = 0, binding = FQ_KERNEL_INPUTS + 1) buffer Status { uint fq_status; };
#define FQ_STATUS_NOT_CANONICAL 1u

// Flags a result that is not canonical. Atomic, and taken only by bad values: the status
// word is written at most once per bad value, never by a correct kernel.
void fq_check_result(in uint w[12]) {
    if (!fq_is_canonical(w)) {
        atomicOr(fq_status, FQ_STATUS_NOT_CANONICAL);
    }
}

#endif
