// The flat element index of an invocation, shared by every element-wise kernel.

#ifndef INDEX_GLSL
#define INDEX_GLSL

// The flat index of this invocation in a (possibly 2-D) dispatch: the host splits large
// batches over rows because maxComputeWorkGroupCount[0] may be only 65535, and passes the
// invocations per row (`row_stride`) as a push constant.
//
// Deliberately not computed from gl_WorkGroupSize: with a specialization-constant workgroup
// size, spirv-opt (SPIRV-Tools 2023.2, Debian 12) folds gl_WorkGroupSize.x to the constant's
// default of 1, so every workgroup past the first would overlap the first. The driver's own
// gl_GlobalInvocationID is always right.
uint element_index(uint row_stride) {
    return gl_GlobalInvocationID.y * row_stride + gl_GlobalInvocationID.x;
}

#endif
