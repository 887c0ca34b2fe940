use std::error::Error as StdError;

/// The error a [`crate::BatchBackend`] reports.
///
/// Backends keep their own detailed error types; this is what crosses the backend-neutral
/// boundary, with the backend's error kept as the `source` so nothing is lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The operands of an element-wise operation have different lengths.
    #[error(
        "length mismatch in {op}: left operand has {left} elements, right operand has {right}"
    )]
    LengthMismatch {
        /// The operation that was asked for.
        op: &'static str,
        /// Length of the left operand.
        left: usize,
        /// Length of the right operand.
        right: usize,
    },
    /// An argument is outside what the API accepts.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The backend cannot run here at all (no driver, no device, turned off).
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend tried and failed; `source` says why.
    #[error("{backend} backend failed")]
    Failed {
        /// Which backend failed, e.g. `"vulkan (NVIDIA H100)"`.
        backend: String,
        /// The backend's own error.
        #[source]
        source: Box<dyn StdError + Send + Sync + 'static>,
    },
}
