/// What went wrong in an f32 operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum F32Error {
    /// Two inputs that must have the same length do not.
    #[error("{op}: inputs of {left} and {right} elements (they must be equal)")]
    LengthMismatch {
        /// The operation.
        op: &'static str,
        /// Length of the first input.
        left: usize,
        /// Length of the second.
        right: usize,
    },
    /// A matrix's slice does not hold its rows times its columns.
    #[error("matmul: {matrix} is {rows} x {cols} = {expected} elements, the slice holds {got}")]
    MatrixShape {
        /// "A" or "B".
        matrix: &'static str,
        /// Its rows.
        rows: usize,
        /// Its columns.
        cols: usize,
        /// rows x cols (saturating).
        expected: usize,
        /// The slice's length.
        got: usize,
    },
    /// An input the device's buffers or indices cannot hold.
    #[error("{op}: {elements} elements are more than one GPU buffer holds ({limit})")]
    TooLarge {
        /// The operation.
        op: &'static str,
        /// Elements asked for.
        elements: usize,
        /// The most this device takes.
        limit: usize,
    },
    /// The device cannot run this operation.
    #[error("{op}: {reason}")]
    Unsupported {
        /// The operation.
        op: &'static str,
        /// What the device lacks.
        reason: &'static str,
    },
    /// The Vulkan backend failed.
    #[error(transparent)]
    Backend(#[from] vk_backend::Error),
}
