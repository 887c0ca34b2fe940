#version 450
// out[i] = a[i] + b[i] mod p, element-wise over `count` BLS12-381 Fq elements.
#extension GL_GOOGLE_include_directive : require
#include "fq.glsl"

// Workgroup size comes from specialization constant 1 (constant id 0 is reported to fail
// on NVIDIA); the host picks it per device.
layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer InA { uvec4 a[]; };
layout(std430, set = 0, binding = 1) readonly buffer InB { uvec4 b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Out { uvec4 c[]; };

// count: elements in the batch; row_stride: invocations per dispatch row (see fq.glsl).
layout(push_constant) uniform Params { uint count; uint row_stride; } params;

void main() {
    uint i = element_index(params.row_stride);
    // The last workgroup may run past the batch: those invocations do nothing.
    if (i >= params.count) {
        return;
    }
    uint base = 3u * i;
    uint x[12];
    uint y[12];
    uint r[12];
    fq_unpack(a[base], a[base + 1u], a[base + 2u], x);
    fq_unpack(b[base], b[base + 1u], b[base + 2u], y);
    fq_add(x, y, r);
    c[base] = uvec4(r[0], r[1], r[2], r[3]);
    c[base + 1u] = uvec4(r[4], r[5], r[6], r[7]);
    c[base + 2u] = uvec4(r[8], r[9], r[10], r[11]);
}
