// Coalesced element-wise I/O through workgroup shared memory ("tiled" kernels).
//
// An element is 48 bytes (three uvec4). Loading it directly, invocation i reads words
// 3i, 3i+1, 3i+2: each load instruction of a subgroup touches every third 16-byte word of a
// 1.5 KiB span. Device memory forgives that through its caches; host memory read over PCIe
// does not: each piece becomes its own small bus transaction. Here the workgroup instead
// copies its whole block of 3 * n words with consecutive invocations on consecutive words
// (full-width, coalesced requests), through shared memory, and each invocation then takes its
// element from there; outputs go the same way in reverse.
//
// Measured on the H100 (driver 580.159.04, 2026-11-21, 16Mi elements, workgroup 256;
// docs/performance.md): add, host memory in and out, 5.5 ns per element direct vs 1.95 tiled
// (49 GB/s in, the PCIe rate); resident add 2.57 vs 2.83 TB/s. A Montgomery product on
// resident data runs slower tiled (12.8 vs 16.7 G/s: the kernel is compute-bound and the
// shared memory lowers occupancy), so compute-heavy kernels come in both flavours.
//
// Every invocation of the workgroup must reach FQ_TILE_LOAD / FQ_TILE_STORE (they hold
// barriers), so a tiled kernel returns early only for whole workgroups past the batch:
// elementwise.glsl's FQ_BEGIN sets up `wg`, `first` and `n` that way.
// Invocations at or past `n` compute on stale values and store nothing.

#ifndef TILE_GLSL
#define TILE_GLSL

#include "fq.glsl"

// The largest workgroup a tiled kernel supports (field-bls12 checks its workgroup sizes):
// 3 * 256 * 16 bytes = 12 KiB of shared memory per workgroup.
#define FQ_TILE_MAX 256

shared uvec4 fq_tile[3 * FQ_TILE_MAX];

// Invocations per workgroup. Not gl_WorkGroupSize (see index.glsl): the host's row_stride is
// groups per row times the workgroup size.
uint fq_tile_size(uint row_stride) {
    return row_stride / gl_NumWorkGroups.x;
}

// The element index of this workgroup's first invocation.
uint fq_tile_first(uint row_stride) {
    return element_index(row_stride) - gl_LocalInvocationID.x;
}

// Element `first_ + local index` of uvec4 buffer `buf_` into the uint[12] `w_`, for a
// workgroup of `wg_` invocations of which the first `n_` are in the batch.
#define FQ_TILE_LOAD(buf_, first_, n_, wg_, w_) {                                       \
    uint lid_ = gl_LocalInvocationID.x;                                                  \
    for (uint k_ = lid_; k_ < 3u * (n_); k_ += (wg_)) {                                  \
        fq_tile[k_] = buf_[3u * (first_) + k_];                                          \
    }                                                                                    \
    barrier();                                                                           \
    fq_unpack(fq_tile[3u * lid_], fq_tile[3u * lid_ + 1u], fq_tile[3u * lid_ + 2u], w_); \
    barrier(); /* the tile is free for the next load or store */                         \
}

// The uint[12] `w_` of each of the first `n_` invocations into element `first_ + local
// index` of `buf_`.
#define FQ_TILE_STORE(buf_, first_, n_, wg_, w_) {                                      \
    uint lid_ = gl_LocalInvocationID.x;                                                  \
    fq_pack(w_, fq_tile[3u * lid_], fq_tile[3u * lid_ + 1u], fq_tile[3u * lid_ + 2u]);   \
    barrier();                                                                           \
    for (uint k_ = lid_; k_ < 3u * (n_); k_ += (wg_)) {                                  \
        buf_[3u * (first_) + k_] = fq_tile[k_];                                          \
    }                                                                                    \
}

#endif
