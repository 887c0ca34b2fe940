#version 450
// The device's f32 multiply-add rate (crates/f32-ops, F32Gpu::fma_rate): every invocation
// runs 8 independent chains of args[0] fused multiply-adds each (a = a x + y, which stays
// bounded for the constants used) and writes their sum, so that nothing is optimised away.
// 16 floating-point operations per step.
//
// Buffers: 0 out. Arguments: 0 steps per chain.
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) writeonly buffer Out { float outv[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

void main() {
    uint i = element_index(params.row_stride);
    if (i >= params.count) {
        return;
    }
    float x = 0.999;
    float y = 0.001;
    float a[8];
    for (uint j = 0u; j < 8u; ++j) {
        a[j] = float(i + j) * 1e-6;
    }
    for (uint s = 0u; s < params.args[0]; ++s) {
        for (uint j = 0u; j < 8u; ++j) {
            a[j] = fma(a[j], x, y);
        }
    }
    float sum = 0.0;
    for (uint j = 0u; j < 8u; ++j) {
        sum += a[j];
    }
    uint slot = i % max(uint(outv.length()), 1u);
    if (slot < uint(outv.length())) {
        outv[slot] = sum;
    }
}
