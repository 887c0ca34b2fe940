#version 450
// out[i] = in[i] over 16-byte elements (2 u64 words): the device's memory-copy ceiling,
// against which element-wise kernels are compared (a compute copy reaches ~3 TB/s on the
// H100, vkCmdCopyBuffer only ~0.8 TB/s).
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer In { uvec4 src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Out { uvec4 dst[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; } params;

void main() {
    uint i = element_index(params.row_stride);
    if (i >= params.count) {
        return;
    }
    dst[i] = src[i];
}
